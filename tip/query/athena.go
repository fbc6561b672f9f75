package query

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athtypes "github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/session"
)

// AthenaClient is an Athena client for the session of mgr.
func AthenaClient(mgr *session.Manager) (*athena.Client, error) {
	cfg, err := sessionConfig(mgr)
	if err != nil {
		return nil, err
	}
	if e := awsconf.ServiceEndpoint(mgr.Profile.EndpointURL, "ATHENA", mgr.Getenv); e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	return athena.NewFromConfig(cfg), nil
}

// Athena runs SQL in an Athena workgroup; on an IAM Identity Center
// enabled workgroup Lake Formation decides by the person's identity.
type Athena struct {
	Client    *athena.Client
	Workgroup string
	// Database is the default database of unqualified names (optional).
	Database string
	Progress Progress
	// Poll is the first wait between status checks (default 25 ms); it
	// grows to 1 s.
	Poll time.Duration
}

// Run starts sql, waits for it, and returns every page of its result
// (Athena's header row removed). When ctx ends first, the query is stopped.
func (a *Athena) Run(ctx context.Context, sql string) (*Result, error) {
	in := &athena.StartQueryExecutionInput{QueryString: aws.String(sql), WorkGroup: aws.String(a.Workgroup)}
	if a.Database != "" {
		in.QueryExecutionContext = &athtypes.QueryExecutionContext{Database: aws.String(a.Database)}
	}
	out, err := a.Client.StartQueryExecution(ctx, in)
	if err != nil {
		return nil, apiError("athena:StartQueryExecution", err)
	}
	id := aws.ToString(out.QueryExecutionId)
	start := time.Now()
	wait := a.Poll
	if wait <= 0 {
		wait = 25 * time.Millisecond
	}
	for {
		q, err := a.Client.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			if ctx.Err() != nil {
				a.stop(id)
				return nil, ctx.Err()
			}
			return nil, apiError("athena:GetQueryExecution", err)
		}
		st := q.QueryExecution.Status
		if a.Progress != nil {
			a.Progress(string(st.State), time.Since(start))
		}
		switch st.State {
		case athtypes.QueryExecutionStateSucceeded:
			res := &Result{StatementID: id}
			return res, a.fetch(ctx, id, res)
		case athtypes.QueryExecutionStateFailed:
			msg := aws.ToString(st.StateChangeReason)
			if st.AthenaError != nil && st.AthenaError.ErrorMessage != nil {
				msg = *st.AthenaError.ErrorMessage
			}
			return nil, statementError("Athena", id, msg)
		case athtypes.QueryExecutionStateCancelled:
			return nil, &SQLError{Service: "Athena", StatementID: id, Message: "the query was cancelled"}
		}
		select {
		case <-ctx.Done():
			a.stop(id)
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*3/2, time.Second)
	}
}

// stop stops a query after the caller's context ended.
func (a *Athena) stop(id string) {
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	_, _ = a.Client.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)})
}

func (a *Athena) fetch(ctx context.Context, id string, res *Result) error {
	var token *string
	first := true
	for {
		page, err := a.Client.GetQueryResults(ctx, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), NextToken: token})
		if err != nil {
			return apiError("athena:GetQueryResults", err)
		}
		rows := page.ResultSet.Rows
		if first {
			first = false
			if md := page.ResultSet.ResultSetMetadata; md != nil {
				for _, c := range md.ColumnInfo {
					res.Columns = append(res.Columns, Column{Name: aws.ToString(c.Name), Type: aws.ToString(c.Type)})
				}
			}
			if len(rows) > 0 && isHeader(rows[0], res.Columns) {
				rows = rows[1:]
			}
		}
		for _, r := range rows {
			row := make([]*string, len(r.Data))
			for i, d := range r.Data {
				row[i] = d.VarCharValue
			}
			res.Rows = append(res.Rows, row)
		}
		if page.NextToken == nil || *page.NextToken == "" {
			return nil
		}
		token = page.NextToken
	}
}

// isHeader reports whether row is Athena's header row: the column names.
func isHeader(row athtypes.Row, cols []Column) bool {
	if len(row.Data) != len(cols) {
		return false
	}
	for i, d := range row.Data {
		if aws.ToString(d.VarCharValue) != cols[i].Name {
			return false
		}
	}
	return true
}
