package query_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/query"
)

// TestCancelStopsTheStatement: when the context ends (Ctrl-C), the
// statement is cancelled in the service, not left running.
func TestCancelStopsTheStatement(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	c := redshiftdata.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	r := &query.Redshift{Client: c, Workgroup: "my-workgroup", Database: "dev", Progress: func(status string, _ time.Duration) {
		if status == "STARTED" {
			select {
			case started <- struct{}{}:
			default:
			}
		}
	}}
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c")
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the statement never started")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	list, err := c.ListStatements(context.Background(), &redshiftdata.ListStatementsInput{})
	if err != nil || len(list.Statements) == 0 {
		t.Fatalf("ListStatements: %v", err)
	}
	if s := list.Statements[0].Status; s != "ABORTED" {
		t.Fatalf("the statement is %s, want ABORTED", s)
	}
}

// TestRunPagesAndTypes: a large result is fetched page by page.
func TestRunPagesAndTypes(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	c := redshiftdata.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	r := &query.Redshift{Client: c, Workgroup: "redshift-tip-enabled", Database: "dev"}
	res, err := r.Run(context.Background(), "SELECT a.sku, a.product_name, a.sales_price, a.timestamp FROM sales_data a, sales_data b WHERE b.quantity = 1 LIMIT 20000")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 20000 || res.Columns[2].Type != "numeric" || res.Columns[3].Type != "timestamp" {
		t.Fatalf("rows %d columns %v", len(res.Rows), res.Columns)
	}
	if sb.Env.Stats.Get("redshift-data:GetStatementResult") < 2 {
		t.Fatalf("one page for 20000 rows: %d calls", sb.Env.Stats.Get("redshift-data:GetStatementResult"))
	}
	if _, err := r.Run(context.Background(), "SELECT * FROM nope"); !errors.As(err, new(*query.SQLError)) {
		t.Fatalf("missing table: %v", err)
	}
}
