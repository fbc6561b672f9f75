package lakeformation

import (
	"sort"
	"time"

	"github.com/tipctl/tipctl/sandbox/world"
)

// World is the state as the world declares it: what a write stores, and
// what the sandbox exports and keeps across restarts.
func (s *State) World() world.LakeFormation {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out world.LakeFormation
	for a := range s.admins {
		out.Admins = append(out.Admins, a)
	}
	sort.Strings(out.Admins)
	for _, f := range s.filters {
		wf := world.LFDataCellsFilter{Name: f.Name, Database: f.Database, Table: f.Table, RowFilter: f.RowFilter}
		if f.ColumnWildcard {
			wf.ExcludedColumns = f.Excluded
		} else {
			wf.Columns = f.Columns
		}
		out.DataCellsFilters = append(out.DataCellsFilters, wf)
	}
	for _, g := range s.grants {
		p := world.LFPermission{Principal: g.Principal, Database: g.Database, Table: g.Table, TableWildcard: g.TableWildcard,
			Permissions: g.Perms, GrantOption: g.GrantOption}
		switch g.Kind {
		case KindTableWithColumns:
			p.ColumnWildcard, p.Columns, p.ExcludedColumns = g.ColumnWildcard, g.Columns, g.Excluded
		case KindDataCellsFilter:
			p.DataCellsFilter = g.Filter
		}
		out.Permissions = append(out.Permissions, p)
	}
	return out
}

// Reload rebuilds the state from a changed world (env.Reloader).
func (s *State) Reload(w *world.World) (func(), error) {
	ns, err := NewState(w, s.Catalog, time.Now())
	if err != nil {
		return nil, err
	}
	return func() {
		s.mu.Lock()
		s.admins, s.grants, s.filters, s.groups, s.users = ns.admins, ns.grants, ns.filters, ns.groups, ns.users
		s.mu.Unlock()
	}, nil
}
