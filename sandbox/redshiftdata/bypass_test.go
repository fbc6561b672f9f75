package redshiftdata_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	rsdtypes "github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestBypassAttempts: whatever alice's SQL does, she reads only the rows
// of her region, or her statement fails; the engine never reaches a file.
func TestBypassAttempts(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	alice := client(sb, person(t, sb, "alice"))
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe.db")
	filtered := []string{
		`SELECT * FROM "public"."sales_data"`,
		`SELECT * FROM PUBLIC.SALES_DATA`,
		`SELECT * FROM (SELECT * FROM sales_data) s`,
		`SELECT * FROM sales_data WHERE timezone IN (SELECT timezone FROM sales_data)`,
		`WITH x AS (SELECT * FROM sales_data) SELECT * FROM x`,
		`WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT s.* FROM sales_data s, r`,
		`SELECT timezone FROM sales_data UNION ALL SELECT timezone FROM public.sales_data`,
		`SELECT timezone FROM sales_data UNION SELECT 'Asia/Tokyo' WHERE 1 = 0`,
		`SELECT a.timezone FROM sales_data a JOIN sales_data b ON a.sku = b.sku`,
		`SELECT a.timezone FROM sales_data a LEFT JOIN sales_data b ON 1 = 1 LIMIT 50`,
		"SELECT * FROM sales_data -- WHERE timezone LIKE 'Europe%'",
		"SELECT * FROM sales_data /* RLS OFF */ WHERE 1 = 1 OR timezone LIKE 'Asia%'",
		`SELECT * FROM sales_data WHERE timezone NOT LIKE 'Europe%' OR 1 = 1`,
		// Redshift syntax the sandbox rewrites: casts, ILIKE, TOP and
		// three-part names inside subqueries, CTEs and unions.
		`SELECT timezone::varchar(50) AS timezone FROM sales_data WHERE timezone NOT ILIKE 'europe%' OR 1 = 1`,
		`SELECT * FROM sales_data WHERE timezone IN (SELECT timezone::text FROM sales_data WHERE timezone ILIKE 'ASIA%' OR true)`,
		`SELECT x.timezone FROM (SELECT CAST(timezone AS varchar(50)) AS timezone FROM dev.public.sales_data WHERE timezone ILIKE '%') x`,
		`WITH x AS (SELECT TOP 1000 * FROM "dev"."public"."sales_data") SELECT timezone FROM x WHERE timezone::text NOT ILIKE 'x'`,
		`SELECT TOP 1200 timezone FROM sales_data UNION ALL SELECT timezone FROM dev.public.sales_data WHERE sales_price::decimal(10,2) > 0`,
		`SELECT timezone FROM sales_data WHERE nvl(timezone, 'Asia/Tokyo') ILIKE nvl(NULL, '%')`,
		`SELECT timezone FROM sales_data WHERE timezone !~ '^Europe' OR regexp_count(timezone, '.') >= 0`,
	}
	for _, q := range filtered {
		o := run(t, alice, "my-workgroup", q)
		if o.Status != "FINISHED" {
			t.Errorf("%s: %+v", q, o)
			continue
		}
		if len(o.Rows) == 0 {
			t.Errorf("%s: no rows", q)
		}
		for _, tz := range column(t, o, "timezone") {
			if !strings.HasPrefix(tz, "Europe/") {
				t.Fatalf("%s leaked a row of %s", q, tz)
			}
		}
	}
	refused := map[string]string{
		`SELECT 1; SELECT * FROM sales_data`:                                                  "multiple commands",
		`SELECT * FROM sqlite_master`:                                                         "does not exist",
		`SELECT * FROM sqlite_schema`:                                                         "does not exist",
		`SELECT * FROM pragma_table_info('sales_data')`:                                       "does not exist",
		`SELECT * FROM pg_catalog.svv_rls_policy`:                                             "does not exist",
		`SELECT * FROM svv_rls_attached_policy`:                                               "does not exist",
		`SELECT load_extension('` + probe + `')`:                                              "does not exist",
		`SELECT readfile('/etc/passwd')`:                                                      "does not exist",
		`ATTACH DATABASE '` + probe + `' AS x`:                                                "syntax error",
		`VACUUM INTO '` + probe + `'`:                                                         "syntax error",
		`PRAGMA table_info(sales_data)`:                                                       "syntax error",
		`CREATE VIEW v AS SELECT * FROM sales_data`:                                           "permission denied",
		`CREATE TABLE mine AS SELECT * FROM sales_data`:                                       "permission denied",
		`DELETE FROM sales_data WHERE timezone LIKE 'Asia%'`:                                  "permission denied for relation sales_data",
		`UPDATE sales_data SET timezone = 'Europe/X'`:                                         "permission denied for relation sales_data",
		`ALTER TABLE sales_data ROW LEVEL SECURITY OFF`:                                       "permission denied",
		`GRANT IGNORE RLS TO "AWSIDC:alice"`:                                                  "permission denied",
		`DETACH RLS POLICY eu_region_filter ON sales_data FROM ROLE "AWSIDC:emea-sales"`:      "permission denied",
		`GRANT ROLE "AWSIDC:exec-global" TO "AWSIDC:alice"`:                                   "permission denied",
		`COPY sales_data FROM 's3://redshift-blogs/redshift-data-api-idc/sales_data.csv' CSV`: "permission denied",
		`WITH x AS (SELECT 1) DELETE FROM sales_data`:                                         "",
		`SELECT * FROM sales_data; DROP TABLE sales_data`:                                     "multiple commands",
		`SELECT readfile('/etc/passwd')::text`:                                                "does not exist",
		`SELECT CAST(load_extension('` + probe + `') AS varchar)`:                             "does not exist",
		`SELECT name FROM sqlite_master WHERE name ILIKE '%'`:                                 "does not exist",
		`SELECT * FROM other.public.sales_data`:                                               "does not exist",
		`CREATE VIEW mine AS SELECT * FROM sales_data`:                                        "permission denied",
		`DROP VIEW IF EXISTS mine`:                                                            "permission denied",
		`CREATE RLS POLICY p WITH (timezone VARCHAR(50)) USING (true)`:                        "permission denied",
	}
	for q, want := range refused {
		o := run(t, alice, "my-workgroup", q)
		if o.Status != "FAILED" || !strings.Contains(o.Error, want) || !strings.HasPrefix(o.Error, "ERROR: ") {
			t.Errorf("%s: %+v, want FAILED with %q", q, o, want)
		}
	}
	if _, err := os.Stat(probe); err == nil {
		t.Fatal("a statement created a file on the host")
	}
	// Parameters are values, never SQL.
	o := run(t, alice, "my-workgroup", "SELECT count(*) AS n FROM sales_data WHERE timezone = :tz OR :tz = 'x'",
		rsdtypes.SqlParameter{Name: aws.String("tz"), Value: aws.String("Asia/Tokyo' OR '1'='1")})
	if o.Status != "FINISHED" || o.Rows[0][0] != "0" {
		t.Fatalf("parameter: %+v", o)
	}
	// After all that, the administrator's table is intact and alice still
	// sees only Europe.
	all := run(t, client(sb, ststest.Admin()), "my-workgroup", "SELECT count(*) FROM sales_data")
	if all.Rows[0][0] != "1200" {
		t.Fatalf("admin count %v", all.Rows)
	}
}

// TestRLSSemantics: policies of several roles combine with the table's
// conjunction type (AND by default); with RLS on, a user no policy applies
// to sees no rows; without SELECT, permission denied.
func TestRLSSemantics(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	admin := client(sb, ststest.Admin())
	for _, q := range []string{
		`CREATE ROLE "AWSIDC:analysts"`,
		`CREATE RLS POLICY footwear WITH (category VARCHAR(100)) USING (category = 'Footwear')`,
		`ATTACH RLS POLICY footwear ON public.sales_data TO ROLE "AWSIDC:analysts"`,
		`GRANT SELECT ON sales_data TO ROLE "AWSIDC:analysts"`,
	} {
		if o := run(t, admin, "my-workgroup", q); o.Status != "FINISHED" {
			t.Fatalf("%s: %+v", q, o)
		}
	}
	alice := client(sb, person(t, sb, "alice")) // emea-sales and analysts
	and := run(t, alice, "my-workgroup", "SELECT timezone, category FROM sales_data")
	for _, r := range and.Rows {
		if !strings.HasPrefix(r[0], "Europe/") || r[1] != "Footwear" {
			t.Fatalf("AND: alice sees %v", r)
		}
	}
	if len(and.Rows) == 0 {
		t.Fatal("AND: alice sees nothing")
	}
	if o := run(t, admin, "my-workgroup", "ALTER TABLE sales_data ROW LEVEL SECURITY ON CONJUNCTION TYPE OR"); o.Status != "FINISHED" {
		t.Fatalf("%+v", o)
	}
	or := run(t, alice, "my-workgroup", "SELECT timezone, category FROM sales_data")
	sawOther := false
	for _, r := range or.Rows {
		if !strings.HasPrefix(r[0], "Europe/") && r[1] != "Footwear" {
			t.Fatalf("OR: alice sees %v", r)
		}
		sawOther = sawOther || !strings.HasPrefix(r[0], "Europe/")
	}
	if len(or.Rows) <= len(and.Rows) || !sawOther {
		t.Fatalf("OR: %d rows vs AND %d", len(or.Rows), len(and.Rows))
	}
	// Only in analysts, with the policy detached: RLS on, no policy → no rows.
	if o := run(t, admin, "my-workgroup", `DETACH RLS POLICY footwear ON sales_data FROM ROLE "AWSIDC:analysts"`); o.Status != "FINISHED" {
		t.Fatalf("%+v", o)
	}
	erin := client(sb, personIn(t, sb, "erin", []string{"analysts"}))
	if o := run(t, erin, "my-workgroup", "SELECT * FROM sales_data"); o.Status != "FINISHED" || len(o.Rows) != 0 {
		t.Fatalf("no policy: %+v rows %d", o.Status, len(o.Rows))
	}
	// A person whose groups have no role, and a session without a person.
	for name, creds := range map[string]aws.CredentialsProvider{
		"no role": personIn(t, sb, "dave", []string{}),
	} {
		if o := run(t, client(sb, creds), "my-workgroup", "SELECT * FROM sales_data"); o.Status != "FAILED" || o.Error != "ERROR: permission denied for relation sales_data" {
			t.Fatalf("%s: %+v", name, o)
		}
	}
}
