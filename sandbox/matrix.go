package sandbox

import (
	"sort"
	"strings"

	"github.com/tipctl/tipctl/sandbox/access"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/glue"
	"github.com/tipctl/tipctl/sandbox/lakeformation"
	"github.com/tipctl/tipctl/sandbox/qbusiness"
	"github.com/tipctl/tipctl/sandbox/quicksight"
	"github.com/tipctl/tipctl/sandbox/redshiftdata"
	"github.com/tipctl/tipctl/sandbox/s3control"
)

// The console's matrix columns, one provider per service. Each evaluates
// with the service's own code: S3 Access Grants matching (GetDataAccess),
// QuickSight dashboard viewers (snapshot jobs), Redshift privileges and
// row-level security (a SELECT), Q Business document ACLs (ChatSync).

// grantPrefixes: the S3 prefixes Access Grants give to directory users and groups.
type grantPrefixes struct{ h *s3control.Handler }

func (g grantPrefixes) Resources() []string {
	seen := map[string]bool{}
	var out []string
	for _, gr := range g.h.State.Grants {
		if gr.GranteeType == s3control.IAMGrantee {
			continue
		}
		if p := strings.TrimSuffix(gr.Scope, "*"); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (g grantPrefixes) Evaluate(p *auth.Principal, res []string) []access.Cell {
	cells := make([]access.Cell, len(res))
	for i, prefix := range res {
		t, e := s3control.ParseTarget(prefix+"*", "")
		if e != nil {
			continue
		}
		gr, e := g.h.State.Match(p, t, s3control.Read)
		if e != nil {
			cells[i].Via = "no access grant for the user or their groups"
			continue
		}
		cells[i] = access.Cell{Allowed: true, Via: "access grant " + gr.Grantee + " " + gr.Permission + " " + gr.Scope}
	}
	return cells
}

// dashboards: QuickSight dashboards, as the person's QuickSight user sees them.
type dashboards struct{ s *quicksight.Service }

func (d dashboards) Resources() []string {
	out := make([]string, 0, len(d.s.State.Dashboards))
	for _, db := range d.s.State.Dashboards {
		out = append(out, "quicksight:dashboard/"+db.ID)
	}
	return out
}

func (d dashboards) Evaluate(p *auth.Principal, res []string) []access.Cell {
	cells := make([]access.Cell, len(res))
	qu := d.s.State.UserForEmail(p.Context.Email)
	for i, r := range res {
		db := d.s.State.Dashboard(strings.TrimPrefix(r, "quicksight:dashboard/"))
		switch {
		case db == nil:
		case qu == nil:
			cells[i].Via = "no QuickSight user has the email " + p.Context.Email
		case !db.CanView(qu):
			cells[i].Via = "no permission covers QuickSight user " + qu.UserName + " (permissions: " + db.PermissionSummary() + ")"
		default:
			cells[i] = access.Cell{Allowed: true, Via: "QuickSight user " + qu.UserName + " (permissions: " + db.PermissionSummary() + ")"}
		}
	}
	return cells
}

// redshiftTables: every base table of every workgroup database, as the
// person's database user (<namespace>:<user>, roles <namespace>:<group>)
// would read it with SELECT.
type redshiftTables struct{ s *redshiftdata.Service }

func (r redshiftTables) Resources() []string {
	var out []string
	for _, wg := range r.s.Workgroups() {
		dbs, err := wg.Databases()
		if err != nil {
			continue
		}
		for _, name := range sortedNames(dbs) {
			for _, a := range dbs[name].Access(redshiftdata.Superuser) {
				out = append(out, "redshift:"+wg.Name+"/"+name+"/"+a.Table)
			}
		}
	}
	return out
}

func (r redshiftTables) Evaluate(p *auth.Principal, res []string) []access.Cell {
	u := r.s.UserOf(p)
	got := map[string]access.Cell{}
	for _, wg := range r.s.Workgroups() {
		dbs, err := wg.Databases()
		if err != nil {
			continue
		}
		for name, db := range dbs {
			for _, a := range db.Access(u) {
				c := access.Cell{Allowed: a.Allowed && a.Rows != "none", Via: a.Why, Label: "no access"}
				switch {
				case a.Allowed && a.Rows == "none":
					c.Label = "no rows (RLS)"
				case c.Allowed && a.Rows == "all":
					c.Label = "all rows"
				case c.Allowed:
					c.Label = "RLS " + a.Rows + " rows"
				}
				if len(a.Columns) > 0 {
					c.Label += ", columns " + strings.Join(a.Columns, ", ")
				}
				got["redshift:"+wg.Name+"/"+name+"/"+a.Table] = c
			}
		}
	}
	cells := make([]access.Cell, len(res))
	for i, k := range res {
		cells[i] = got[k]
	}
	return cells
}

// qbusinessDocuments: every indexed document, as ChatSync's ACL check lets
// the person see it.
type qbusinessDocuments struct{ s *qbusiness.Service }

func (q qbusinessDocuments) Resources() []string {
	var out []string
	for _, a := range q.s.Applications() {
		for _, d := range a.Documents {
			out = append(out, "qbusiness:"+a.Name+"/"+d.ID)
		}
	}
	return out
}

func (q qbusinessDocuments) Evaluate(p *auth.Principal, res []string) []access.Cell {
	pr, ok := qbusiness.PersonOf(p)
	got := map[string]access.Cell{}
	for _, a := range q.s.Applications() {
		for _, d := range a.Documents {
			c := access.Cell{}
			if why := pr.Why(d); ok && why != "" {
				c = access.Cell{Allowed: true, Label: "ACL " + why, Via: "document ACL: " + why}
			} else {
				c.Via = "ACL names " + aclEntries(d.Users, d.Groups)
			}
			got["qbusiness:"+a.Name+"/"+d.ID] = c
		}
	}
	cells := make([]access.Cell, len(res))
	for i, k := range res {
		cells[i] = got[k]
	}
	return cells
}

func aclEntries(users, groups []string) string {
	var parts []string
	for _, u := range users {
		parts = append(parts, "user "+u)
	}
	for _, g := range groups {
		parts = append(parts, "group "+g)
	}
	if len(parts) == 0 {
		return "no one"
	}
	return strings.Join(parts, ", ")
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// matrixProviders are the columns of the services this sandbox runs.
func (s *Sandbox) matrixProviders() []access.Provider {
	var ps []access.Provider
	if h, ok := s.handlers[SvcS3Control].(*s3control.Handler); ok {
		ps = append(ps, grantPrefixes{h})
	}
	if qs, ok := s.handlers[SvcQuickSight].(*quicksight.Service); ok {
		ps = append(ps, dashboards{qs})
	}
	if h, ok := s.handlers[SvcRedshiftData].(*redshiftdata.Handler); ok {
		ps = append(ps, redshiftTables{h.State})
	}
	if h, ok := s.handlers[SvcQBusiness].(*qbusiness.Handler); ok {
		ps = append(ps, qbusinessDocuments{h.State})
	}
	g, gok := s.handlers[SvcGlue].(*glue.Handler)
	lf, lok := s.handlers[SvcLakeFormation].(*lakeformation.Handler)
	if gok && lok {
		ps = append(ps, athenaTables{g.Catalog, lf.State})
	}
	return ps
}
