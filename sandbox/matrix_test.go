package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athtypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	rsd "github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	rsdtypes "github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/access"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/exchange"
)

// enhanced runs the three-step chain for a person, as tipctl does.
func enhanced(t *testing.T, sb *sandbox.Sandbox, email, password string) aws.CredentialsProvider {
	t.Helper()
	info := sb.Info()
	roles := info["roles"].(map[string]any)
	res, err := exchange.Run(context.Background(), exchange.Config{
		AWS:             aws.Config{Region: sb.Env.World.Region, BaseEndpoint: aws.String(sb.URL())},
		ApplicationArn:  info["identity_center"].(map[string]any)["application_arn"].(string),
		BridgeRoleArn:   roles["bridge"].(string),
		EnhancedRoleArn: roles["enhanced"].(string),
		IDToken: func(context.Context) (string, error) {
			return ststest.PasswordLogin(t, sb.URL(), email, password, "openid email profile groups").IDToken, nil
		},
	})
	if err != nil {
		t.Fatalf("the chain for %s: %v", email, err)
	}
	return credentials.StaticCredentialsProvider{Value: res.Credentials}
}

// count runs SELECT count(*) FROM sales_data as the caller; -1 when refused.
func count(t *testing.T, sb *sandbox.Sandbox, creds aws.CredentialsProvider) int {
	t.Helper()
	ctx := context.Background()
	c := rsd.NewFromConfig(ststest.Config(sb, creds))
	out, err := c.ExecuteStatement(ctx, &rsd.ExecuteStatementInput{Sql: aws.String("SELECT count(*) FROM sales_data"),
		WorkgroupName: aws.String("redshift-tip-enabled"), Database: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		d, err := c.DescribeStatement(ctx, &rsd.DescribeStatementInput{Id: out.Id})
		if err != nil {
			t.Fatal(err)
		}
		switch d.Status {
		case rsdtypes.StatusStringFailed:
			return -1
		case rsdtypes.StatusStringFinished:
			r, err := c.GetStatementResult(ctx, &rsd.GetStatementResultInput{Id: out.Id})
			if err != nil {
				t.Fatal(err)
			}
			return int(r.Records[0][0].(*rsdtypes.FieldMemberLongValue).Value)
		}
	}
	t.Fatal("the statement did not end")
	return 0
}

// matrix reads the console's matrix and the column of resource.
func matrix(t *testing.T, sb *sandbox.Sandbox, resource string) (access.Matrix, int) {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/console/world")
	if err != nil {
		t.Fatal(err)
	}
	var w struct{ Matrix access.Matrix }
	err = json.NewDecoder(resp.Body).Decode(&w)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range w.Matrix.Resources {
		if r == resource {
			return w.Matrix, i
		}
	}
	t.Fatalf("no %s column in %v", resource, w.Matrix.Resources)
	return access.Matrix{}, 0
}

// TestMatrixRedshiftCellsMatchStatements: the console's Redshift cells say
// what each person's own SELECT returns: refused or no rows ⇔ denied; all
// the table's rows ⇔ "all rows"; fewer ⇔ the RLS policy named.
func TestMatrixRedshiftCellsMatchStatements(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	m, col := matrix(t, sb, "redshift:redshift-tip-enabled/dev/public.sales_data")
	w := struct{ Matrix access.Matrix }{m}
	all := count(t, sb, ststest.Admin())
	checked := 0
	for _, row := range w.Matrix.Rows {
		name := row.Person[:strings.Index(row.Person, "@")]
		n := count(t, sb, enhanced(t, sb, row.Person, name+"-sandbox-pw"))
		c := row.Cells[col]
		switch {
		case n <= 0 && c.Allowed, n > 0 && !c.Allowed:
			t.Errorf("%s: %d rows but the cell says %+v", row.Person, n, c)
		case n == all && c.Label != "all rows":
			t.Errorf("%s: every row (%d) but the cell says %+v", row.Person, n, c)
		case n > 0 && n < all && !strings.HasPrefix(c.Label, "RLS "):
			t.Errorf("%s: %d of %d rows but the cell says %+v", row.Person, n, all, c)
		}
		t.Logf("%s: %d of %d rows; cell %q (%s)", row.Person, n, all, c.Label, c.Via)
		checked++
	}
	if checked < 3 {
		t.Fatalf("only %d people in the matrix", checked)
	}
}

// athenaCount runs SELECT count(*) FROM sales on tip-workgroup as the
// caller; -1 when the query fails.
func athenaCount(t *testing.T, sb *sandbox.Sandbox, creds aws.CredentialsProvider) int {
	t.Helper()
	ctx := context.Background()
	c := athena.NewFromConfig(ststest.Config(sb, creds))
	out, err := c.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT count(*) AS n FROM sales"),
		WorkGroup: aws.String("tip-workgroup"), QueryExecutionContext: &athtypes.QueryExecutionContext{Database: aws.String("db_tip")}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		q, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: out.QueryExecutionId})
		if err != nil {
			t.Fatal(err)
		}
		switch q.QueryExecution.Status.State {
		case athtypes.QueryExecutionStateFailed:
			return -1
		case athtypes.QueryExecutionStateSucceeded:
			r, err := c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: out.QueryExecutionId})
			if err != nil {
				t.Fatal(err)
			}
			n, err := strconv.Atoi(aws.ToString(r.ResultSet.Rows[1].Data[0].VarCharValue))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("the query did not end")
	return 0
}

// TestMatrixAthenaCellsMatchQueries: the Athena column (Lake Formation's
// evaluation) agrees with each person's own Athena query.
func TestMatrixAthenaCellsMatchQueries(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	m, col := matrix(t, sb, "athena:db_tip.sales")
	counts := map[string]int{}
	most := 0
	for _, row := range m.Rows {
		name := row.Person[:strings.Index(row.Person, "@")]
		counts[row.Person] = athenaCount(t, sb, enhanced(t, sb, row.Person, name+"-sandbox-pw"))
		most = max(most, counts[row.Person])
	}
	for _, row := range m.Rows {
		n, c := counts[row.Person], row.Cells[col]
		switch {
		case (n > 0) != c.Allowed:
			t.Errorf("%s: %d rows but the cell says %+v", row.Person, n, c)
		case n == most && !strings.HasPrefix(c.Label, "all rows"):
			t.Errorf("%s: every row (%d) but the cell says %+v", row.Person, n, c)
		case n > 0 && n < most && !strings.HasPrefix(c.Label, "rows where "):
			t.Errorf("%s: %d of %d rows but the cell says %+v", row.Person, n, most, c)
		}
		t.Logf("%s: %d of %d rows; cell %q (%s)", row.Person, n, most, c.Label, c.Via)
	}
}
