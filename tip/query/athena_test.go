package query_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/query"
)

// TestAthenaCancelStopsTheQuery: when the context ends (Ctrl-C), the query
// is stopped in the service (StopQueryExecution), not left running.
func TestAthenaCancelStopsTheQuery(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	c := athena.NewFromConfig(ststest.Config(sb, ststest.Person(t, sb, "carol")))
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{}, 1)
	a := &query.Athena{Client: c, Workgroup: "tip-workgroup", Progress: func(status string, _ time.Duration) {
		if status == "RUNNING" {
			select {
			case running <- struct{}{}:
			default:
			}
		}
	}}
	done := make(chan error, 1)
	go func() {
		_, err := a.Run(ctx, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c")
		done <- err
	}()
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatal("the query never ran")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	ids, err := c.ListQueryExecutions(context.Background(), &athena.ListQueryExecutionsInput{WorkGroup: aws.String("tip-workgroup")})
	if err != nil || len(ids.QueryExecutionIds) != 1 {
		t.Fatalf("ListQueryExecutions: %v %v", ids, err)
	}
	q, err := c.GetQueryExecution(context.Background(), &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(ids.QueryExecutionIds[0])})
	if err != nil || q.QueryExecution.Status.State != "CANCELLED" {
		t.Fatalf("the query is %+v (%v), want CANCELLED", q, err)
	}
}

// TestAthenaRunPagesAndSortsErrors: results come without the header row,
// across pages; a denial and a SQL error are told apart.
func TestAthenaRunPagesAndSortsErrors(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	carol := &query.Athena{Client: athena.NewFromConfig(ststest.Config(sb, ststest.Person(t, sb, "carol"))), Workgroup: "tip-workgroup", Database: "db_tip"}
	res, err := carol.Run(context.Background(), "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) SELECT i, s.region FROM n, sales s WHERE s.order_id = 1001")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2500 || len(res.Columns) != 2 || res.Columns[1].Name != "region" || res.Columns[0].Type != "bigint" ||
		*res.Rows[0][0] != "1" || *res.Rows[2499][0] != "2500" || *res.Rows[0][1] != "EMEA" {
		t.Fatalf("%d rows, columns %v, first %v", len(res.Rows), res.Columns, res.Rows[0])
	}
	_, err = carol.Run(context.Background(), "SELECT nope FROM sales")
	var se *query.SQLError
	if !errors.As(err, &se) {
		t.Fatalf("SQL error: %T %v", err, err)
	}
	dave := &query.Athena{Client: athena.NewFromConfig(ststest.Config(sb, ststest.Person(t, sb, "dave"))), Workgroup: "tip-workgroup"}
	_, err = dave.Run(context.Background(), "SELECT * FROM db_tip.sales")
	var de *query.DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("denial: %T %v", err, err)
	}
}
