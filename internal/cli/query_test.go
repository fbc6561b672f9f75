package cli

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	lftypes "github.com/aws/aws-sdk-go-v2/service/lakeformation/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestQueryRedshift: the same statement through `tipctl query` gives each
// person the rows their Identity Center groups allow.
func TestQueryRedshift(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	home(t)
	for _, tc := range []struct {
		email, password, prefix string
	}{
		{"alice@example.com", "alice-sandbox-pw", "Europe/"},
		{"bob@example.com", "bob-sandbox-pw", "Asia/"},
		{"carol@example.com", "carol-sandbox-pw", ""},
	} {
		s3agLogin(t, sb.URL(), "default", tc.email, tc.password)
		out, stderr, code := run(t, "query", "--redshift", "redshift-tip-enabled", "--database", "dev", "-o", "json",
			"SELECT timezone, COUNT(*) AS n FROM sales_data GROUP BY timezone ORDER BY timezone")
		if code != 0 {
			t.Fatalf("%s: %d %s", tc.email, code, stderr)
		}
		var res struct {
			Rows []map[string]string `json:"rows"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v %s", tc.email, err, out)
		}
		regions := map[string]bool{}
		for _, r := range res.Rows {
			if !strings.HasPrefix(r["timezone"], tc.prefix) {
				t.Fatalf("%s sees %s", tc.email, r["timezone"])
			}
			regions[strings.Split(r["timezone"], "/")[0]] = true
		}
		if len(res.Rows) == 0 || (tc.prefix == "" && len(regions) != 3) {
			t.Fatalf("%s: %v", tc.email, res.Rows)
		}
	}

	// CSV and the table; a SQL error and a denial have their own exit codes.
	s3agLogin(t, sb.URL(), "default", "alice@example.com", "alice-sandbox-pw")
	out, _, code := run(t, "query", "--redshift", "my-workgroup", "-o", "csv", "SELECT DISTINCT country FROM sales_data ORDER BY 1")
	if code != 0 || !strings.HasPrefix(out, "country\n") || strings.Contains(out, "JP") || !strings.Contains(out, "DE") {
		t.Fatalf("csv: %d %q", code, out)
	}
	out, _, code = run(t, "query", "--redshift", "my-workgroup", "SELECT COUNT(*) AS n FROM sales_data WHERE timezone LIKE 'Asia%'")
	if code != 0 || !strings.Contains(out, "n") || !strings.Contains(out, "0") || !strings.Contains(out, "(1 rows)") {
		t.Fatalf("table: %d %q", code, out)
	}
	for _, tc := range []struct {
		sql  string
		code int
		want string
	}{
		{"SELEC 1", ExitSQL, "syntax error"},
		{"SELECT nope FROM sales_data", ExitSQL, `column "nope" does not exist`},
		{"DELETE FROM sales_data", ExitDenied, "permission denied for relation sales_data"},
		{"SELECT \x1b[31m FROM x", ExitSQL, ""},
	} {
		out, stderr, code := run(t, "query", "--redshift", "my-workgroup", tc.sql)
		if code != tc.code || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "\x1b") {
			t.Errorf("%q: code %d stdout %q stderr %q", tc.sql, code, out, stderr)
		}
	}
	if _, stderr, code := run(t, "query", "--redshift", "nope", "SELECT 1"); code != ExitAWS || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Errorf("unknown workgroup: %d %q", code, stderr)
	}
	if _, _, code := run(t, "query", "SELECT 1"); code != ExitUsage {
		t.Errorf("no workgroup: %d", code)
	}
}

// TestQueryAthena: `tipctl query --athena` gives each person the cells Lake
// Formation grants their groups; a denial and a SQL error have their codes.
func TestQueryAthena(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	home(t)
	for _, tc := range []struct {
		email, password, regions string
		margin                   bool
	}{
		{"alice@example.com", "alice-sandbox-pw", "EMEA", false},
		{"bob@example.com", "bob-sandbox-pw", "APAC", true},
		{"carol@example.com", "carol-sandbox-pw", "AMER,APAC,EMEA", true},
	} {
		s3agLogin(t, sb.URL(), "default", tc.email, tc.password)
		out, stderr, code := run(t, "query", "--athena", "tip-workgroup", "-o", "json", "SELECT * FROM db_tip.sales ORDER BY order_id")
		if code != 0 {
			t.Fatalf("%s: %d %s", tc.email, code, stderr)
		}
		var res struct {
			Columns []struct{ Name string } `json:"columns"`
			Rows    []map[string]string     `json:"rows"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v %s", tc.email, err, out)
		}
		regions := map[string]bool{}
		for _, r := range res.Rows {
			regions[r["region"]] = true
			if _, ok := r["margin_pct"]; ok != tc.margin {
				t.Fatalf("%s: row %v", tc.email, r)
			}
		}
		var rs []string
		for r := range regions {
			rs = append(rs, r)
		}
		sort.Strings(rs)
		if strings.Join(rs, ",") != tc.regions {
			t.Fatalf("%s sees %v", tc.email, rs)
		}
	}
	s3agLogin(t, sb.URL(), "default", "alice@example.com", "alice-sandbox-pw")
	out, _, code := run(t, "query", "--athena", "tip-workgroup", "--database", "db_tip", "SELECT country FROM sales WHERE units > 300 ORDER BY country")
	if code != 0 || out != "country\nDE\nUK\n(2 rows)\n" {
		t.Fatalf("table: %d %q", code, out)
	}
	for _, tc := range []struct {
		sql  string
		code int
		want string
	}{
		{"SELECT margin_pct FROM db_tip.sales", ExitSQL, "COLUMN_NOT_FOUND"},
		{"SELEC 1", ExitSQL, "SYNTAX_ERROR"},
	} {
		out, stderr, code := run(t, "query", "--athena", "tip-workgroup", tc.sql)
		if code != tc.code || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: code %d stdout %q stderr %q", tc.sql, code, out, stderr)
		}
	}
	// Lake Formation's grant to her group revoked, alice is refused: exit 9.
	var emea string
	for _, g := range sb.Env.World.IdentityCenter.Groups {
		if g.Name == "emea-sales" {
			emea = "arn:aws:identitystore:::group/" + g.GroupID
		}
	}
	lf := lakeformation.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	if _, err := lf.RevokePermissions(context.Background(), &lakeformation.RevokePermissionsInput{
		Principal: &lftypes.DataLakePrincipal{DataLakePrincipalIdentifier: aws.String(emea)}, Permissions: []lftypes.Permission{lftypes.PermissionSelect, lftypes.PermissionDescribe},
		Resource: &lftypes.Resource{Table: &lftypes.TableResource{DatabaseName: aws.String("db_tip"), Name: aws.String("table_example")}}}); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := run(t, "query", "--athena", "tip-workgroup", "SELECT * FROM db_tip.table_example"); code != ExitDenied || out != "" ||
		!strings.Contains(stderr, "Insufficient Lake Formation permission(s): Required Select on table_example") {
		t.Errorf("revoked: %d %q %q", code, out, stderr)
	}
	if _, stderr, code := run(t, "query", "--athena", "tip-workgroup", "SELECT * FROM db_tip.nope"); code != ExitSQL || !strings.Contains(stderr, "TABLE_NOT_FOUND") {
		t.Errorf("unknown table: %d %q", code, stderr)
	}
	if _, _, code := run(t, "query", "--athena", "tip-workgroup", "--redshift", "my-workgroup", "SELECT 1"); code != ExitUsage {
		t.Errorf("both services: %d", code)
	}
}
