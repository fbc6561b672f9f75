package athena_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athtypes "github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func client(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *athena.Client {
	return athena.NewFromConfig(ststest.Config(sb, creds))
}

type outcome struct {
	ID      string
	State   string
	Reason  string
	Columns []string
	Rows    [][]string
	Output  string
}

// column returns one column's values.
func (o outcome) column(t testing.TB, name string) []string {
	t.Helper()
	for i, c := range o.Columns {
		if c == name {
			var out []string
			for _, r := range o.Rows {
				out = append(out, r[i])
			}
			return out
		}
	}
	t.Fatalf("no column %s in %v", name, o.Columns)
	return nil
}

func (o outcome) has(name string) bool {
	for _, c := range o.Columns {
		if c == name {
			return true
		}
	}
	return false
}

// run starts sql in workgroup with db_tip as the default database, waits
// for its end and reads every page of its result.
func run(t testing.TB, c *athena.Client, workgroup, sql string) outcome {
	t.Helper()
	out, err := c.StartQueryExecution(context.Background(), &athena.StartQueryExecutionInput{QueryString: aws.String(sql),
		WorkGroup: aws.String(workgroup), QueryExecutionContext: &athtypes.QueryExecutionContext{Database: aws.String("db_tip")}})
	if err != nil {
		t.Fatalf("StartQueryExecution %q: %v", sql, err)
	}
	return wait(t, c, *out.QueryExecutionId, 0)
}

func wait(t testing.TB, c *athena.Client, id string, pageSize int32) outcome {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		q, err := c.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetQueryExecution: %v", err)
		}
		st := q.QueryExecution.Status
		o := outcome{ID: id, State: string(st.State), Reason: aws.ToString(st.StateChangeReason), Output: aws.ToString(q.QueryExecution.ResultConfiguration.OutputLocation)}
		switch st.State {
		case athtypes.QueryExecutionStateSucceeded:
			var token *string
			first := true
			for {
				in := &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), NextToken: token}
				if pageSize > 0 {
					in.MaxResults = aws.Int32(pageSize)
				}
				r, err := c.GetQueryResults(ctx, in)
				if err != nil {
					t.Fatalf("GetQueryResults: %v", err)
				}
				rows := r.ResultSet.Rows
				if first {
					for _, ci := range r.ResultSet.ResultSetMetadata.ColumnInfo {
						o.Columns = append(o.Columns, aws.ToString(ci.Name))
					}
					if len(rows) == 0 || len(rows[0].Data) != len(o.Columns) {
						t.Fatalf("first page has no header row: %+v", rows)
					}
					for i, d := range rows[0].Data {
						if aws.ToString(d.VarCharValue) != o.Columns[i] {
							t.Fatalf("header row %d is %q, want %q", i, aws.ToString(d.VarCharValue), o.Columns[i])
						}
					}
					rows = rows[1:]
					first = false
				}
				for _, row := range rows {
					var vals []string
					for _, d := range row.Data {
						if d.VarCharValue == nil {
							vals = append(vals, "NULL")
						} else {
							vals = append(vals, *d.VarCharValue)
						}
					}
					o.Rows = append(o.Rows, vals)
				}
				if token = r.NextToken; token == nil {
					return o
				}
			}
		case athtypes.QueryExecutionStateFailed, athtypes.QueryExecutionStateCancelled:
			if st.State == athtypes.QueryExecutionStateFailed && (st.AthenaError == nil || aws.ToString(st.AthenaError.ErrorMessage) != o.Reason) {
				t.Fatalf("a failed query without its AthenaError: %+v", st)
			}
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s still %s", id, st.State)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func allHavePrefix(vals []string, p string) bool {
	for _, v := range vals {
		if !strings.HasPrefix(v, p) {
			return false
		}
	}
	return len(vals) > 0
}
