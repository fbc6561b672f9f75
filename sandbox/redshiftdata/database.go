package redshiftdata

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// Database is one Redshift database: base tables in the engine's store,
// and the security catalog the sandbox enforces.
type Database struct {
	Name    string
	store   *sqlengine.Store
	sec     *Security
	objects env.ObjectStore

	mu      sync.Mutex
	views   map[string]*view // "schema.name"
	history []historyRow
	queryID int64
}

type historyRow struct {
	user, text, status, errMsg string
	queryID                    int64
	start, end                 time.Time
	rows                       int64
	kind                       string
}

func newDatabase(ctx context.Context, name string, objects env.ObjectStore) (*Database, error) {
	st, err := sqlengine.NewStore(ctx)
	if err != nil {
		return nil, err
	}
	return &Database{Name: name, store: st, sec: newSecurity(), objects: objects, views: map[string]*view{}}, nil
}

// columns and tables make the database a catalog for security statements.
func (d *Database) columns(table string) []string {
	schema, name, _ := strings.Cut(table, ".")
	t, ok := d.store.Table(context.Background(), schema, name)
	if v := d.viewOf(table); v != nil {
		t, ok = sqlengine.Table{Columns: v.cols}, true
	}
	if !ok {
		return nil
	}
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

func (d *Database) tables(schema string) []string {
	ts, _ := d.store.Tables(context.Background(), schema)
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = schema + "." + t.Name
	}
	for _, v := range d.viewList(schema) {
		out = append(out, schema+"."+v.name)
	}
	return out
}

// Outcome is what one statement produced.
type Outcome struct {
	Result  *sqlengine.Result // nil for statements without a result set
	Changed int64
	// Limits say which row-level security shaped the result.
	Limits []callctx.Decision
}

// wordsFor are the session words a statement of u sees. USER is
// current_user (a reserved word in Redshift; the statements that name a
// user, CREATE USER and the like, never reach the engine).
func wordsFor(u User) map[string]string {
	return map[string]string{"current_user": sqlengine.QuoteString(u.Name), "session_user": sqlengine.QuoteString(u.Name),
		"user": sqlengine.QuoteString(u.Name)}
}

// maxHistory bounds sys_query_history.
const maxHistory = 10_000

// Run runs one statement (its tokens) as u, records it in
// sys_query_history, and returns its outcome or its SQL error.
func (d *Database) Run(ctx context.Context, u User, text string, st []sqlengine.Token, params map[string]string) (*Outcome, int64, error) {
	d.mu.Lock()
	d.queryID++
	qid := d.queryID
	d.mu.Unlock()
	start := time.Now()
	out, err := d.run(ctx, u, st, params)
	row := historyRow{user: u.Name, text: text, queryID: qid, start: start, end: time.Now(), status: "success", kind: kindOf(st)}
	if err != nil {
		row.status, row.errMsg = "failed", err.Error()
		if ctx.Err() != nil {
			row.status = "canceled"
		}
	} else if out.Result != nil {
		row.rows = int64(len(out.Result.Rows))
	} else {
		row.rows = out.Changed
	}
	d.mu.Lock()
	d.history = append(d.history, row)
	if len(d.history) > maxHistory {
		d.history = d.history[len(d.history)-maxHistory:]
	}
	d.mu.Unlock()
	return out, qid, err
}

func kindOf(st []sqlengine.Token) string {
	switch sqlengine.Classify(st) {
	case sqlengine.Query:
		return "SELECT"
	case sqlengine.Write:
		return strings.ToUpper(st[0].Text)
	case sqlengine.Define:
		return "DDL"
	}
	return "UTILITY"
}

func (d *Database) run(ctx context.Context, u User, st []sqlengine.Token, params map[string]string) (*Outcome, error) {
	if len(st) == 0 {
		return nil, errf("ERROR: the SQL text has no statement")
	}
	st, err := d.qualified(st)
	if err != nil {
		return nil, err
	}
	words := wordsFor(u)
	var args []any
	for _, t := range st {
		if t.Kind == sqlengine.Param {
			v, ok := params[t.Text]
			if !ok {
				return nil, errf("ERROR: parameter :%s has no value in Parameters", t.Text)
			}
			args = append(args, v)
		}
	}
	c := &cursor{t: st}
	switch {
	case isSecurityStatement(st):
		if !u.Super {
			what := strings.ToUpper(st[0].Text + " " + st[1].Text)
			return nil, refuse(fmt.Sprintf("ERROR: permission denied: only a superuser or sys:secadmin may run %s", what), what, "database "+d.Name, u,
				"database user "+u.Name+" is not a superuser and does not hold sys:secadmin")
		}
		return &Outcome{}, d.sec.apply(st, d)
	}
	// Everything else may reach the engine: no statement or function that
	// touches files, extensions or the connection.
	if err := sqlengine.CheckWords(st); err != nil {
		return nil, err
	}
	switch {
	case c.accept("copy"):
		return d.copy(ctx, u, c)
	case c.accept("create", "schema"):
		if !u.Super {
			return nil, refuse("ERROR: permission denied for database "+d.Name, "CREATE", "database "+d.Name, u,
				"database user "+u.Name+" has no CREATE privilege on database "+d.Name)
		}
		c.accept("if", "not", "exists")
		n, err := c.name()
		if err != nil {
			return nil, err
		}
		return &Outcome{}, d.store.CreateSchema(ctx, n)
	}
	switch sqlengine.Classify(st) {
	case sqlengine.Query:
		return d.query(ctx, u, st, words, args)
	case sqlengine.Write, sqlengine.Define:
		if !u.Super {
			kind := strings.ToUpper(st[0].Text)
			if t := d.firstTable(st); t != "" {
				return nil, refuse("ERROR: permission denied for relation "+t, kind, t, u,
					"database user "+u.Name+" may only read: the sandbox grants "+kind+" on tables to superusers only")
			}
			return nil, refuse("ERROR: permission denied for schema public", kind, "schema public", u,
				"database user "+u.Name+" has no CREATE privilege on schema public")
		}
		return d.admin(ctx, st, words, args)
	}
	return nil, errf("ERROR: syntax error at or near %q", st[0].Text)
}

// firstTable names the first existing table a statement mentions.
func (d *Database) firstTable(st []sqlengine.Token) string {
	for _, t := range st {
		if !t.Name() {
			continue
		}
		for _, s := range d.store.Schemas() {
			if d.columns(s+"."+t.Text) != nil {
				return t.Text
			}
		}
	}
	return ""
}

// admin runs a superuser's DDL or DML on the base tables.
func (d *Database) admin(ctx context.Context, st []sqlengine.Token, words map[string]string, args []any) (*Outcome, error) {
	c := &cursor{t: st}
	switch {
	case c.accept("create", "view"):
		return d.createView(ctx, c, false, words)
	case c.accept("create", "or", "replace", "view"):
		return d.createView(ctx, c, true, words)
	case c.accept("drop", "view"):
		return d.dropView(c)
	case c.accept("unload"):
		return nil, errf("ERROR: the sandbox does not support UNLOAD")
	case c.accept("create", "materialized"), c.accept("create", "function"), c.accept("create", "procedure"), c.accept("create", "external"):
		return nil, errf("ERROR: the sandbox does not support %s", strings.ToUpper(sqlengine.Text(st[:c.i])))
	case c.accept("create", "table"), c.accept("create", "temp", "table"), c.accept("create", "temporary", "table"):
		// Unqualified tables go to schema public, as search_path has it.
		c.accept("if", "not", "exists")
		if c.i+1 >= len(st) || !(st[c.i+1].Kind == sqlengine.Punct && st[c.i+1].Text == ".") {
			q := append([]sqlengine.Token{}, st[:c.i]...)
			q = append(q, sqlengine.Token{Kind: sqlengine.Quoted, Text: "public"}, sqlengine.Token{Kind: sqlengine.Punct, Text: "."})
			st = append(q, st[c.i:]...)
		}
		st = stripTableAttributes(st)
	case c.accept("drop", "table"):
		c.accept("if", "exists")
		if t, err := c.table(); err == nil && d.isView(t) {
			return nil, errf("ERROR: %q is not a table", t[strings.Index(t, ".")+1:])
		}
	case c.accept("truncate"):
		c.accept("table")
		st = append([]sqlengine.Token{{Kind: sqlengine.Word, Text: "delete"}, {Kind: sqlengine.Word, Text: "from"}}, st[c.i:]...)
	}
	st, _, err := sqlengine.Redshift(st)
	if err != nil {
		return nil, err
	}
	text, _ := sqlengine.Render(st, words)
	n, err := d.store.Exec(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	return &Outcome{Changed: n}, nil
}

// stripTableAttributes drops Redshift's table attributes (DISTSTYLE,
// DISTKEY, SORTKEY, ENCODE, BACKUP) and column attributes (ENCODE x,
// DISTKEY, SORTKEY) that the engine does not know.
func stripTableAttributes(st []sqlengine.Token) []sqlengine.Token {
	depth := 0
	out := make([]sqlengine.Token, 0, len(st))
	for i := 0; i < len(st); i++ {
		t := st[i]
		if depth == 1 && (t.Is("distkey") || t.Is("sortkey")) {
			continue
		}
		if depth == 1 && t.Is("encode") && i+1 < len(st) && st[i+1].Kind == sqlengine.Word {
			i++
			continue
		}
		out = append(out, t)
		if t.Kind == sqlengine.Punct && t.Text == "(" {
			depth++
		} else if t.Kind == sqlengine.Punct && t.Text == ")" {
			depth--
			if depth == 0 {
				return out
			}
		}
	}
	return out
}

// qualified drops this database's name from three-part names
// (dev.public.sales_data) and answers current_database(); a three-part
// name in another database fails as Redshift fails it.
func (d *Database) qualified(st []sqlengine.Token) ([]sqlengine.Token, error) {
	dot := func(i int) bool {
		return i < len(st) && st[i].Kind == sqlengine.Punct && st[i].Text == "."
	}
	out := make([]sqlengine.Token, 0, len(st))
	for i := 0; i < len(st); i++ {
		t := st[i]
		if t.Name() && !(i > 0 && dot(i-1)) && dot(i+1) && i+4 < len(st) &&
			st[i+2].Name() && dot(i+3) && st[i+4].Name() && d.store.HasSchema(st[i+2].Text) && !d.store.HasSchema(t.Text) {
			if t.Text != d.Name {
				return nil, errf("ERROR: database %q does not exist", t.Text)
			}
			i++ // the name and its dot
			continue
		}
		if t.Is("current_database") && i+2 < len(st) && st[i+1].Kind == sqlengine.Punct && st[i+1].Text == "(" &&
			st[i+2].Kind == sqlengine.Punct && st[i+2].Text == ")" {
			out = append(out, sqlengine.Token{Kind: sqlengine.String, Text: d.Name, Pos: t.Pos})
			i += 2
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func (d *Database) copy(ctx context.Context, u User, c *cursor) (*Outcome, error) {
	table, err := c.table()
	if err != nil {
		return nil, err
	}
	schema, name, _ := strings.Cut(table, ".")
	if !u.Super {
		return nil, refuse("ERROR: permission denied for relation "+name, "COPY", table, u,
			"database user "+u.Name+" has no INSERT privilege on "+table+" (COPY loads as the table's owner or a superuser)")
	}
	t, ok := d.store.Table(ctx, schema, name)
	if !ok {
		return nil, errf("ERROR: relation %q does not exist", name)
	}
	cols := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		cols[i] = col.Name
	}
	if !c.done() && c.t[c.i].Kind == sqlengine.Punct && c.t[c.i].Text == "(" {
		inner, err := c.parens()
		if err != nil {
			return nil, err
		}
		ic := &cursor{t: inner}
		if cols, err = ic.list(ic.name); err != nil {
			return nil, err
		}
	}
	if !c.accept("from") || c.done() || c.t[c.i].Kind != sqlengine.String {
		return nil, c.errNear()
	}
	src := c.t[c.i].Text
	c.i++
	delim, skip := byte('|'), 0
	for !c.done() {
		switch {
		case c.accept("csv"), c.accept("format", "as", "csv"), c.accept("format", "csv"):
			if delim == '|' {
				delim = ','
			}
		case c.accept("ignoreheader"):
			c.accept("as")
			if c.done() || c.t[c.i].Kind != sqlengine.Number {
				return nil, c.errNear()
			}
			skip, _ = strconv.Atoi(c.t[c.i].Text)
			c.i++
		case c.accept("delimiter"):
			c.accept("as")
			if c.done() || c.t[c.i].Kind != sqlengine.String || len(c.t[c.i].Text) != 1 {
				return nil, c.errNear()
			}
			delim = c.t[c.i].Text[0]
			c.i++
		default: // IAM_ROLE default|'arn', TIMEFORMAT 'auto', REGION '…', …: accepted
			c.i++
		}
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(src, "s3://"), "/")
	if !strings.HasPrefix(src, "s3://") || !ok || d.objects == nil {
		return nil, errf("ERROR: COPY reads only s3://bucket/key locations in the sandbox, not %q", src)
	}
	body, err := d.objects.GetObject(bucket, key)
	if err != nil {
		return nil, errf("ERROR: S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey,Rid sandbox (s3://%s/%s)", bucket, key)
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = rune(delim)
	r.FieldsPerRecord = len(cols)
	var rows [][]any
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errf("ERROR: Load into table '%s' failed. Check 'sys_load_error_detail' system table for details. (line %d: %v)", name, line, err)
		}
		if line <= skip {
			continue
		}
		row := make([]any, len(rec))
		for i, v := range rec {
			if v == "" {
				row[i] = nil
			} else {
				row[i] = v
			}
		}
		rows = append(rows, row)
	}
	n, err := d.store.Insert(ctx, schema, name, cols, rows)
	if err != nil {
		return nil, err
	}
	return &Outcome{Changed: n}, nil
}
