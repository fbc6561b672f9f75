package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/query"
)

// Exit codes of `tipctl query`.
const (
	ExitSQL    = 8 // the statement failed in the database (a SQL error)
	ExitDenied = 9 // the data's access control refused the person
)

func init() { register(newQueryCmd) }

func newQueryCmd(app *App) *cobra.Command {
	var workgroup, athenaWG, database string
	cmd := &cobra.Command{
		Use:   "query (--redshift WORKGROUP [--database dev] | --athena WORKGROUP [--database DB]) SQL",
		Short: "Run SQL as the person logged in (Redshift Data API, Athena)",
		Long: `Runs one SQL statement with the identity-enhanced session, so the database
decides by the person's identity: a Redshift workgroup with Identity Center
runs it as <namespace>:<user>, holding the roles of their groups, and its
privileges and row-level security pick the rows. An Athena workgroup with
Identity Center runs it as the person, and Lake Formation's grants to them
and their groups pick the tables, columns and rows.

tipctl waits for the statement (its status on stderr when that is a
terminal), fetches every page of the result, and prints a table, or JSON
with --output json, or CSV with --output csv. Ctrl-C cancels the statement
(Athena: StopQueryExecution).

Exit codes: 8 when the statement fails (a SQL error), 9 when the person is
refused (a missing privilege, a Lake Formation or IAM denial); see ` + "`tipctl help exit-codes`" + `.`,
		Example: `  tipctl query --redshift redshift-tip-enabled --database dev "SELECT city, SUM(sales_price) FROM sales_data GROUP BY city"
  tipctl query --athena tip-workgroup "SELECT * FROM db_tip.table_example LIMIT 3"`,
		Annotations: map[string]string{"output-csv": "yes"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return Errorf(ExitUsage, `quote the statement: tipctl query --redshift WORKGROUP "SELECT …"`, "query takes one SQL statement, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if (workgroup == "") == (athenaWG == "") {
				return Errorf(ExitUsage, "e.g. `tipctl query --redshift redshift-tip-enabled \"SELECT 1\"` or `tipctl query --athena tip-workgroup \"SELECT 1\"`",
					"give one of --redshift WORKGROUP and --athena WORKGROUP")
			}
			p, m, err := app.session()
			if err != nil {
				return err
			}
			if athenaWG != "" {
				return app.athenaQuery(cmd, p.Name, m, athenaWG, cmd.Flags().Changed("database"), database, args[0])
			}
			client, err := query.RedshiftClient(m)
			if err != nil {
				return failure(err, p.Name)
			}
			r := &query.Redshift{Client: client, Workgroup: workgroup, Database: database, Progress: app.statusLine()}
			res, err := r.Run(cmd.Context(), args[0])
			app.clearStatus()
			if err != nil {
				return queryFailure(cmd.Context(), err, p.Name)
			}
			return app.printResult(res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&workgroup, "redshift", "", "Redshift Serverless workgroup to run the statement on")
	f.StringVar(&athenaWG, "athena", "", "Athena workgroup to run the query in")
	f.StringVar(&database, "database", "dev", "database (Athena: the default database of unqualified table names)")
	return cmd
}

// statusLine draws a statement's status on a terminal's stderr.
func (a *App) statusLine() query.Progress {
	w := a.progress()
	if w == nil {
		return nil
	}
	return func(status string, elapsed time.Duration) {
		fmt.Fprintf(w, "\r\033[K%s %.1fs", status, elapsed.Seconds())
	}
}

func (a *App) clearStatus() {
	if w := a.progress(); w != nil {
		fmt.Fprint(w, "\r\033[K")
	}
}

func queryFailure(ctx context.Context, err error, profile string) error {
	var se *query.SQLError
	var de *query.DeniedError
	var ae *query.APIError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return &Error{Code: ExitInterrupted, Msg: "interrupted: the statement was cancelled", Err: err}
	case errors.As(err, &de):
		return &Error{Code: ExitDenied, Msg: safeText(de.Error()), Fix: "the person's groups do not grant this; ask the data's administrator", Err: err}
	case errors.As(err, &se):
		return &Error{Code: ExitSQL, Msg: safeText(se.Error()), Err: err}
	case errors.As(err, &ae):
		return &Error{Code: ExitAWS, Msg: safeText(ae.Error()), Err: err}
	}
	return failure(err, profile)
}

// safeText replaces control characters of untrusted text.
func safeText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return '?'
		}
		return r
	}, s)
}

func (a *App) printResult(res *query.Result) error {
	switch a.Output {
	case "json":
		rows := make([]map[string]*string, len(res.Rows))
		for i, r := range res.Rows {
			rows[i] = map[string]*string{}
			for j, v := range r {
				rows[i][res.Columns[j].Name] = v
			}
		}
		return a.printJSON(map[string]any{"statement_id": res.StatementID, "columns": res.Columns, "rows": rows, "row_count": len(res.Rows)})
	case "csv":
		w := csv.NewWriter(a.Stdout)
		head := make([]string, len(res.Columns))
		for i, c := range res.Columns {
			head[i] = c.Name
		}
		_ = w.Write(head)
		for _, r := range res.Rows {
			rec := make([]string, len(r))
			for i, v := range r {
				if v != nil {
					rec[i] = *v
				}
			}
			_ = w.Write(rec)
		}
		w.Flush()
		return w.Error()
	}
	if len(res.Columns) == 0 {
		fmt.Fprintf(a.Stdout, "OK (%d rows changed)\n", res.Changed)
		return nil
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	head := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		head[i] = safeText(c.Name)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range res.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = strings.ReplaceAll(safeText(*v), "\t", " ")
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "(%d rows)\n", len(res.Rows))
	return nil
}
