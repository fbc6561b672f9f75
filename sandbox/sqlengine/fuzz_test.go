package sqlengine

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// FuzzStatement: the lexer never panics; rendering what it read and lexing
// that again gives the same tokens (so what the guard inspected is what the
// engine runs); the Redshift rewriter never panics, and what it writes
// renders and lexes back the same and passes the guard whenever the input
// did; and whatever the guard lets through, rewritten, runs in a scratch
// database that holds only the view, never reading the hidden column.
func FuzzStatement(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM sales_data", `SELECT "secret" FROM "public"."t"`, "SELECT 1; DROP TABLE t",
		"WITH x AS (SELECT * FROM t) SELECT * FROM x UNION SELECT * FROM t", "SELECT /* c */ 1 -- x\n",
		"SELECT load_extension('a')", "ATTACH ':memory:' AS x", "select * from sqlite_master",
		"SELECT * FROM t WHERE region = :r", "SELECT 'it''s'", `SELECT "a""b"`, "SELECT x::int FROM t",
		"SELECT * FROM pragma_table_info('t')", "VALUES (1)", "/* /* nested */ */ SELECT 2",
		"SELECT region::varchar(1) FROM t WHERE region ILIKE 'eu'", "SELECT TOP 1 * FROM t", "SELECT * FROM (SELECT TOP 2 id FROM t) x",
		"SELECT * FROM t WHERE secret::text ILIKE '%hidden%'", "SELECT id FROM t WHERE id IN (SELECT id::int FROM t WHERE region NOT ILIKE 'us')",
		"SELECT CAST(id AS decimal(4,1)), extract(year FROM '2024-01-01'::date), nvl(secret, 'x') FROM t",
		"SELECT region FROM t WHERE region ~* '^e' OR secret !~ 'x'", "SELECT regexp_substr(secret, '[0-9]+') FROM t",
	} {
		f.Add(s)
	}
	ctx := context.Background()
	full := fuzzStore(f, `INSERT INTO public.t VALUES (1, 'EU', 'HIDDEN-1'), (2, 'US', 'HIDDEN-2'), (3, 'EU', 'HIDDEN-3')`)
	only := fuzzStore(f, `INSERT INTO public.t VALUES (1, 'EU', NULL), (3, 'EU', NULL)`)
	tab, _ := full.Table(ctx, "public", "t")
	filtered := View{Table: tab, Columns: tab.Columns[:2], Filter: `region = 'EU'`}
	plain := View{Table: tab, Columns: tab.Columns[:2]}
	f.Fuzz(func(t *testing.T, sql string) {
		toks, err := Lex(sql)
		if err != nil {
			return
		}
		text := Text(toks)
		again, err := Lex(text)
		if err != nil {
			t.Fatalf("rendered %q does not lex: %v", text, err)
		}
		for i := range toks {
			toks[i].Pos = 0
		}
		for i := range again {
			again[i].Pos = 0
		}
		if !reflect.DeepEqual(toks, again) {
			t.Fatalf("round trip changed %q → %q", sql, text)
		}
		rw, _, rerr := Redshift(toks)
		if rerr == nil {
			back, err := Lex(Text(rw))
			if err != nil {
				t.Fatalf("rewritten %q does not lex: %v", Text(rw), err)
			}
			for i := range back {
				back[i].Pos = 0
			}
			for i := range rw {
				rw[i].Pos = 0
			}
			if !reflect.DeepEqual(rw, back) {
				t.Fatalf("rewritten %q does not lex back the same", Text(rw))
			}
			if CheckQuery(toks) == nil && CheckQuery(rw) != nil {
				t.Fatalf("rewriting %q wrote something the guard refuses: %q", sql, Text(rw))
			}
		}
		if CheckQuery(toks) != nil || Names(toks)["random"] || Names(toks)["randomblob"] || Names(toks)["rs_getdate"] {
			return
		}
		if rerr == nil {
			toks = rw
		}
		var args []any
		for _, tk := range toks {
			if tk.Kind == Param {
				args = append(args, "EU")
			}
		}
		// Differential: the query over the filtered view of the full table
		// must answer exactly as over a table that only ever held the
		// permitted rows and columns.
		got, err1 := full.Run(ctx, toks, nil, args, []View{filtered}, nil, Limits{MaxRows: 1000})
		want, err2 := only.Run(ctx, toks, nil, args, []View{plain}, nil, Limits{MaxRows: 1000})
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%q: errors differ: %v / %v", sql, err1, err2)
		}
		if err1 != nil {
			return
		}
		if !reflect.DeepEqual(got.Rows, want.Rows) {
			t.Fatalf("%q reads outside the view: %v, want %v", sql, got.Rows, want.Rows)
		}
		for _, r := range got.Rows {
			for _, v := range r {
				if str, ok := v.(string); ok && strings.Contains(str, "HIDDEN") {
					t.Fatalf("%q read the hidden column: %v", sql, r)
				}
			}
		}
	})
}

func fuzzStore(f *testing.F, insert string) *Store {
	ctx := context.Background()
	s, err := NewStore(ctx)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	for _, q := range []string{`CREATE TABLE public.t (id INT, region VARCHAR(10), secret VARCHAR(20))`, insert} {
		if _, err := s.Exec(ctx, q); err != nil {
			f.Fatal(err)
		}
	}
	return s
}
