package redshiftdata

import (
	"context"
	"strings"

	"github.com/tipctl/tipctl/sandbox/callctx"

	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// maxResultRows bounds one statement's result in the sandbox.
const maxResultRows = 200_000

// query runs a SELECT as u. The engine sees, in a fresh database, only the
// tables the statement names that u may read: their permitted columns and
// the rows their row-level security keeps. Whatever the text does (schema
// names, quoting, subqueries, CTEs, UNION, joins, catalog tables), there is
// nothing else to reach.
func (d *Database) query(ctx context.Context, u User, st []sqlengine.Token, words map[string]string, args []any) (*Outcome, error) {
	names := sqlengine.Names(st)
	q, hints, err := sqlengine.Redshift(st)
	if err != nil {
		return nil, err
	}
	var views []sqlengine.View
	var extras []sqlengine.Extra
	var denied error
	var limits []callctx.Decision
	for _, schema := range d.store.Schemas() {
		tables, err := d.store.Tables(ctx, schema)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			if !names[t.Name] {
				continue
			}
			table := schema + "." + t.Name
			a := d.sec.access(u, table, words)
			if !a.ok {
				denied = refuse("ERROR: permission denied for relation "+t.Name, "SELECT", table, u, noSelect(u, table, a))
				continue
			}
			if a.rls {
				limits = append(limits, callctx.Decision{Kind: KindRLS, Action: "SELECT", Resource: table, Policy: strings.Join(a.policies, ","),
					Reason: rowsReason(u, table, a)})
			}
			v := sqlengine.View{Table: t, Filter: a.filter}
			for _, c := range t.Columns {
				if a.cols == nil || a.cols[c.Name] {
					v.Columns = append(v.Columns, c)
				} else if names[c.Name] {
					return nil, refuse("ERROR: permission denied for relation "+t.Name, "SELECT", table+"."+c.Name, u,
						who(u, a)+" may read only some columns of "+table+" (SELECT granted to "+strings.Join(a.via, ", ")+"), not "+c.Name)
				}
			}
			views = append(views, v)
		}
		for _, vw := range d.viewList(schema) {
			if !names[vw.name] {
				continue
			}
			view := schema + "." + vw.name
			a := d.sec.access(u, view, words)
			if !a.ok {
				denied = refuse("ERROR: permission denied for relation "+vw.name, "SELECT", view, u, noSelect(u, view, a))
				continue
			}
			if a.rls {
				limits = append(limits, callctx.Decision{Kind: KindRLS, Action: "SELECT", Resource: view, Policy: strings.Join(a.policies, ","),
					Reason: rowsReason(u, view, a)})
			}
			for _, c := range vw.cols {
				if a.cols != nil && !a.cols[c.Name] && names[c.Name] {
					return nil, refuse("ERROR: permission denied for relation "+vw.name, "SELECT", view+"."+c.Name, u,
						who(u, a)+" may read only some columns of "+view+" (SELECT granted to "+strings.Join(a.via, ", ")+"), not "+c.Name)
				}
			}
			x, err := d.viewExtra(ctx, u, vw, a, words, 0)
			if err != nil {
				return nil, err
			}
			extras = append(extras, x)
		}
	}
	if denied != nil {
		return nil, denied
	}
	if names["sys_query_history"] {
		extras = append(extras, d.historyFor(u))
	}
	res, err := d.store.Run(ctx, q, words, args, views, extras, sqlengine.Limits{MaxRows: maxResultRows, ColumnTypes: hints})
	if err != nil {
		return nil, err
	}
	return &Outcome{Result: res, Limits: limits}, nil
}

var historyColumns = []sqlengine.Column{
	{Name: "user_id", Type: "INTEGER"}, {Name: "user_name", Type: "VARCHAR(128)"}, {Name: "query_id", Type: "BIGINT"},
	{Name: "database_name", Type: "VARCHAR(128)"}, {Name: "query_type", Type: "VARCHAR(32)"}, {Name: "status", Type: "VARCHAR(10)"},
	{Name: "start_time", Type: "TIMESTAMP"}, {Name: "end_time", Type: "TIMESTAMP"}, {Name: "elapsed_time", Type: "BIGINT"},
	{Name: "returned_rows", Type: "BIGINT"}, {Name: "error_message", Type: "VARCHAR(512)"}, {Name: "query_text", Type: "VARCHAR(4000)"},
}

// historyFor is sys_query_history as u sees it: a person sees their own
// statements; a superuser sees everyone's.
func (d *Database) historyFor(u User) sqlengine.Extra {
	d.mu.Lock()
	defer d.mu.Unlock()
	x := sqlengine.Extra{Name: "sys_query_history", Columns: historyColumns}
	ids := map[string]int64{}
	for _, h := range d.history {
		if !u.Super && h.user != u.Name {
			continue
		}
		if ids[h.user] == 0 {
			ids[h.user] = int64(100 + len(ids))
		}
		text := h.text
		if len(text) > 4000 {
			text = text[:4000]
		}
		x.Rows = append(x.Rows, []any{ids[h.user], h.user, h.queryID, d.Name, h.kind, h.status,
			sqlengine.FormatTime(h.start), sqlengine.FormatTime(h.end), h.end.Sub(h.start).Microseconds(), h.rows, h.errMsg, text})
	}
	return x
}
