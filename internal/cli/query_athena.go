package cli

import (
	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/query"
	"github.com/tipctl/tipctl/tip/session"
)

// athenaQuery is `tipctl query --athena WORKGROUP SQL`: the query runs as
// the person; --database, when given, is the default database.
func (a *App) athenaQuery(cmd *cobra.Command, profile string, m *session.Manager, workgroup string, dbSet bool, database, sql string) error {
	client, err := query.AthenaClient(m)
	if err != nil {
		return failure(err, profile)
	}
	q := &query.Athena{Client: client, Workgroup: workgroup, Progress: a.statusLine()}
	if dbSet {
		q.Database = database
	}
	res, err := q.Run(cmd.Context(), sql)
	a.clearStatus()
	if err != nil {
		return queryFailure(cmd.Context(), err, profile)
	}
	return a.printResult(res)
}
