package athena

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/glue"
	"github.com/tipctl/tipctl/sandbox/lakeformation"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// plan is a query checked at submission: its tokens, the tables it names
// and what Lake Formation gives the caller of each, or why it cannot run.
type plan struct {
	toks   []sqlengine.Token
	tables []planned
	// fail is the reason the query will fail; denied is set when Lake
	// Formation refused (the rest are SQL errors or guard refusals).
	fail   string
	denied *glue.Table
	guard  bool
}

type planned struct {
	t *glue.Table
	a lakeformation.Access
}

// MaxResultRows bounds one query's result in the sandbox.
const MaxResultRows = 200_000

// lineCol is Athena's "line L:C" of byte offset pos in sql.
func lineCol(sql string, pos int) string {
	if pos > len(sql) {
		pos = len(sql)
	}
	line := 1 + strings.Count(sql[:pos], "\n")
	col := pos - strings.LastIndex(sql[:pos], "\n")
	return fmt.Sprintf("line %d:%d", line, col)
}

// posOf finds the first token naming name (or the start).
func posOf(toks []sqlengine.Token, name string) int {
	for _, t := range toks {
		if t.Name() && strings.EqualFold(t.Text, name) {
			return t.Pos
		}
	}
	return 0
}

// newPlan lexes and checks sql, resolves the catalog tables it names
// against the default database db, and evaluates Lake Formation for p.
func (s *Service) newPlan(p *auth.Principal, sql, db string) *plan {
	pl := &plan{}
	toks, err := sqlengine.Lex(sql)
	if err != nil {
		pos := 0
		if se, ok := err.(*sqlengine.SyntaxError); ok {
			pos = se.Pos
		}
		pl.fail = "SYNTAX_ERROR: " + lineCol(sql, pos) + ": " + err.Error()
		return pl
	}
	stmts := sqlengine.Split(toks)
	if len(stmts) > 1 {
		pl.fail, pl.guard = "INVALID_INPUT: Only one sql statement is allowed. Got: "+awsTruncate(sql, 200), true
		return pl
	}
	if len(stmts) == 0 {
		pl.fail = "SYNTAX_ERROR: line 1:1: the query has no statement"
		return pl
	}
	// The catalog qualifier names the only catalog there is; names are
	// case-insensitive in Athena, quoted or not.
	for _, t := range stmts[0] {
		if t.Kind == sqlengine.Quoted {
			t.Text = strings.ToLower(t.Text)
		}
		pl.toks = append(pl.toks, t)
	}
	var kept []sqlengine.Token
	for i := 0; i < len(pl.toks); i++ {
		t := pl.toks[i]
		if t.Name() && t.Text == "awsdatacatalog" && i+1 < len(pl.toks) && pl.toks[i+1].Kind == sqlengine.Punct && pl.toks[i+1].Text == "." {
			i++
			continue
		}
		kept = append(kept, t)
	}
	pl.toks = kept
	if sqlengine.Classify(pl.toks) == sqlengine.Other && len(pl.toks) > 0 {
		first := pl.toks[0]
		pl.fail = fmt.Sprintf("SYNTAX_ERROR: %s: mismatched input '%s'. Expecting: 'SELECT', 'VALUES', 'WITH'", lineCol(sql, first.Pos), awsTruncate(first.Text, 64))
		return pl
	}
	if err := sqlengine.CheckQuery(pl.toks); err != nil {
		pl.fail, pl.guard = athenaError(sql, pl.toks, db, err), true
		return pl
	}
	names := sqlengine.Names(pl.toks)
	for _, d := range s.Catalog.Databases {
		if !names[strings.ToLower(d.Name)] && !strings.EqualFold(d.Name, db) {
			continue
		}
		for _, t := range d.Tables {
			if !names[strings.ToLower(t.Name)] {
				continue
			}
			a := s.LF.Access(p, t)
			if !a.OK {
				pl.denied = t
				pl.fail = fmt.Sprintf("Insufficient Lake Formation permission(s): Required Select on %s", t.Name)
				return pl
			}
			pl.tables = append(pl.tables, planned{t: t, a: a})
		}
	}
	// The default database's tables are attached first, so that an
	// unqualified name resolves there.
	sort.SliceStable(pl.tables, func(i, j int) bool {
		return strings.EqualFold(pl.tables[i].t.Database, db) && !strings.EqualFold(pl.tables[j].t.Database, db)
	})
	return pl
}

func awsTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// athenaError words an engine error as Athena (Trino) does.
func athenaError(sql string, toks []sqlengine.Token, db string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "ERROR: ")
	quoted := func(prefix string) string {
		rest := strings.TrimPrefix(msg, prefix)
		if i := strings.Index(rest, `"`); i >= 0 {
			rest = rest[:i]
		}
		return strings.Trim(rest, `" `)
	}
	switch {
	case strings.HasPrefix(msg, "relation "):
		name := quoted(`relation "`)
		return fmt.Sprintf("TABLE_NOT_FOUND: %s: Table 'awsdatacatalog.%s.%s' does not exist", lineCol(sql, posOf(toks, name)), db, name)
	case strings.HasPrefix(msg, "column "):
		name := quoted(`column "`)
		return fmt.Sprintf("COLUMN_NOT_FOUND: %s: Column '%s' cannot be resolved or requester is not authorized to access requested resources", lineCol(sql, posOf(toks, name)), name)
	case strings.HasPrefix(msg, "syntax error at or near "):
		name := quoted(`syntax error at or near "`)
		return fmt.Sprintf("SYNTAX_ERROR: %s: mismatched input '%s'", lineCol(sql, posOf(toks, name)), name)
	case strings.HasPrefix(msg, "function "):
		name := strings.TrimSuffix(strings.TrimPrefix(msg, "function "), " does not exist")
		return fmt.Sprintf("FUNCTION_NOT_FOUND: %s: Function '%s' not registered", lineCol(sql, posOf(toks, name)), name)
	case strings.Contains(msg, "only SELECT statements"):
		return "NOT_SUPPORTED: the sandbox's Athena runs queries (SELECT, WITH, VALUES) only"
	case strings.Contains(msg, "permission denied"):
		return "NOT_SUPPORTED: the statement reads or changes something a query may not"
	case strings.Contains(msg, "cancelled"):
		return "Query cancelled by user"
	}
	return "GENERIC_USER_ERROR: " + msg
}

// engineType is the declared type a Hive column gets in the engine: its
// Athena name, whose SQLite affinity keeps strings as text.
func engineType(hive string) string {
	h := strings.ToLower(strings.ReplaceAll(hive, " ", ""))
	base, _, _ := strings.Cut(h, "(")
	switch base {
	case "string", "varchar", "char":
		return "varchar"
	case "int", "integer", "smallint", "tinyint":
		return "integer"
	case "bigint":
		return "bigint"
	case "double":
		return "double"
	case "float":
		return "real"
	case "decimal", "date", "timestamp", "boolean":
		return h
	}
	return "varchar"
}

// execute loads the planned tables' permitted cells and runs the query.
func (s *Service) execute(ctx context.Context, x *Execution) error {
	pl := x.plan
	if pl.fail != "" {
		return fmt.Errorf("%s", pl.fail)
	}
	store, err := sqlengine.NewStore(ctx)
	if err != nil {
		return &systemError{msg: "INTERNAL_ERROR_QUERY_ENGINE: " + err.Error()}
	}
	defer store.Close()
	if err := store.CreateSchema(ctx, "raw"); err != nil {
		return &systemError{msg: "INTERNAL_ERROR_QUERY_ENGINE: " + err.Error()}
	}
	var views []sqlengine.View
	var scanned int64
	for _, pt := range pl.tables {
		v, n, err := s.load(ctx, store, pt)
		if err != nil {
			return err
		}
		scanned += n
		views = append(views, v)
	}
	x.mu.Lock()
	x.scanned = scanned
	x.mu.Unlock()
	res, err := store.Run(ctx, pl.toks, nil, nil, views, nil, sqlengine.Limits{MaxRows: MaxResultRows})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("Query cancelled by user")
		}
		if err == sqlengine.ErrTooManyRows {
			return fmt.Errorf("EXCEEDED_LIMIT: the sandbox returns at most %d rows per query", MaxResultRows)
		}
		return fmt.Errorf("%s", athenaError(x.Query, pl.toks, x.Database, err))
	}
	header, rows := render(res)
	if err := s.writeResults(x, header, rows); err != nil {
		return err
	}
	x.mu.Lock()
	x.header, x.rows = header, rows
	x.mu.Unlock()
	return nil
}

// load reads one table's objects into the scratch store's raw schema and
// copies only the cells Lake Formation gives into <database>.<table>.
func (s *Service) load(ctx context.Context, store *sqlengine.Store, pt planned) (sqlengine.View, int64, error) {
	t := pt.t
	rows, err := s.Catalog.Rows(t)
	if err != nil {
		return sqlengine.View{}, 0, err
	}
	var size int64
	raw := sqlengine.QuoteIdent("raw") + "." + sqlengine.QuoteIdent(t.Database+"."+t.Name)
	defs := make([]string, len(t.Columns))
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		defs[i] = sqlengine.QuoteIdent(c.Name) + " " + engineType(c.Type)
		names[i] = c.Name
	}
	if _, err := store.Exec(ctx, "CREATE TABLE "+raw+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return sqlengine.View{}, 0, &systemError{msg: "INTERNAL_ERROR_QUERY_ENGINE: " + err.Error()}
	}
	vals := make([][]any, len(rows))
	for i, r := range rows {
		vals[i] = make([]any, len(r))
		for j, v := range r {
			size += int64(len(v)) + 1
			if v == "" && engineType(t.Columns[j].Type) != "varchar" {
				vals[i][j] = nil
			} else {
				vals[i][j] = v
			}
		}
	}
	if _, err := store.Insert(ctx, "raw", t.Database+"."+t.Name, names, vals); err != nil {
		return sqlengine.View{}, 0, fmt.Errorf("HIVE_BAD_DATA: %s.%s: %v", t.Database, t.Name, err)
	}
	if err := store.CreateSchema(ctx, t.Database); err != nil {
		return sqlengine.View{}, 0, &systemError{msg: "INTERNAL_ERROR_QUERY_ENGINE: " + err.Error()}
	}
	view := sqlengine.Table{Schema: t.Database, Name: t.Name}
	var vdefs, exprs, vnames []string
	for _, name := range pt.a.Columns {
		c, _ := t.Column(name)
		view.Columns = append(view.Columns, sqlengine.Column{Name: c.Name, Type: engineType(c.Type), Nullable: true})
		vdefs = append(vdefs, sqlengine.QuoteIdent(c.Name)+" "+engineType(c.Type))
		vnames = append(vnames, sqlengine.QuoteIdent(c.Name))
		if e, ok := pt.a.Exprs[name]; ok {
			exprs = append(exprs, e)
		} else {
			exprs = append(exprs, sqlengine.QuoteIdent(c.Name))
		}
	}
	full := sqlengine.QuoteIdent(t.Database) + "." + sqlengine.QuoteIdent(t.Name)
	if _, err := store.Exec(ctx, "CREATE TABLE "+full+" ("+strings.Join(vdefs, ", ")+")"); err != nil {
		return sqlengine.View{}, 0, &systemError{msg: "INTERNAL_ERROR_QUERY_ENGINE: " + err.Error()}
	}
	q := "INSERT INTO " + full + " (" + strings.Join(vnames, ", ") + ") SELECT " + strings.Join(exprs, ", ") + " FROM " + raw
	if pt.a.Rows != "" {
		q += " WHERE " + pt.a.Rows
	}
	if _, err := store.Exec(ctx, q); err != nil {
		return sqlengine.View{}, 0, fmt.Errorf("GENERIC_USER_ERROR: the Lake Formation row filter on %s.%s does not evaluate: %v", t.Database, t.Name, err)
	}
	return sqlengine.View{Table: view, Columns: view.Columns}, size, nil
}
