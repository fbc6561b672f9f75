package sqlengine

import (
	"context"
	"strings"
	"testing"
)

func mustLex(t testing.TB, s string) []Token {
	t.Helper()
	toks, err := Lex(s)
	if err != nil {
		t.Fatalf("lex %q: %v", s, err)
	}
	return toks
}

func testStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := NewStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, q := range []string{
		`CREATE TABLE public.t (id INT, region VARCHAR(10), secret VARCHAR(20), amount DECIMAL(10,2), ts TIMESTAMP)`,
		`INSERT INTO public.t VALUES (1, 'EU', 's1', 10.50, '2025-01-02 03:04:05'), (2, 'US', 's2', 7, '2025-02-03 00:00:00'), (3, 'EU', 's3', 1.25, '2025-03-04 05:06:07')`,
	} {
		text, _ := Render(mustLex(t, q), nil)
		if _, err := s.Exec(ctx, text); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return s
}

func TestRunSeesOnlyTheView(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	tab, ok := s.Table(ctx, "public", "t")
	if !ok {
		t.Fatal("table t missing")
	}
	view := View{Table: tab, Columns: []Column{tab.Columns[0], tab.Columns[1], tab.Columns[3], tab.Columns[4]}, Filter: `region LIKE 'E%'`}
	res, err := s.Run(ctx, mustLex(t, "SELECT * FROM public.t ORDER BY id"), nil, nil, []View{view}, nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || len(res.Columns) != 4 {
		t.Fatalf("rows %v cols %v", res.Rows, res.Columns)
	}
	if res.Rows[0][3] != "2025-01-02 03:04:05" || res.Columns[2].Type != "DECIMAL(10, 2)" {
		t.Fatalf("values %#v types %v", res.Rows[0], res.Columns)
	}
	for _, q := range []string{"SELECT secret FROM t", "SELECT * FROM sqlite_master", "ATTACH DATABASE '/tmp/x' AS y",
		"SELECT load_extension('x')", "SELECT 1; SELECT 2", "DELETE FROM t", "SELECT * FROM nope"} {
		_, err := s.Run(ctx, mustLex(t, q), nil, nil, []View{view}, nil, Limits{})
		if err == nil || !strings.HasPrefix(err.Error(), "ERROR: ") {
			t.Errorf("%s: %v", q, err)
		} else {
			t.Logf("%s → %v", q, err)
		}
	}
}
