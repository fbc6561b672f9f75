package athena_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestBypassAttempts: whatever alice's SQL does, she reads only EMEA's rows
// and never margin_pct, or her query fails; the engine never reaches a
// file, and dave reaches no table whatever he names it.
func TestBypassAttempts(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	alice := client(sb, ststest.Person(t, sb, "alice"))
	probe := filepath.Join(t.TempDir(), "probe.db")
	filtered := []string{
		`SELECT * FROM "db_tip"."sales"`,
		`SELECT * FROM DB_TIP.SALES`,
		`SELECT * FROM "DB_TIP"."SALES"`,
		`SELECT * FROM awsdatacatalog.db_tip.sales`,
		`SELECT * FROM "AwsDataCatalog"."db_tip"."sales"`,
		`SELECT * FROM sales`,
		`SELECT * FROM (SELECT * FROM db_tip.sales) s`,
		`SELECT * FROM sales WHERE region IN (SELECT region FROM db_tip.sales)`,
		`WITH x AS (SELECT * FROM sales) SELECT * FROM x`,
		`SELECT region FROM sales UNION ALL SELECT region FROM db_tip.sales`,
		`SELECT a.region FROM sales a JOIN db_tip.sales b ON a.order_id = b.order_id`,
		`SELECT a.region FROM sales a LEFT JOIN sales b ON 1 = 1`,
		"SELECT * FROM sales -- WHERE region = 'EMEA'",
		"SELECT * FROM sales /* no filter */ WHERE 1 = 1 OR region = 'APAC'",
		`SELECT * FROM sales WHERE region <> 'EMEA' OR 1 = 1`,
	}
	for _, q := range filtered {
		o := run(t, alice, "tip-workgroup", q)
		if o.State != "SUCCEEDED" || len(o.Rows) == 0 {
			t.Errorf("%s: %+v", q, o)
			continue
		}
		if got := distinct(o.column(t, "region")); got != "EMEA" {
			t.Errorf("%s leaked regions %s", q, got)
		}
		if o.has("margin_pct") {
			t.Errorf("%s shows margin_pct", q)
		}
		for _, r := range o.Rows {
			for _, v := range r {
				if v == "31.5" || v == "27.0" || v == "29.9" {
					t.Errorf("%s leaked a margin value in %v", q, r)
				}
			}
		}
	}
	refused := map[string]string{
		`SELECT margin_pct FROM sales`:             "COLUMN_NOT_FOUND: line 1:8: Column 'margin_pct' cannot be resolved",
		`SELECT sum(margin_pct) FROM db_tip.sales`: "COLUMN_NOT_FOUND",
		`SELECT 1; SELECT * FROM db_tip.sales`:     "Only one sql statement is allowed",
		`SELECT * FROM sales; DROP TABLE sales`:    "Only one sql statement is allowed",
		`SELECT * FROM sqlite_master`:              "TABLE_NOT_FOUND",
		`SELECT * FROM sqlite_schema`:              "TABLE_NOT_FOUND",
		`SELECT * FROM pragma_table_info('sales')`: "TABLE_NOT_FOUND",
		`SELECT * FROM raw."db_tip.sales"`:         "TABLE_NOT_FOUND",
		`SELECT * FROM information_schema.columns`: "TABLE_NOT_FOUND",
		`SELECT load_extension('` + probe + `')`:   "FUNCTION_NOT_FOUND",
		`SELECT readfile('/etc/passwd')`:           "FUNCTION_NOT_FOUND",
		`ATTACH DATABASE '` + probe + `' AS x`:     "SYNTAX_ERROR",
		`VACUUM INTO '` + probe + `'`:              "SYNTAX_ERROR",
		`PRAGMA table_info(sales)`:                 "SYNTAX_ERROR",
		`CREATE VIEW v AS SELECT * FROM sales`:     "NOT_SUPPORTED",
		`CREATE TABLE mine AS SELECT * FROM sales`: "NOT_SUPPORTED",
		`DROP TABLE sales`:                         "NOT_SUPPORTED",
		`INSERT INTO sales VALUES (1, 'APAC')`:     "NOT_SUPPORTED",
		`WITH x AS (SELECT 1) DELETE FROM sales`:   "",
		`SELECT * FROM sales WHERE region = 'EMEA`: "SYNTAX_ERROR",
	}
	for q, want := range refused {
		o := run(t, alice, "tip-workgroup", q)
		if o.State != "FAILED" || !strings.Contains(o.Reason, want) {
			t.Errorf("%s: %+v, want FAILED with %q", q, o, want)
		}
	}
	if _, err := os.Stat(probe); err == nil {
		t.Fatal("a query created a file on the host")
	}
	dave := client(sb, ststest.Person(t, sb, "dave"))
	for _, q := range []string{`SELECT * FROM "DB_TIP"."SALES"`, `SELECT * FROM (SELECT * FROM awsdatacatalog.db_tip.sales)`,
		`WITH x AS (SELECT 1) SELECT * FROM x, sales`, `SELECT 1 UNION SELECT order_id FROM db_tip.table_example`} {
		o := run(t, dave, "tip-workgroup", q)
		if o.State != "FAILED" || !strings.Contains(o.Reason, "Insufficient Lake Formation permission(s)") {
			t.Errorf("dave %s: %+v", q, o)
		}
	}
	// Each refusal by Lake Formation is in the trail with its reason.
	n := 0
	for _, e := range sb.Trail.Events() {
		if e.Summary.EventName == "StartQueryExecution" && e.Decision != nil && e.Decision.Kind == "lake-formation" &&
			strings.Contains(e.Decision.Reason, "no Lake Formation grant gives SELECT on db_tip.") {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d Lake Formation refusals in the trail, want 4", n)
	}
}
