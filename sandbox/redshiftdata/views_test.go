package redshiftdata_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	rsd "github.com/aws/aws-sdk-go-v2/service/redshiftdata"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

func admin(t *testing.T, c *rsd.Client, sqls ...string) {
	t.Helper()
	for _, q := range sqls {
		if o := run(t, c, "my-workgroup", q); o.Status != "FINISHED" {
			t.Fatalf("%s: %+v", q, o)
		}
	}
}

// zones runs sql (which returns a timezone column) and checks each zone
// has the prefix; it returns how many rows came back.
func zones(t *testing.T, c *rsd.Client, who, sql, prefix string) int {
	t.Helper()
	o := run(t, c, "my-workgroup", sql)
	if o.Status != "FINISHED" {
		t.Fatalf("%s: %s: %+v", who, sql, o)
	}
	for _, z := range column(t, o, "timezone") {
		if !strings.HasPrefix(z, prefix) {
			t.Fatalf("%s: %s returned a row of %s", who, sql, z)
		}
	}
	return len(o.Rows)
}

// TestViewsApplyTheQueryingPersonsRLS: an administrator's view needs
// SELECT on the view only (the owner's privileges reach the table, as for
// a Redshift standard view), but the rows of the table are always the
// ones row-level security gives the person querying the view; a view
// never widens them, however it is written or nested.
func TestViewsApplyTheQueryingPersonsRLS(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	adm := client(sb, ststest.Admin())
	alice := client(sb, person(t, sb, "alice"))
	bob := client(sb, person(t, sb, "bob"))
	carol := client(sb, person(t, sb, "carol"))
	dave := client(sb, personIn(t, sb, "dave", []string{})) // no role: no SELECT on sales_data

	admin(t, adm,
		`CREATE VIEW public.zone_revenue AS SELECT timezone, count(*) AS n, sum(quantity * sales_price)::decimal(12,2) AS revenue FROM sales_data GROUP BY timezone`,
		// written to widen what RLS shows; it must not
		`CREATE VIEW everything AS SELECT * FROM public.sales_data WHERE 1 = 1 OR timezone ILIKE 'asia%'`,
		`CREATE VIEW nested (timezone, sku) AS SELECT timezone, sku FROM everything`,
		`CREATE VIEW whoami AS SELECT current_user AS me`,
	)
	// Without SELECT on the view: denied, as on a table.
	if o := run(t, alice, "my-workgroup", "SELECT * FROM zone_revenue"); o.Status != "FAILED" || o.Error != "ERROR: permission denied for relation zone_revenue" {
		t.Fatalf("no grant: %+v", o)
	}
	admin(t, adm, `GRANT SELECT ON zone_revenue, everything, nested, whoami TO PUBLIC`)

	adminRows := zones(t, adm, "admin", "SELECT * FROM everything", "")
	if adminRows != 1200 {
		t.Fatalf("admin reads %d rows through the view", adminRows)
	}
	for _, q := range []string{"SELECT * FROM zone_revenue", "SELECT * FROM everything", "SELECT timezone FROM nested",
		"SELECT e.timezone FROM everything e JOIN nested n ON e.sku = n.sku", "SELECT * FROM (SELECT * FROM zone_revenue WHERE timezone ILIKE '%') z"} {
		if n := zones(t, alice, "alice", q, "Europe/"); n == 0 {
			t.Fatalf("alice: %s: no rows", q)
		}
		if n := zones(t, bob, "bob", q, "Asia/"); n == 0 {
			t.Fatalf("bob: %s: no rows", q)
		}
		// dave may read the view but no table row: RLS is on and no policy
		// applies to him.
		if n := zones(t, dave, "dave", q, "-"); n != 0 {
			t.Fatalf("dave: %s: %d rows", q, n)
		}
	}
	if n := zones(t, carol, "carol", "SELECT * FROM everything", ""); n != 1200 {
		t.Fatalf("carol (IGNORE RLS) reads %d rows", n)
	}
	// The person's own table privileges still hold when they name the table.
	if o := run(t, dave, "my-workgroup", "SELECT v.timezone FROM everything v JOIN sales_data s ON v.sku = s.sku"); o.Status != "FAILED" || o.Error != "ERROR: permission denied for relation sales_data" {
		t.Fatalf("dave joins the table: %+v", o)
	}
	// The view's revenue is a decimal of scale 2, summed over her rows only.
	o := run(t, alice, "my-workgroup", "SELECT sum(n) AS rows FROM zone_revenue")
	if o.Status != "FINISHED" || o.Rows[0][0] != itoa(int64(count(t, alice, "SELECT count(*) FROM sales_data"))) {
		t.Fatalf("alice's sum over the view: %+v", o)
	}
	if o := run(t, alice, "my-workgroup", "SELECT me FROM whoami"); o.Status != "FINISHED" || o.Rows[0][0] != "AWSIDC:alice" {
		t.Fatalf("current_user in a view: %+v", o)
	}

	// A policy attached to the view itself narrows it further.
	admin(t, adm,
		`CREATE RLS POLICY footwear_only WITH (category VARCHAR(100)) USING (category ILIKE 'FOOTWEAR')`,
		`ATTACH RLS POLICY footwear_only ON everything TO ROLE "AWSIDC:emea-sales"`,
		`ALTER TABLE everything ROW LEVEL SECURITY ON`,
	)
	o = run(t, alice, "my-workgroup", "SELECT timezone, category FROM everything")
	if o.Status != "FINISHED" || len(o.Rows) == 0 {
		t.Fatalf("alice after the view's policy: %+v", o)
	}
	for _, r := range o.Rows {
		if !strings.HasPrefix(r[0], "Europe/") || r[1] != "Footwear" {
			t.Fatalf("alice sees %v through the view", r)
		}
	}
	if n := zones(t, bob, "bob", "SELECT * FROM everything", "-"); n != 0 {
		t.Fatalf("bob has no policy on the RLS view, yet reads %d rows", n)
	}

	// The catalog lists views; DROP VIEW removes one.
	lt, err := alice.ListTables(context.Background(), &rsd.ListTablesInput{WorkgroupName: aws.String("my-workgroup"), Database: aws.String("dev"), TablePattern: aws.String("zone%")})
	if err != nil || len(lt.Tables) != 1 || aws.ToString(lt.Tables[0].Type) != "VIEW" {
		t.Fatalf("ListTables: %v %+v", err, lt)
	}
	dt, err := alice.DescribeTable(context.Background(), &rsd.DescribeTableInput{WorkgroupName: aws.String("my-workgroup"), Database: aws.String("dev"), Table: aws.String("zone_revenue")})
	if err != nil || len(dt.ColumnList) != 3 || aws.ToString(dt.ColumnList[2].Name) != "revenue" || aws.ToString(dt.ColumnList[2].TypeName) != "numeric" || dt.ColumnList[2].Scale != 2 {
		t.Fatalf("DescribeTable of the view: %v %+v", err, dt)
	}
	admin(t, adm, `DROP VIEW zone_revenue`)
	if o := run(t, alice, "my-workgroup", "SELECT * FROM zone_revenue"); o.Status != "FAILED" || o.Error != `ERROR: relation "zone_revenue" does not exist` {
		t.Fatalf("after DROP VIEW: %+v", o)
	}
	for q, want := range map[string]string{
		`CREATE VIEW sales_data AS SELECT 1`:            `ERROR: relation "sales_data" already exists`,
		`CREATE VIEW v2 (a, b) AS SELECT 1`:             `ERROR: CREATE VIEW specifies 2 column names, but the query returns 1`,
		`CREATE VIEW v3 AS SELECT * FROM no_such_table`: `ERROR: relation "no_such_table" does not exist`,
		`DROP VIEW no_such_view`:                        `ERROR: view "no_such_view" does not exist`,
		`CREATE VIEW v4 AS SELECT 1; SELECT 2`:          `ERROR: cannot insert multiple commands into a prepared statement`,
	} {
		if o := run(t, adm, "my-workgroup", q); o.Status != "FAILED" || o.Error != want {
			t.Errorf("%s: %+v, want %s", q, o, want)
		}
	}
}
