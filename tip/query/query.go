// Package query runs SQL as the person behind an identity-enhanced session:
// Redshift Data API statements and Athena queries, waiting for their end, paging through
// their results, and cancelling them when the context ends. The clients
// are aws-sdk-go-v2's, exactly as against AWS; only the endpoint may
// change.
package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	rsdtypes "github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/session"
)

// Result is a query result: column names and rows of text (nil is NULL).
type Result struct {
	Columns []Column    `json:"columns"`
	Rows    [][]*string `json:"rows"`
	// StatementID names the statement (Redshift) or query execution (Athena).
	StatementID string `json:"statement_id"`
	// Changed is the rows a statement without a result set changed.
	Changed int64 `json:"changed_rows,omitempty"`
}

// Column is a result column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SQLError is a statement that failed in the database: a SQL error.
type SQLError struct {
	Service, StatementID, Message string
}

func (e *SQLError) Error() string { return e.Service + " statement failed: " + e.Message }

// DeniedError is a statement the data's own access control refused: a
// missing privilege, or an IAM or Lake Formation denial.
type DeniedError struct {
	Service, Message string
}

func (e *DeniedError) Error() string { return e.Service + ": " + e.Message }

// APIError is any other refusal of the service.
type APIError struct {
	Op   string
	Code string
	Err  error
}

func (e *APIError) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }
func (e *APIError) Unwrap() error { return e.Err }

// Progress is told the status while a statement runs.
type Progress func(status string, elapsed time.Duration)

// RedshiftClient is a Redshift Data API client for the session of mgr.
func RedshiftClient(mgr *session.Manager) (*redshiftdata.Client, error) {
	cfg, err := sessionConfig(mgr)
	if err != nil {
		return nil, err
	}
	if e := awsconf.ServiceEndpoint(mgr.Profile.EndpointURL, "REDSHIFT_DATA", mgr.Getenv); e != "" {
		cfg.BaseEndpoint = aws.String(e)
	}
	return redshiftdata.NewFromConfig(cfg), nil
}

// sessionConfig is an SDK config whose credentials are the profile's
// identity-enhanced session, renewed as it nears its end.
func sessionConfig(mgr *session.Manager) (aws.Config, error) {
	p := mgr.Profile
	return awsconf.New(awsconf.Options{Region: p.Region, Endpoint: p.EndpointURL, HTTPClient: mgr.HTTP, Getenv: mgr.Getenv,
		Credentials: aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			c, err := mgr.Credentials(ctx, false)
			if err != nil {
				return aws.Credentials{}, err
			}
			return c.AWS(), nil
		})})
}

// Redshift runs SQL on a Redshift Serverless workgroup.
type Redshift struct {
	Client    *redshiftdata.Client
	Workgroup string
	Database  string
	Progress  Progress
	// Poll is the first wait between status checks (default 25 ms); it
	// grows to 1 s.
	Poll time.Duration
}

// Run executes sql, waits for it, and returns every page of its result.
// When ctx ends first, the statement is cancelled.
func (r *Redshift) Run(ctx context.Context, sql string) (*Result, error) {
	out, err := r.Client.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String(sql),
		WorkgroupName: aws.String(r.Workgroup), Database: aws.String(r.Database)})
	if err != nil {
		return nil, apiError("redshift-data:ExecuteStatement", err)
	}
	id := aws.ToString(out.Id)
	start := time.Now()
	wait := r.Poll
	if wait <= 0 {
		wait = 25 * time.Millisecond
	}
	for {
		d, err := r.Client.DescribeStatement(ctx, &redshiftdata.DescribeStatementInput{Id: aws.String(id)})
		if err != nil {
			if ctx.Err() != nil {
				r.cancel(id)
				return nil, ctx.Err()
			}
			return nil, apiError("redshift-data:DescribeStatement", err)
		}
		if r.Progress != nil {
			r.Progress(string(d.Status), time.Since(start))
		}
		switch d.Status {
		case rsdtypes.StatusStringFinished:
			res := &Result{StatementID: id}
			if !aws.ToBool(d.HasResultSet) {
				res.Changed = d.ResultRows
				return res, nil
			}
			return res, r.fetch(ctx, id, res)
		case rsdtypes.StatusStringFailed:
			return nil, statementError("Redshift", id, aws.ToString(d.Error))
		case rsdtypes.StatusStringAborted:
			return nil, &SQLError{Service: "Redshift", StatementID: id, Message: "the statement was cancelled"}
		}
		select {
		case <-ctx.Done():
			r.cancel(id)
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*3/2, time.Second)
	}
}

// cancel stops a statement after the caller's context ended.
func (r *Redshift) cancel(id string) {
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	_, _ = r.Client.CancelStatement(ctx, &redshiftdata.CancelStatementInput{Id: aws.String(id)})
}

func (r *Redshift) fetch(ctx context.Context, id string, res *Result) error {
	var token *string
	for {
		page, err := r.Client.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: aws.String(id), NextToken: token})
		if err != nil {
			return apiError("redshift-data:GetStatementResult", err)
		}
		if res.Columns == nil {
			for _, m := range page.ColumnMetadata {
				res.Columns = append(res.Columns, Column{Name: aws.ToString(m.Name), Type: aws.ToString(m.TypeName)})
			}
		}
		for _, rec := range page.Records {
			row := make([]*string, len(rec))
			for i, f := range rec {
				row[i] = fieldText(f)
			}
			res.Rows = append(res.Rows, row)
		}
		if page.NextToken == nil || *page.NextToken == "" {
			return nil
		}
		token = page.NextToken
	}
}

func fieldText(f rsdtypes.Field) *string {
	var s string
	switch v := f.(type) {
	case *rsdtypes.FieldMemberStringValue:
		s = v.Value
	case *rsdtypes.FieldMemberLongValue:
		s = fmt.Sprint(v.Value)
	case *rsdtypes.FieldMemberDoubleValue:
		s = fmt.Sprint(v.Value)
	case *rsdtypes.FieldMemberBooleanValue:
		s = fmt.Sprint(v.Value)
	case *rsdtypes.FieldMemberBlobValue:
		s = fmt.Sprintf("%x", v.Value)
	default:
		return nil
	}
	return &s
}

// statementError sorts a failed statement's message: a permission denial
// or a SQL error.
func statementError(service, id, msg string) error {
	lower := strings.ToLower(msg)
	if strings.Contains(lower, "permission denied") || strings.Contains(lower, "access denied") || strings.Contains(lower, "insufficient lake formation permission") {
		return &DeniedError{Service: service, Message: msg}
	}
	return &SQLError{Service: service, StatementID: id, Message: msg}
}

func apiError(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied":
			return &DeniedError{Service: op, Message: ae.ErrorMessage()}
		}
		return &APIError{Op: op, Code: ae.ErrorCode(), Err: err}
	}
	return err
}
