package sqlengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// Store holds the base tables of one database on one SQLite connection
// (each schema an attached in-memory database). Only the services write it;
// no caller's query ever runs on it.
type Store struct {
	mu      sync.Mutex
	db      *sql.DB
	conn    *sql.Conn
	schemas map[string]bool
}

const dsnOptions = "_dqs=0&_defensive=1&_pragma=case_sensitive_like(1)"

// NewStore opens an empty store with the schema public.
func NewStore(ctx context.Context) (*Store, error) {
	db, err := sql.Open("sqlite", "file::memory:?"+dsnOptions)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, conn: conn, schemas: map[string]bool{}}
	if err := s.CreateSchema(ctx, "public"); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the store.
func (s *Store) Close() error {
	s.conn.Close()
	return s.db.Close()
}

// CreateSchema attaches an empty in-memory database named schema.
func (s *Store) CreateSchema(ctx context.Context, schema string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schemas[schema] {
		return nil
	}
	if _, err := s.conn.ExecContext(ctx, "ATTACH DATABASE ':memory:' AS "+QuoteIdent(schema)); err != nil {
		return err
	}
	s.schemas[schema] = true
	return nil
}

// HasSchema reports whether schema exists.
func (s *Store) HasSchema(schema string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schemas[schema]
}

// Schemas lists the schemas.
func (s *Store) Schemas() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.schemas))
	for k := range s.schemas {
		out = append(out, k)
	}
	return out
}

// Exec runs one already-checked statement (rendered SQL) on the base
// tables and returns the number of rows it changed.
func (s *Store) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.conn.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, Translate(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Column is a column of a base table.
type Column struct {
	Name     string
	Type     string // declared type, e.g. VARCHAR(50)
	Nullable bool
}

// Table is a base table.
type Table struct {
	Schema, Name string
	Columns      []Column
}

// Tables lists the base tables of schema.
func (s *Store) Tables(ctx context.Context, schema string) ([]Table, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.schemas[schema] {
		return nil, nil
	}
	rows, err := s.conn.QueryContext(ctx, "SELECT name FROM "+QuoteIdent(schema)+".sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	out := make([]Table, 0, len(names))
	for _, n := range names {
		t := Table{Schema: schema, Name: n}
		cr, err := s.conn.QueryContext(ctx, "SELECT name, type, \"notnull\" FROM pragma_table_info(?, ?) ORDER BY cid", n, schema)
		if err != nil {
			return nil, err
		}
		for cr.Next() {
			var c Column
			var notNull int
			if err := cr.Scan(&c.Name, &c.Type, &notNull); err != nil {
				cr.Close()
				return nil, err
			}
			c.Nullable = notNull == 0
			t.Columns = append(t.Columns, c)
		}
		cr.Close()
		out = append(out, t)
	}
	return out, nil
}

// Table returns one base table.
func (s *Store) Table(ctx context.Context, schema, name string) (Table, bool) {
	ts, err := s.Tables(ctx, schema)
	if err != nil {
		return Table{}, false
	}
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// View is what a caller may read of one base table: some of its columns,
// and only the rows Filter (an SQL predicate over the base table, written
// by an administrator) keeps. An empty Filter keeps every row.
type View struct {
	Table   Table
	Columns []Column
	Filter  string
}

// Extra is a table the service builds itself for one caller (e.g. that
// person's own rows of sys_query_history).
type Extra struct {
	Schema  string // "" for the main schema
	Name    string
	Columns []Column
	Rows    [][]any
}

func isTimeType(t string) bool {
	t = strings.ToLower(t)
	return strings.HasPrefix(t, "timestamp") || strings.HasPrefix(t, "date") || strings.HasPrefix(t, "time")
}

func (s *Store) rows(ctx context.Context, v View) ([][]any, error) {
	cols := make([]string, len(v.Columns))
	for i, c := range v.Columns {
		cols[i] = QuoteIdent(c.Name)
		if isTimeType(c.Type) {
			cols[i] = "CAST(" + cols[i] + " AS TEXT)"
		}
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + QuoteIdent(v.Table.Schema) + "." + QuoteIdent(v.Table.Name)
	if v.Filter != "" {
		q += " WHERE " + v.Filter
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("evaluating the row filter of %s.%s: %w", v.Table.Schema, v.Table.Name, Translate(err))
	}
	defer rs.Close()
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rs.Err()
}

// Limits bound one query.
type Limits struct {
	MaxRows int // rows in the result (0: 100,000)
	// ColumnTypes names, in order, the declared type of result columns the
	// engine cannot name itself (e.g. a cast); "" leaves one to the engine.
	ColumnTypes []string
}

// ErrTooManyRows is returned when a result exceeds Limits.MaxRows.
var ErrTooManyRows = errors.New("ERROR: the result has more rows than the sandbox returns for one statement")

// Run runs one checked query (tokens of a single SELECT) in a fresh
// in-memory database that holds only views and extras, and returns its
// result. words substitutes unquoted words (current_user); args bind the
// query's parameters in order.
func (s *Store) Run(ctx context.Context, query []Token, words map[string]string, args []any, views []View, extras []Extra, lim Limits) (*Result, error) {
	if err := CheckQuery(query); err != nil {
		return nil, err
	}
	if lim.MaxRows <= 0 {
		lim.MaxRows = 100_000
	}
	db, err := sql.Open("sqlite", "file::memory:?"+dsnOptions)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for _, v := range views {
		rows, err := s.rows(ctx, v)
		if err != nil {
			return nil, err
		}
		if err := load(ctx, conn, v.Table.Schema, v.Table.Name, v.Columns, rows); err != nil {
			return nil, err
		}
	}
	for _, x := range extras {
		schema := x.Schema
		if schema == "" {
			schema = "main"
		}
		if err := load(ctx, conn, schema, x.Name, x.Columns, x.Rows); err != nil {
			return nil, err
		}
	}
	// From here the connection may only read: every other action the
	// engine presents (ATTACH, PRAGMA, writes, DDL, transactions) and the
	// functions that reach files or extensions are denied while the
	// statement compiles.
	if err := conn.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("the SQLite driver has no authorizer")
		}
		return r.RegisterAuthorizer(readOnly)
	}); err != nil {
		return nil, err
	}
	text, _ := Render(query, words)
	rs, err := conn.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, Translate(err)
	}
	defer rs.Close()
	return collect(rs, lim.MaxRows, lim.ColumnTypes)
}

func readOnly(action sqlite.AuthorizerActionCode, arg1, arg2, dbName, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthRecursive:
		return sqlite.AuthorizerOK
	case sqlite.AuthFunction:
		if forbiddenFuncs[strings.ToLower(arg2)] {
			return sqlite.AuthorizerDeny
		}
		return sqlite.AuthorizerOK
	}
	return sqlite.AuthorizerDeny
}

func load(ctx context.Context, conn *sql.Conn, schema, name string, cols []Column, rows [][]any) error {
	if schema != "main" {
		if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ':memory:' AS "+QuoteIdent(schema)); err != nil && !strings.Contains(err.Error(), "already in use") {
			return err
		}
	}
	defs := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = QuoteIdent(c.Name) + " " + c.Type
		marks[i] = "?"
	}
	full := QuoteIdent(schema) + "." + QuoteIdent(name)
	if _, err := conn.ExecContext(ctx, "CREATE TABLE "+full+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, "INSERT INTO "+full+" VALUES ("+strings.Join(marks, ", ")+")")
	if err != nil {
		tx.Rollback()
		return err
	}
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r...); err != nil {
			st.Close()
			tx.Rollback()
			return err
		}
	}
	st.Close()
	return tx.Commit()
}

// Insert appends rows to a base table in one transaction.
func (s *Store) Insert(ctx context.Context, schema, table string, cols []string, rows [][]any) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := make([]string, len(cols))
	names := make([]string, len(cols))
	for i, c := range cols {
		q[i], names[i] = "?", QuoteIdent(c)
	}
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	st, err := tx.PrepareContext(ctx, "INSERT INTO "+QuoteIdent(schema)+"."+QuoteIdent(table)+" ("+strings.Join(names, ", ")+") VALUES ("+strings.Join(q, ", ")+")")
	if err != nil {
		tx.Rollback()
		return 0, Translate(err)
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r...); err != nil {
			tx.Rollback()
			return 0, Translate(err)
		}
	}
	return int64(len(rows)), tx.Commit()
}
