package access_test

import (
	"testing"

	"github.com/tipctl/tipctl/sandbox/access"
	"github.com/tipctl/tipctl/sandbox/auth"
)

type fixed struct {
	res   []string
	cells func(p *auth.Principal) []access.Cell
}

func (f fixed) Resources() []string { return f.res }
func (f fixed) Evaluate(p *auth.Principal, _ []string) []access.Cell {
	return f.cells(p)
}

func TestBuildConcatenatesProvidersAndKeepsColumnsAligned(t *testing.T) {
	a := fixed{res: []string{"a1", "a2"}, cells: func(p *auth.Principal) []access.Cell {
		return []access.Cell{{Allowed: p.Arn == "x", Via: "a1"}, {Allowed: true, Via: "a2"}}
	}}
	broken := fixed{res: []string{"b1"}, cells: func(*auth.Principal) []access.Cell { return nil }}
	c := fixed{res: []string{"c1"}, cells: func(*auth.Principal) []access.Cell { return []access.Cell{{Allowed: true, Via: "c1"}} }}
	m := access.Build([]access.Person{{Label: "x", Session: &auth.Principal{Arn: "x"}}, {Label: "y", Session: &auth.Principal{Arn: "y"}}}, a, broken, c)
	if len(m.Resources) != 4 || m.Resources[3] != "c1" || len(m.Rows) != 2 {
		t.Fatalf("%+v", m)
	}
	for _, r := range m.Rows {
		if len(r.Cells) != 4 || r.Cells[3].Via != "c1" || r.Cells[2].Allowed {
			t.Fatalf("row %s: %+v", r.Person, r.Cells)
		}
	}
	if !m.Rows[0].Cells[0].Allowed || m.Rows[1].Cells[0].Allowed {
		t.Fatalf("cells do not follow the person: %+v", m.Rows)
	}
}
