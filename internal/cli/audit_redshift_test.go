package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	rsd "github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	rsdtypes "github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"

	"github.com/tipctl/tipctl/sandbox/cloudtrail/cttest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestAuditExplainsRedshiftRefusalAndRowLevelSecurity: alice's DELETE is
// refused inside the database (the Data API call itself succeeds, as in
// AWS); `tipctl audit --denied` lists it with the missing privilege, and
// her SELECT's result is listed as allowed, limited by her RLS policy.
func TestAuditExplainsRedshiftRefusalAndRowLevelSecurity(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	day := cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", "s3://analytics-data/emea/", "s3://analytics-data/apac/")
	c := rsd.NewFromConfig(ststest.Config(sb, credentials.StaticCredentialsProvider{Value: day.Enhanced}))
	ctx := context.Background()
	statement := func(sql string) rsdtypes.StatusString {
		out, err := c.ExecuteStatement(ctx, &rsd.ExecuteStatementInput{Sql: aws.String(sql), WorkgroupName: aws.String("redshift-tip-enabled"),
			Database: aws.String("dev")})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			d, err := c.DescribeStatement(ctx, &rsd.DescribeStatementInput{Id: out.Id})
			if err != nil {
				t.Fatal(err)
			}
			switch d.Status {
			case rsdtypes.StatusStringFinished:
				if _, err := c.GetStatementResult(ctx, &rsd.GetStatementResultInput{Id: out.Id}); err != nil {
					t.Fatal(err)
				}
				return d.Status
			case rsdtypes.StatusStringFailed:
				return d.Status
			}
		}
		t.Fatalf("%s did not end", sql)
		return ""
	}
	if st := statement("DELETE FROM sales_data"); st != rsdtypes.StatusStringFailed {
		t.Fatalf("alice's DELETE: %s", st)
	}
	if st := statement("SELECT count(*) FROM sales_data"); st != rsdtypes.StatusStringFinished {
		t.Fatalf("alice's SELECT: %s", st)
	}
	auditEnv(t, "test", "test", "")

	out, errOut, code := run(t, "audit", "--user", "alice@example.com", "--denied", "--service", "redshift-data", "--endpoint-url", sb.URL())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and the one DescribeStatement that reported the refusal:\n%s", out)
	}
	for _, want := range []string{"alice@example.com", "redshift-data:DescribeStatement", "sales_data", "DENIED redshift-privilege", "AWSIDC:alice"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row lacks %q: %s", want, lines[1])
		}
	}

	out, errOut, code = run(t, "audit", "--user", "alice@example.com", "--service", "redshift-data", "--endpoint-url", sb.URL())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	found := false
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "redshift-data:GetStatementResult") {
			found = true
			if !strings.Contains(l, "allowed, limited: row-level security") || !strings.Contains(l, "eu_region_filter") {
				t.Errorf("the result row does not name alice's RLS policy: %s", l)
			}
		}
	}
	if !found {
		t.Fatalf("no GetStatementResult row:\n%s", out)
	}
}
