package athena_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athtypes "github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

func distinct(vals []string) string {
	m := map[string]bool{}
	for _, v := range vals {
		m[v] = true
	}
	var out []string
	for v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestPeopleSeeWhatTheirGroupsAllow: the same two queries give each person
// the cells Lake Formation grants their Identity Center groups.
func TestPeopleSeeWhatTheirGroupsAllow(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	const sales = "SELECT * FROM db_tip.sales ORDER BY order_id"
	const example = "SELECT * FROM db_tip.table_example LIMIT 3"
	for _, c := range []struct {
		user, regions string
		margin        bool
		supplier      bool
	}{
		{"alice", "EMEA", false, true},          // emea-sales: data cells filter, row filter and no margin_pct
		{"bob", "APAC", true, false},            // apac-sales: row filter with every column; table_example without supplier
		{"carol", "AMER,APAC,EMEA", true, true}, // exec-global: table SELECT
	} {
		cl := client(sb, ststest.Person(t, sb, c.user))
		o := run(t, cl, "tip-workgroup", sales)
		if o.State != "SUCCEEDED" {
			t.Fatalf("%s: %+v", c.user, o)
		}
		if got := distinct(o.column(t, "region")); got != c.regions {
			t.Errorf("%s sees regions %s, want %s", c.user, got, c.regions)
		}
		if o.has("margin_pct") != c.margin {
			t.Errorf("%s: columns %v (margin_pct visible: want %v)", c.user, o.Columns, c.margin)
		}
		ex := run(t, cl, "tip-workgroup", example)
		if ex.State != "SUCCEEDED" || len(ex.Rows) != 3 || ex.has("supplier") != c.supplier || !ex.has("product") {
			t.Errorf("%s table_example: %+v", c.user, ex)
		}
	}
	dave := client(sb, ststest.Person(t, sb, "dave"))
	for _, q := range []string{sales, example} {
		o := run(t, dave, "tip-workgroup", q)
		if o.State != "FAILED" || !strings.HasPrefix(o.Reason, "Insufficient Lake Formation permission(s): Required Select on ") {
			t.Errorf("dave %q: %+v", q, o)
		}
	}

	// Values are typed as Athena prints them.
	carol := run(t, client(sb, ststest.Person(t, sb, "carol")), "tip-workgroup", "SELECT order_id, revenue, margin_pct, units * 2 AS twice FROM sales WHERE order_id = 1002")
	if carol.State != "SUCCEEDED" || len(carol.Rows) != 1 || strings.Join(carol.Rows[0], "|") != "1002|9400.50|27.0|376" {
		t.Errorf("carol's typed row: %+v", carol)
	}
}

// TestIdentityCenterWorkgroupNeedsAPerson: on tip-workgroup a caller
// without identity-enhanced credentials is refused, and the refusal is in
// the trail; the administrator runs queries in primary.
func TestIdentityCenterWorkgroupNeedsAPerson(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	admin := client(sb, ststest.Admin())
	_, err := admin.StartQueryExecution(context.Background(), &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT 1"), WorkGroup: aws.String("tip-workgroup")})
	msg := ststest.WantAPIError(t, err, "InvalidRequestException", 400)
	if !strings.Contains(msg, "identity-enhanced credentials") {
		t.Errorf("message %q", msg)
	}
	found := false
	for _, e := range sb.Trail.Events() {
		if e.Summary.EventName == "StartQueryExecution" && e.Decision != nil && e.Decision.Kind == "identity-center" {
			found = true
		}
	}
	if !found {
		t.Error("the refusal is not in the trail")
	}
	o := run(t, admin, "primary", "SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY region")
	if o.State != "SUCCEEDED" || len(o.Rows) != 3 {
		t.Errorf("admin in primary: %+v", o)
	}
}

// TestResultsAreWrittenToS3: the result CSV (every value quoted) and its
// .metadata are in the output location, under the person's user-level
// prefix; a person without a grant on the location cannot have results.
func TestResultsAreWrittenToS3(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	o := run(t, client(sb, ststest.Person(t, sb, "alice")), "tip-workgroup", "SELECT order_id, country FROM sales WHERE country IN ('DE', 'FR') ORDER BY order_id")
	var aliceID string
	for _, u := range sb.Env.World.IdentityCenter.Users {
		if u.UserName == "alice" {
			aliceID = u.UserID
		}
	}
	want := "s3://tip-athena-results/tip-workgroup/" + aliceID + "/" + o.ID + ".csv"
	if o.State != "SUCCEEDED" || o.Output != want {
		t.Fatalf("%+v, want output %s", o, want)
	}
	key := strings.TrimPrefix(want, "s3://tip-athena-results/")
	body, err := sb.Env.Objects.GetObject("tip-athena-results", key)
	if err != nil || string(body) != "\"order_id\",\"country\"\n\"1001\",\"DE\"\n\"1002\",\"FR\"\n" {
		t.Fatalf("result object %q: %v", body, err)
	}
	if meta, err := sb.Env.Objects.GetObject("tip-athena-results", key+".metadata"); err != nil || !strings.Contains(string(meta), `"Name":"order_id"`) {
		t.Fatalf("metadata %s: %v", meta, err)
	}
	// dave has no Lake Formation grant, but SELECT 1 reads no table: what
	// stops him is the results location, where no access grant is his.
	d := run(t, client(sb, ststest.Person(t, sb, "dave")), "tip-workgroup", "SELECT 1")
	if d.State != "FAILED" || !strings.Contains(d.Reason, "Access denied when writing output to url") {
		t.Errorf("dave: %+v", d)
	}
}

// TestPagination: pages of GetQueryResults; the header row comes first,
// on the first page only.
func TestPagination(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	c := client(sb, ststest.Person(t, sb, "carol"))
	out, err := c.StartQueryExecution(context.Background(), &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT order_id FROM db_tip.sales ORDER BY order_id"),
		WorkGroup: aws.String("tip-workgroup")})
	if err != nil {
		t.Fatal(err)
	}
	o := wait(t, c, *out.QueryExecutionId, 3)
	if len(o.Rows) != 10 || o.Rows[0][0] != "1001" || o.Rows[9][0] != "1010" {
		t.Fatalf("paged rows %v", o.Rows)
	}
	_, err = c.GetQueryResults(context.Background(), &athena.GetQueryResultsInput{QueryExecutionId: out.QueryExecutionId, MaxResults: aws.Int32(1001)})
	ststest.WantAPIError(t, err, "ValidationException", 400)
	ids, err := c.ListQueryExecutions(context.Background(), &athena.ListQueryExecutionsInput{WorkGroup: aws.String("tip-workgroup")})
	if err != nil || len(ids.QueryExecutionIds) != 1 || ids.QueryExecutionIds[0] != *out.QueryExecutionId {
		t.Fatalf("ListQueryExecutions: %v %v", ids, err)
	}
	// Another person's executions are not carol's to see.
	alice := client(sb, ststest.Person(t, sb, "alice"))
	mine, err := alice.ListQueryExecutions(context.Background(), &athena.ListQueryExecutionsInput{WorkGroup: aws.String("tip-workgroup")})
	if err != nil || len(mine.QueryExecutionIds) != 0 {
		t.Fatalf("alice lists %v %v", mine, err)
	}
	_, err = alice.GetQueryResults(context.Background(), &athena.GetQueryResultsInput{QueryExecutionId: out.QueryExecutionId})
	ststest.WantAPIError(t, err, "InvalidRequestException", 400)
}

// TestStopQueryExecution: a running query stops (the engine is
// interrupted) and ends CANCELLED.
func TestStopQueryExecution(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	c := client(sb, ststest.Person(t, sb, "carol"))
	ctx := context.Background()
	out, err := c.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{WorkGroup: aws.String("tip-workgroup"),
		QueryString: aws.String("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000000) SELECT count(*) FROM r")})
	if err != nil {
		t.Fatal(err)
	}
	for {
		q, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: out.QueryExecutionId})
		if err != nil {
			t.Fatal(err)
		}
		if q.QueryExecution.Status.State == athtypes.QueryExecutionStateRunning {
			break
		}
		if q.QueryExecution.Status.State != athtypes.QueryExecutionStateQueued {
			t.Fatalf("state %s", q.QueryExecution.Status.State)
		}
	}
	if _, err := c.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: out.QueryExecutionId}); err != nil {
		t.Fatal(err)
	}
	if o := wait(t, c, *out.QueryExecutionId, 0); o.State != "CANCELLED" {
		t.Fatalf("after StopQueryExecution: %+v", o)
	}
	_, err = c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: out.QueryExecutionId})
	if msg := ststest.WantAPIError(t, err, "InvalidRequestException", 400); !strings.Contains(msg, "Final query state: CANCELLED") {
		t.Fatalf("results of a cancelled query: %s", msg)
	}
}
