package redshiftdata_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	rsd "github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	rsdtypes "github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// result runs sql and returns GetStatementResult's first page as the SDK
// decoded it, so that the test sees the wire's types.
func result(t *testing.T, c *rsd.Client, sql string) *rsd.GetStatementResultOutput {
	t.Helper()
	ctx := context.Background()
	out, err := c.ExecuteStatement(ctx, &rsd.ExecuteStatementInput{Sql: aws.String(sql), WorkgroupName: aws.String("my-workgroup"), Database: aws.String("dev")})
	if err != nil {
		t.Fatalf("ExecuteStatement %q: %v", sql, err)
	}
	if o := wait(t, c, *out.Id); o.Status != "FINISHED" {
		t.Fatalf("%s: %+v", sql, o)
	}
	r, err := c.GetStatementResult(ctx, &rsd.GetStatementResultInput{Id: out.Id})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func count(t *testing.T, c *rsd.Client, sql string) int {
	t.Helper()
	o := run(t, c, "my-workgroup", sql)
	if o.Status != "FINISHED" || len(o.Rows) != 1 {
		t.Fatalf("%s: %+v", sql, o)
	}
	n, err := strconv.Atoi(o.Rows[0][0])
	if err != nil {
		t.Fatalf("%s: %v", sql, o.Rows)
	}
	return n
}

// TestRedshiftDialect: the Redshift syntax people write (:: casts, ILIKE,
// TOP, three-part names, Redshift's date and string functions) answers
// as Redshift does, through the Data API, and RLS still decides the rows.
func TestRedshiftDialect(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	admin := client(sb, ststest.Admin())
	alice := client(sb, person(t, sb, "alice"))

	// amount::decimal(10,2) is a numeric column of scale 2, sent as text
	// with two decimals, as the Data API sends DECIMAL values.
	r := result(t, alice, `SELECT sales_price::decimal(10,2) AS price, "timestamp"::date AS day, quantity::varchar(5) AS q
		FROM sales_data WHERE timezone ILIKE 'EUROPE/%' ORDER BY sku LIMIT 5`)
	if m := r.ColumnMetadata[0]; aws.ToString(m.TypeName) != "numeric" || m.Precision != 10 || m.Scale != 2 {
		t.Fatalf("price metadata: %s %d %d", aws.ToString(m.TypeName), m.Precision, m.Scale)
	}
	if m := r.ColumnMetadata[1]; aws.ToString(m.TypeName) != "date" {
		t.Fatalf("day metadata: %s", aws.ToString(m.TypeName))
	}
	if len(r.Records) != 5 {
		t.Fatalf("%d records", len(r.Records))
	}
	for _, rec := range r.Records {
		price, ok := rec[0].(*rsdtypes.FieldMemberStringValue)
		if !ok || !regexp.MustCompile(`^\d+\.\d\d$`).MatchString(price.Value) {
			t.Fatalf("price %#v", rec[0])
		}
		if day := fieldText(rec[1]); !regexp.MustCompile(`^\d{4}-\d\d-\d\d$`).MatchString(day) {
			t.Fatalf("day %q", day)
		}
	}

	// ILIKE ignores case, LIKE keeps it; RLS applies under both.
	aliceAll := count(t, alice, `SELECT count(*) FROM sales_data`)
	if aliceAll == 0 || aliceAll >= 1200 {
		t.Fatalf("alice sees %d rows", aliceAll)
	}
	for sql, want := range map[string]int{
		`SELECT count(*) FROM sales_data WHERE timezone ILIKE 'europe/%'`:                                                                                 aliceAll,
		`SELECT count(*) FROM sales_data WHERE timezone NOT ILIKE 'EUROPE/%'`:                                                                             0,
		`SELECT count(*) FROM sales_data WHERE timezone LIKE 'europe/%'`:                                                                                  0,
		`SELECT count(*) FROM sales_data WHERE timezone ILIKE 'asia/%'`:                                                                                   0,
		`SELECT count(*) FROM sales_data WHERE timezone ~ '^Europe/' AND timezone !~* '^asia'`:                                                            aliceAll,
		`SELECT count(*) FROM sales_data WHERE regexp_substr(sku, '[0-9]+') <> ''`:                                                                        aliceAll,
		`SELECT count(*) FROM sales_data WHERE "timestamp" >= '2026-01-01'::timestamp - interval '1 year' AND "timestamp" < getdate() + INTERVAL '1 day'`: aliceAll,
		`SELECT count(*) FROM dev.public.sales_data`:                                                                                                      aliceAll,
		`SELECT count(*) FROM "dev"."public"."sales_data" WHERE quantity::int >= 0`:                                                                       aliceAll,
		`SELECT count(*) FROM (SELECT TOP 3 sku FROM sales_data) x`:                                                                                       3,
		`SELECT count(*) FROM sales_data WHERE "timestamp" >= '2000-01-01'::timestamp`:                                                                    aliceAll,
		`SELECT sum(n) FROM (SELECT date_trunc('month', "timestamp") AS m, count(*) AS n FROM sales_data GROUP BY 1) x`:                                   aliceAll,
		`SELECT count(*) FROM sales_data WHERE extract(year FROM "timestamp") = date_part(year, "timestamp")`:                                             aliceAll,
		`SELECT count(*) FROM sales_data WHERE nvl(city, '') <> '' AND len(sku) > 0 AND split_part(timezone, '/', 1) = 'Europe'`:                          aliceAll,
	} {
		if got := count(t, alice, sql); got != want {
			t.Errorf("alice: %s = %d, want %d", sql, got, want)
		}
	}
	adminEurope := count(t, admin, `SELECT count(*) FROM sales_data WHERE timezone ILIKE 'EUROPE/%'`)
	if adminEurope != aliceAll || count(t, admin, `SELECT count(*) FROM sales_data WHERE timezone NOT ILIKE 'europe/%'`) != 1200-adminEurope {
		t.Fatalf("admin: Europe %d, alice %d", adminEurope, aliceAll)
	}

	for sql, want := range map[string]string{
		`SELECT '2024-01-01'::date AS d, CAST('2024-02-29 13:14:15' AS timestamp) AS ts, dateadd(month, 1, '2024-01-31') AS next, datediff(day, '2024-01-01', '2024-03-01') AS days, initcap('hello world') AS title`: "2024-01-01|2024-02-29 13:14:15|2024-02-29 00:00:00|60|Hello World",
		`SELECT current_database(), current_user = user`: "dev|1",
	} {
		o := run(t, alice, "my-workgroup", sql)
		if o.Status != "FINISHED" || strings.Join(o.Rows[0], "|") != want {
			t.Errorf("%s: %+v, want %s", sql, o, want)
		}
	}
	for sql, want := range map[string]string{
		`SELECT 'abc'::int`:                            `ERROR: invalid input syntax for type integer: "abc"`,
		`SELECT sku::nosuchtype FROM sales_data`:       `ERROR: type "nosuchtype" does not exist`,
		`SELECT 1000::decimal(4,2)`:                    `ERROR: numeric field overflow`,
		`SELECT TOP 2 sku FROM sales_data LIMIT 1`:     `ERROR: syntax error at or near "LIMIT"`,
		`SELECT count(*) FROM other.public.sales_data`: `ERROR: database "other" does not exist`,
	} {
		if o := run(t, alice, "my-workgroup", sql); o.Status != "FAILED" || o.Error != want {
			t.Errorf("%s: %+v, want %s", sql, o, want)
		}
	}
}

// TestDialectWithAWSCLI: a cast and ILIKE, as a person types them into the
// AWS CLI with their identity-enhanced profile.
func TestDialectWithAWSCLI(t *testing.T) {
	ststest.NeedTools(t, "aws", "jq")
	sb := ststest.Sandbox(t, world.DefaultYAML())
	env := ttiProfile(t, sb, "alice")
	out, err := bash(t, env, `ID=$(aws redshift-data execute-statement --profile my-tti-profile --workgroup-name my-workgroup --database dev \
  --sql "SELECT timezone, sum(quantity * sales_price)::decimal(12,2) AS revenue FROM sales_data WHERE timezone ILIKE 'europe/%' GROUP BY timezone ORDER BY 1" \
  --query Id --output text)
for i in $(seq 1 600); do s=$(aws redshift-data describe-statement --profile my-tti-profile --id $ID --query Status --output text); [ "$s" = FINISHED ] || [ "$s" = FAILED ] && break; sleep 0.05; done
aws redshift-data get-statement-result --profile my-tti-profile --id $ID --output json | jq -r '.ColumnMetadata[1].typeName, (.Records[] | .[0].stringValue + " " + .[1].stringValue)'`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || lines[0] != "numeric" {
		t.Fatalf("output:\n%s", out)
	}
	for _, l := range lines[1:] {
		if !regexp.MustCompile(`^Europe/\S+ \d+\.\d\d$`).MatchString(l) {
			t.Fatalf("row %q in:\n%s", l, out)
		}
	}
}
