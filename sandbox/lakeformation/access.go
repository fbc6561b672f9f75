package lakeformation

import (
	"sort"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/glue"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// Access is what one caller may read of one table.
type Access struct {
	// OK is false when no grant gives SELECT.
	OK bool
	// Columns are the visible columns in table order; Exprs gives, for a
	// column visible only in some rows, the engine expression that nulls
	// it elsewhere (CASE WHEN … THEN col END).
	Columns []string
	Exprs   map[string]string
	// Rows is the predicate of the visible rows ("" for every row).
	Rows string
	// Grants names the grants that decided, for the audit trail.
	Grants []string
}

// part is one grant's cells: the rows pred keeps ("" all) × cols.
type part struct {
	pred string
	cols map[string]bool
	name string
}

// Access evaluates the caller's SELECT on t. Lake Formation unions the
// cells every applicable grant gives: a table grant gives every cell, a
// column grant its columns in every row, a data cells filter its columns
// in the rows its row filter keeps.
func (s *State) Access(p *auth.Principal, t *glue.Table) Access {
	all := func(cols, excluded []string, wildcard bool) map[string]bool {
		m := map[string]bool{}
		for _, c := range t.Columns {
			if (wildcard && !has(excluded, c.Name)) || (!wildcard && has(cols, c.Name)) {
				m[c.Name] = true
			}
		}
		return m
	}
	if p.Admin {
		return Access{OK: true, Columns: names(t, all(nil, nil, true)), Grants: []string{"sandbox administrator"}}
	}
	principals := s.Principals(p)
	s.mu.RLock()
	var parts []part
	for _, g := range s.grants {
		if !has(principals, g.Principal) || !(has(g.Perms, "SELECT") || has(g.Perms, "ALL")) || !strings.EqualFold(g.Database, t.Database) {
			continue
		}
		if !g.TableWildcard && !strings.EqualFold(g.Table, t.Name) {
			continue
		}
		switch g.Kind {
		case KindTable:
			parts = append(parts, part{cols: all(nil, nil, true), name: "TABLE " + g.Principal})
		case KindTableWithColumns:
			parts = append(parts, part{cols: all(g.Columns, g.Excluded, g.ColumnWildcard), name: "TABLE_WITH_COLUMNS " + g.Principal})
		case KindDataCellsFilter:
			if f := s.filter(g.Database, g.Table, g.Filter); f != nil {
				parts = append(parts, part{pred: f.pred, cols: all(f.Columns, f.Excluded, f.ColumnWildcard), name: "DATA_CELLS_FILTER " + f.Name + " " + g.Principal})
			}
		}
	}
	s.mu.RUnlock()
	if len(parts) == 0 {
		return Access{}
	}
	a := Access{OK: true, Exprs: map[string]string{}}
	visible := map[string]bool{}
	var rowPreds []string
	allRows := false
	for _, pt := range parts {
		a.Grants = append(a.Grants, pt.name)
		for c := range pt.cols {
			visible[c] = true
		}
		if pt.pred == "" {
			allRows = true
		} else {
			rowPreds = append(rowPreds, "("+pt.pred+")")
		}
	}
	if !allRows {
		a.Rows = strings.Join(dedupe(rowPreds), " OR ")
	}
	a.Columns = names(t, visible)
	for _, c := range a.Columns {
		var preds []string
		whole := false
		for _, pt := range parts {
			if !pt.cols[c] {
				continue
			}
			if pt.pred == "" {
				whole = true
			}
			preds = append(preds, "("+pt.pred+")")
		}
		if cond := strings.Join(dedupe(preds), " OR "); !whole && cond != a.Rows {
			a.Exprs[c] = "CASE WHEN " + cond + " THEN " + sqlengine.QuoteIdent(c) + " END"
		}
	}
	return a
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func names(t *glue.Table, set map[string]bool) []string {
	var out []string
	for _, c := range t.Columns {
		if set[c.Name] {
			out = append(out, c.Name)
		}
	}
	return out
}

// Describable reports whether the caller holds any permission on t (or
// on its database, for t nil): what the catalog shows them.
func (s *State) Describable(p *auth.Principal, db string, t *glue.Table) bool {
	if p.Admin {
		return true
	}
	principals := s.Principals(p)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, g := range s.grants {
		if !has(principals, g.Principal) || !strings.EqualFold(g.Database, db) {
			continue
		}
		if t == nil || g.TableWildcard || strings.EqualFold(g.Table, t.Name) {
			return true
		}
	}
	return false
}

// Grant adds permissions (merged into an existing grant on the same
// resource).
func (s *State) Grant(g *Grant, now time.Time, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(g); err != nil {
		return err
	}
	g.Updated, g.UpdatedBy = now, by
	for _, old := range s.grants {
		if old.key() == g.key() {
			old.Perms = union(old.Perms, g.Perms)
			old.GrantOption = union(old.GrantOption, g.GrantOption)
			old.Updated, old.UpdatedBy = now, by
			return nil
		}
	}
	s.grants = append(s.grants, g)
	return nil
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, v := range b {
		if !has(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Revoke removes permissions from the grant on the same resource.
func (s *State) Revoke(g *Grant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.grants {
		if old.key() != g.key() {
			continue
		}
		var keep []string
		for _, p := range old.Perms {
			if !has(g.Perms, p) {
				keep = append(keep, p)
			}
		}
		var keepOpt []string
		for _, p := range old.GrantOption {
			if !has(g.GrantOption, p) && !has(g.Perms, p) {
				keepOpt = append(keepOpt, p)
			}
		}
		if len(keep) == 0 && len(keepOpt) == 0 {
			s.grants = append(s.grants[:i], s.grants[i+1:]...)
		} else {
			old.Perms, old.GrantOption = keep, keepOpt
		}
		return nil
	}
	return &InputError{Msg: "Grantee has no permissions and no grantable permissions on resource"}
}

// Grants lists the grants keep accepts, in grant order.
func (s *State) Grants(keep func(*Grant) bool) []Grant {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Grant
	for _, g := range s.grants {
		if keep(g) {
			out = append(out, *g)
		}
	}
	return out
}

// CreateFilter adds a data cells filter.
func (s *State) CreateFilter(f *Filter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addFilter(f)
}

// Filters lists the filters of a table (all tables when db is empty).
func (s *State) Filters(db, table string) []Filter {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Filter
	for _, f := range s.filters {
		if db == "" || (strings.EqualFold(f.Database, db) && (table == "" || strings.EqualFold(f.Table, table))) {
			out = append(out, *f)
		}
	}
	return out
}

// Filter finds one filter.
func (s *State) Filter(db, table, name string) (Filter, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if f := s.filter(db, table, name); f != nil {
		return *f, true
	}
	return Filter{}, false
}

// VisibleColumns are the columns of t the catalog shows the caller: those
// they may SELECT, or every column with DESCRIBE only; nil when the table
// is hidden from them.
func (s *State) VisibleColumns(p *auth.Principal, t *glue.Table) []string {
	if a := s.Access(p, t); a.OK {
		return a.Columns
	}
	if !s.Describable(p, t.Database, t) {
		return nil
	}
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}
