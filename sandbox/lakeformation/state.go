// Package lakeformation is the sandbox's AWS Lake Formation: permissions on
// the Glue Data Catalog's databases, tables and columns, and data cells
// filters, granted to IAM principals and to IAM Identity Center users and
// groups (arn:aws:identitystore:::group/<id>). Access evaluates them for one
// caller and one table: whether they may SELECT, which columns and which
// rows; Athena applies the answer. The wire handlers (restJson1, POST
// /<Operation>) are in handlers.go.
package lakeformation

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/glue"
	"github.com/tipctl/tipctl/sandbox/sqlengine"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Resource kinds a grant is on.
const (
	KindDatabase         = "DATABASE"
	KindTable            = "TABLE"
	KindTableWithColumns = "TABLE_WITH_COLUMNS"
	KindDataCellsFilter  = "DATA_CELLS_FILTER"
)

// Grant is one principal's permissions on one resource.
type Grant struct {
	Principal string
	Kind      string
	Database  string
	// Table is empty with TableWildcard (every table of Database).
	Table         string
	TableWildcard bool
	// Columns, or every column but Excluded when ColumnWildcard.
	Columns        []string
	Excluded       []string
	ColumnWildcard bool
	Filter         string
	Perms          []string
	GrantOption    []string
	Updated        time.Time
	UpdatedBy      string
}

func (g *Grant) key() string {
	return strings.Join([]string{g.Principal, g.Kind, strings.ToLower(g.Database), strings.ToLower(g.Table), fmt.Sprint(g.TableWildcard),
		strings.Join(sorted(g.Columns), ","), strings.Join(sorted(g.Excluded), ","), fmt.Sprint(g.ColumnWildcard), g.Filter}, "|")
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Filter is a data cells filter.
type Filter struct {
	Database, Table, Name string
	// RowFilter is the predicate; empty with AllRows.
	RowFilter      string
	AllRows        bool
	Columns        []string
	Excluded       []string
	ColumnWildcard bool
	Version        string
	pred           string // rendered for the engine
}

// State is the account's Lake Formation permissions.
type State struct {
	Catalog *glue.Catalog
	account string

	mu      sync.RWMutex
	admins  map[string]bool
	grants  []*Grant
	filters []*Filter
	groups  map[string]string // Identity Center group name → id
	users   map[string]string // user name → id
}

// GroupPrincipal and UserPrincipal are Lake Formation's identifiers of
// Identity Center groups and users.
func GroupPrincipal(id string) string { return "arn:aws:identitystore:::group/" + id }

// UserPrincipal is the identifier of an Identity Center user.
func UserPrincipal(id string) string { return "arn:aws:identitystore:::user/" + id }

// NewState builds the world's permissions over catalog.
func NewState(w *world.World, catalog *glue.Catalog, now time.Time) (*State, error) {
	s := &State{Catalog: catalog, account: w.AccountID, admins: map[string]bool{}, groups: map[string]string{}, users: map[string]string{}}
	for _, g := range w.IdentityCenter.Groups {
		s.groups[g.Name] = g.GroupID
	}
	for _, u := range w.IdentityCenter.Users {
		s.users[u.UserName] = u.UserID
	}
	for _, a := range w.LakeFormation.Admins {
		s.admins[a] = true
	}
	lf := w.LakeFormation
	for _, f := range lf.DataCellsFilters {
		nf := &Filter{Database: f.Database, Table: f.Table, Name: f.Name, RowFilter: f.RowFilter, AllRows: f.RowFilter == "",
			Columns: f.Columns, Excluded: f.ExcludedColumns, ColumnWildcard: len(f.Columns) == 0}
		if err := s.addFilter(nf); err != nil {
			return nil, fmt.Errorf("lake_formation.data_cells_filters %s: %v", f.Name, err)
		}
	}
	for i, p := range lf.Permissions {
		principal, err := s.principal(p.Principal)
		if err != nil {
			return nil, fmt.Errorf("lake_formation.permissions[%d]: %v", i, err)
		}
		g := &Grant{Principal: principal, Database: p.Database, Table: p.Table, Perms: p.Permissions, GrantOption: p.GrantOption,
			TableWildcard: p.TableWildcard, Updated: now, UpdatedBy: "world"}
		switch {
		case p.DataCellsFilter != "":
			g.Kind, g.Filter = KindDataCellsFilter, p.DataCellsFilter
		case len(p.Columns) > 0 || len(p.ExcludedColumns) > 0 || p.ColumnWildcard:
			g.Kind, g.Columns, g.Excluded, g.ColumnWildcard = KindTableWithColumns, p.Columns, p.ExcludedColumns, p.ColumnWildcard || len(p.Columns) == 0
		case p.Table != "" || p.TableWildcard:
			g.Kind = KindTable
		default:
			g.Kind = KindDatabase
		}
		if err := s.check(g); err != nil {
			return nil, fmt.Errorf("lake_formation.permissions[%d]: %v", i, err)
		}
		s.grants = append(s.grants, g)
	}
	return s, nil
}

// principal turns group:NAME / user:NAME into Lake Formation's identifier.
func (s *State) principal(p string) (string, error) {
	if name, ok := strings.CutPrefix(p, "group:"); ok {
		id, found := s.groups[name]
		if !found {
			return "", fmt.Errorf("no Identity Center group %q", name)
		}
		return GroupPrincipal(id), nil
	}
	if name, ok := strings.CutPrefix(p, "user:"); ok {
		id, found := s.users[name]
		if !found {
			return "", fmt.Errorf("no Identity Center user %q", name)
		}
		return UserPrincipal(id), nil
	}
	if !strings.HasPrefix(p, "arn:") {
		return "", fmt.Errorf("principal %q must be group:NAME, user:NAME or an ARN", p)
	}
	return p, nil
}

var permissions = []string{"ALL", "SELECT", "ALTER", "DROP", "DELETE", "INSERT", "DESCRIBE", "CREATE_DATABASE", "CREATE_TABLE", "DATA_LOCATION_ACCESS"}

// check validates a grant against the catalog and its filters.
func (s *State) check(g *Grant) error {
	for _, p := range append(append([]string{}, g.Perms...), g.GrantOption...) {
		if !has(permissions, p) {
			return &InputError{Msg: fmt.Sprintf("Permission %s is not valid for the resource", p)}
		}
	}
	if _, ok := s.Catalog.Database(g.Database); !ok {
		return &NotFoundError{Msg: fmt.Sprintf("Database %s not found.", g.Database)}
	}
	if g.Kind == KindDatabase || g.TableWildcard {
		return nil
	}
	t, ok := s.Catalog.Table(g.Database, g.Table)
	if !ok {
		return &NotFoundError{Msg: fmt.Sprintf("Table %s not found.", g.Table)}
	}
	for _, c := range append(append([]string{}, g.Columns...), g.Excluded...) {
		if _, ok := t.Column(c); !ok {
			return &InputError{Msg: fmt.Sprintf("Column %s not found in table %s.", c, g.Table)}
		}
	}
	if g.Kind == KindTableWithColumns && !g.ColumnWildcard && len(g.Columns) == 0 {
		return &InputError{Msg: "Either ColumnNames or ColumnWildcard must be specified."}
	}
	if g.Kind == KindDataCellsFilter && s.filter(g.Database, g.Table, g.Filter) == nil {
		return &NotFoundError{Msg: fmt.Sprintf("Data cells filter %s not found.", g.Filter)}
	}
	return nil
}

// InputError is InvalidInputException; NotFoundError is EntityNotFoundException.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// NotFoundError is a missing database, table or filter.
type NotFoundError struct{ Msg string }

func (e *NotFoundError) Error() string { return e.Msg }

// AlreadyExistsError is a filter that exists.
type AlreadyExistsError struct{ Msg string }

func (e *AlreadyExistsError) Error() string { return e.Msg }

func (s *State) filter(db, table, name string) *Filter {
	for _, f := range s.filters {
		if strings.EqualFold(f.Database, db) && strings.EqualFold(f.Table, table) && f.Name == name {
			return f
		}
	}
	return nil
}

// rowPredicate checks a row filter expression and renders it for the
// engine: one boolean expression over the table's columns, nothing the
// engine's guard refuses.
func rowPredicate(t *glue.Table, expr string) (string, error) {
	toks, err := sqlengine.Lex(expr)
	if err != nil {
		return "", &InputError{Msg: "Invalid row filter expression: " + err.Error()}
	}
	if len(toks) == 0 {
		return "", &InputError{Msg: "Invalid row filter expression: it is empty"}
	}
	for _, tk := range toks {
		if tk.Kind == sqlengine.Semi || tk.Kind == sqlengine.Param {
			return "", &InputError{Msg: fmt.Sprintf("Invalid row filter expression: unexpected %q", tk.Text)}
		}
		if tk.Kind == sqlengine.Word && (tk.Text == "select" || tk.Text == "from") {
			return "", &InputError{Msg: "Invalid row filter expression: subqueries are not supported"}
		}
	}
	if err := sqlengine.CheckWords(toks); err != nil {
		return "", &InputError{Msg: "Invalid row filter expression: " + err.Error()}
	}
	text, _ := sqlengine.Render(toks, nil)
	return text, nil
}

func (s *State) addFilter(f *Filter) error {
	t, ok := s.Catalog.Table(f.Database, f.Table)
	if !ok {
		return &NotFoundError{Msg: fmt.Sprintf("Table %s not found.", f.Table)}
	}
	for _, c := range append(append([]string{}, f.Columns...), f.Excluded...) {
		if _, ok := t.Column(c); !ok {
			return &InputError{Msg: fmt.Sprintf("Column %s not found in table %s.", c, f.Table)}
		}
	}
	if !f.AllRows {
		pred, err := rowPredicate(t, f.RowFilter)
		if err != nil {
			return err
		}
		f.pred = pred
	}
	if s.filter(f.Database, f.Table, f.Name) != nil {
		return &AlreadyExistsError{Msg: fmt.Sprintf("Data cells filter %s already exists on table %s.%s.", f.Name, f.Database, f.Table)}
	}
	if f.Version == "" {
		f.Version = "0"
	}
	s.filters = append(s.filters, f)
	return nil
}

// IsAdmin reports whether p is a data lake administrator.
func (s *State) IsAdmin(p *auth.Principal) bool {
	if p.Admin {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.admins[p.Arn] || (p.RoleArn != "" && s.admins[p.RoleArn])
}

// Principals lists the Lake Formation identifiers p is evaluated as: an
// identity-enhanced session is the Identity Center user and their groups
// (trusted identity propagation); any other caller is its IAM role or user.
func (s *State) Principals(p *auth.Principal) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := p.Context; c != nil && c.Provider == auth.IdentityCenterProvider {
		out := []string{UserPrincipal(c.UserID)}
		for _, g := range c.Groups {
			id := g.ID
			if id == "" {
				id = s.groups[g.Name]
			}
			if id != "" {
				out = append(out, GroupPrincipal(id))
			}
		}
		return out
	}
	if p.RoleArn != "" {
		return []string{p.RoleArn}
	}
	return []string{p.Arn}
}
