package cli

import (
	"encoding/json"
	"strings"
	"testing"

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
