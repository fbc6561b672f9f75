package sandbox

import (
	"strings"

	"github.com/tipctl/tipctl/sandbox/access"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/glue"
	"github.com/tipctl/tipctl/sandbox/lakeformation"
)

// athenaTables: every Glue table, as Lake Formation's SELECT evaluation
// (the one Athena queries run under) lets the person read it.
type athenaTables struct {
	catalog *glue.Catalog
	lf      *lakeformation.State
}

func (a athenaTables) Resources() []string {
	var out []string
	for _, db := range a.catalog.Databases {
		for _, t := range db.Tables {
			out = append(out, "athena:"+db.Name+"."+t.Name)
		}
	}
	return out
}

func (a athenaTables) Evaluate(p *auth.Principal, res []string) []access.Cell {
	cells := make([]access.Cell, len(res))
	for i, r := range res {
		db, table, _ := strings.Cut(strings.TrimPrefix(r, "athena:"), ".")
		t, ok := a.catalog.Table(db, table)
		if !ok {
			continue
		}
		x := a.lf.Access(p, t)
		if !x.OK {
			cells[i] = access.Cell{Label: "no access", Via: "no Lake Formation grant gives the user or their groups SELECT on " + db + "." + table}
			continue
		}
		c := access.Cell{Allowed: true, Label: "all rows", Via: "Lake Formation " + strings.Join(x.Grants, "; ")}
		if x.Rows != "" {
			c.Label = "rows where " + x.Rows
		}
		if len(x.Columns) < len(t.Columns) {
			seen := map[string]bool{}
			for _, col := range x.Columns {
				seen[col] = true
			}
			var hidden []string
			for _, col := range t.Columns {
				if !seen[col.Name] {
					hidden = append(hidden, col.Name)
				}
			}
			c.Label += ", without " + strings.Join(hidden, ", ")
		}
		cells[i] = c
	}
	return cells
}
