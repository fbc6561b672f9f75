package athena_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athtypes "github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// startToResults is one StartQueryExecution → GetQueryExecution until
// SUCCEEDED → GetQueryResults (every page).
func startToResults(b *testing.B, c *athena.Client, in *athena.StartQueryExecutionInput, wantRows int) {
	ctx := context.Background()
	out, err := c.StartQueryExecution(ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	for {
		q, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: out.QueryExecutionId})
		if err != nil {
			b.Fatal(err)
		}
		s := q.QueryExecution.Status.State
		if s == athtypes.QueryExecutionStateSucceeded {
			break
		}
		if s == athtypes.QueryExecutionStateFailed || s == athtypes.QueryExecutionStateCancelled {
			b.Fatalf("%s: %s", s, aws.ToString(q.QueryExecution.Status.StateChangeReason))
		}
		time.Sleep(time.Millisecond)
	}
	rows := 0
	var token *string
	for {
		r, err := c.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: out.QueryExecutionId, NextToken: token})
		if err != nil {
			b.Fatal(err)
		}
		rows += len(r.ResultSet.Rows)
		if token = r.NextToken; token == nil {
			break
		}
	}
	if wantRows >= 0 && rows != wantRows {
		b.Fatalf("%d rows, want %d", rows, wantRows)
	}
}

// BenchmarkStartToResults: seed 002's query and the sales table through
// Athena as carol (table SELECT) and as alice (data cells filter), and the
// same three calls against moto_server's Athena, which returns no rows of
// any table and enforces no Lake Formation permission.
func BenchmarkStartToResults(b *testing.B) {
	sb := ststest.Sandbox(b, world.DefaultYAML())
	in := func(sql string) *athena.StartQueryExecutionInput {
		return &athena.StartQueryExecutionInput{QueryString: aws.String(sql), WorkGroup: aws.String("tip-workgroup")}
	}
	carol := client(sb, ststest.Person(b, sb, "carol"))
	alice := client(sb, ststest.Person(b, sb, "alice"))
	b.Run("sandbox-carol-table_example", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			startToResults(b, carol, in("SELECT * FROM db_tip.table_example LIMIT 3"), 4)
		}
	})
	b.Run("sandbox-alice-sales-filtered", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			startToResults(b, alice, in("SELECT * FROM db_tip.sales"), 5)
		}
	})
	b.Run("moto", func(b *testing.B) {
		u := startMoto(b)
		cfg := ststest.Config(sb, ststest.Admin())
		cfg.BaseEndpoint = aws.String(u)
		m := athena.NewFromConfig(cfg)
		q := &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT * FROM db_tip.table_example LIMIT 3"),
			ResultConfiguration: &athtypes.ResultConfiguration{OutputLocation: aws.String("s3://results/")}}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			startToResults(b, m, q, -1)
		}
	})
}

// BenchmarkSandboxStartAndFirstAthenaQuery: the sandbox with the full
// default world, and its first Athena query (the catalog is read at query
// time).
func BenchmarkSandboxStartAndFirstAthenaQuery(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sb, err := sandbox.Start(sandbox.Options{})
		if err != nil {
			b.Fatal(err)
		}
		startToResults(b, client(sb, ststest.Admin()), &athena.StartQueryExecutionInput{QueryString: aws.String("SELECT count(*) FROM db_tip.sales"),
			WorkGroup: aws.String("primary")}, 2)
		sb.Close()
	}
}

func startMoto(b *testing.B) string {
	b.Helper()
	if _, err := exec.LookPath("moto_server"); err != nil {
		b.Skip("moto_server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r, err := http.Get(u + "/moto-api/"); err == nil {
			r.Body.Close()
			return u
		}
		if time.Now().After(deadline) {
			b.Fatal("moto_server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
