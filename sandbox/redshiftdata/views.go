package redshiftdata

import (
	"context"
	"strings"

	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// view is a standard view an administrator created. The sandbox keeps its
// SELECT as written and runs it again for each person who queries the
// view, as Redshift does for a standard view: querying it needs SELECT on
// the view only (the owner's privileges reach the tables), but the rows of
// every table it reads are the ones row-level security lets the person
// querying see. A view never widens what RLS shows anyone.
type view struct {
	schema, name string
	cols         []sqlengine.Column
	query        []sqlengine.Token
}

// maxViewDepth bounds views over views.
const maxViewDepth = 8

func (d *Database) viewOf(table string) *view {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.views[table]
}

func (d *Database) isView(table string) bool { return d.viewOf(table) != nil }

func (d *Database) viewList(schema string) []*view {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*view
	for _, v := range d.views {
		if v.schema == schema {
			out = append(out, v)
		}
	}
	return out
}

// createView runs CREATE [OR REPLACE] VIEW name [(cols)] AS query
// [WITH NO SCHEMA BINDING]; c stands after VIEW.
func (d *Database) createView(ctx context.Context, c *cursor, replace bool, words map[string]string) (*Outcome, error) {
	full, err := c.table()
	if err != nil {
		return nil, err
	}
	schema, name, _ := strings.Cut(full, ".")
	if !d.store.HasSchema(schema) {
		return nil, errf("ERROR: schema %q does not exist", schema)
	}
	if _, ok := d.store.Table(ctx, schema, name); ok {
		return nil, errf("ERROR: relation %q already exists", name)
	}
	var names []string
	if !c.done() && c.t[c.i].Kind == sqlengine.Punct && c.t[c.i].Text == "(" {
		inner, err := c.parens()
		if err != nil {
			return nil, err
		}
		ic := &cursor{t: inner}
		if names, err = ic.list(ic.name); err != nil {
			return nil, err
		}
	}
	if !c.accept("as") {
		return nil, c.errNear()
	}
	q := c.t[c.i:]
	if n := len(q); n >= 4 && q[n-4].Is("with") && q[n-3].Is("no") && q[n-2].Is("schema") && q[n-1].Is("binding") {
		q = q[:n-4]
	}
	if err := sqlengine.CheckQuery(q); err != nil {
		return nil, err
	}
	v := &view{schema: schema, name: name, query: append([]sqlengine.Token(nil), q...)}
	// The owner (a superuser) runs it once: it must compile, and its result
	// columns are the view's.
	res, err := d.materialize(ctx, User{Name: "admin", Super: true}, v, words, 0)
	if err != nil {
		return nil, err
	}
	if names != nil && len(names) != len(res.Columns) {
		return nil, errf("ERROR: CREATE VIEW specifies %d column names, but the query returns %d", len(names), len(res.Columns))
	}
	seen := map[string]bool{}
	for i, rc := range res.Columns {
		n := rc.Name
		if names != nil {
			n = names[i]
		}
		if seen[n] {
			return nil, errf("ERROR: column %q specified more than once", n)
		}
		seen[n] = true
		v.cols = append(v.cols, sqlengine.Column{Name: n, Type: rc.Type, Nullable: true})
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.views[full] != nil && !replace {
		return nil, errf("ERROR: relation %q already exists", name)
	}
	d.views[full] = v
	return &Outcome{}, nil
}

// dropView runs DROP VIEW [IF EXISTS] name[, …]; c stands after VIEW.
func (d *Database) dropView(c *cursor) (*Outcome, error) {
	ifExists := c.accept("if", "exists")
	names, err := c.list(c.table)
	if err != nil {
		return nil, err
	}
	c.accept("cascade")
	c.accept("restrict")
	if err := c.end(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range names {
		if d.views[n] == nil && !ifExists {
			return nil, errf("ERROR: view %q does not exist", n[strings.Index(n, ".")+1:])
		}
	}
	for _, n := range names {
		delete(d.views, n)
	}
	return &Outcome{}, nil
}

// materialize runs a view's query for u: every table it names with all
// its columns (the owner's privileges) and the rows u's row-level
// security keeps; views it names are materialized for u in turn.
func (d *Database) materialize(ctx context.Context, u User, v *view, words map[string]string, depth int) (*sqlengine.Result, error) {
	if depth >= maxViewDepth {
		return nil, errf("ERROR: view %q nests views deeper than %d", v.name, maxViewDepth)
	}
	q, hints, err := sqlengine.Redshift(v.query)
	if err != nil {
		return nil, err
	}
	names := sqlengine.Names(v.query)
	var tables []sqlengine.View
	var extras []sqlengine.Extra
	for _, schema := range d.store.Schemas() {
		ts, err := d.store.Tables(ctx, schema)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if names[t.Name] {
				tables = append(tables, sqlengine.View{Table: t, Columns: t.Columns, Filter: d.sec.rowFilter(u, schema+"."+t.Name, words)})
			}
		}
		for _, inner := range d.viewList(schema) {
			if !names[inner.name] || inner == v {
				continue
			}
			x, err := d.viewExtra(ctx, u, inner, access{ok: true, filter: d.sec.rowFilter(u, schema+"."+inner.name, words)}, words, depth+1)
			if err != nil {
				return nil, err
			}
			extras = append(extras, x)
		}
	}
	return d.store.Run(ctx, q, words, nil, tables, extras, sqlengine.Limits{MaxRows: maxResultRows, ColumnTypes: hints})
}

// viewExtra is view v as u reads it: the rows of the RLS policies
// attached to the view itself (a.filter), in the columns a allows.
func (d *Database) viewExtra(ctx context.Context, u User, v *view, a access, words map[string]string, depth int) (sqlengine.Extra, error) {
	res, err := d.materialize(ctx, u, v, words, depth)
	if err != nil {
		return sqlengine.Extra{}, err
	}
	x := sqlengine.Extra{Schema: v.schema, Name: v.name}
	if a.filter != "" {
		all := sqlengine.Extra{Schema: v.schema, Name: v.name, Columns: v.cols, Rows: res.Rows}
		q, err := sqlengine.Lex("SELECT * FROM " + sqlengine.QuoteIdent(v.schema) + "." + sqlengine.QuoteIdent(v.name) + " WHERE " + a.filter)
		if err != nil {
			return sqlengine.Extra{}, err
		}
		if res, err = d.store.Run(ctx, q, nil, nil, nil, []sqlengine.Extra{all}, sqlengine.Limits{MaxRows: maxResultRows}); err != nil {
			return sqlengine.Extra{}, err
		}
	}
	cols := a.cols
	var keep []int
	for i, c := range v.cols {
		if cols == nil || cols[c.Name] {
			x.Columns = append(x.Columns, c)
			keep = append(keep, i)
		}
	}
	for _, r := range res.Rows {
		row := make([]any, len(keep))
		for k, i := range keep {
			if i < len(r) {
				row[k] = r[i]
			}
		}
		x.Rows = append(x.Rows, row)
	}
	return x, nil
}
