package redshiftdata

import (
	"sort"
	"strings"
	"sync"

	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// User is who runs a statement inside the database.
type User struct {
	Name string
	// Super users own every object and are granted IGNORE RLS.
	Super bool
	// Groups are roles the identity provider asserts (Identity Center groups
	// mapped to <namespace>:<group>); they count only if the role exists.
	Groups []string
}

// grantee keys: "u:name", "r:role", "public".
func userKey(n string) string { return "u:" + n }
func roleKey(n string) string { return "r:" + n }

const public = "public"

// privilege on one table for one grantee; cols nil means every column.
type privilege struct {
	sel  bool
	cols map[string]bool
	dml  map[string]bool
}

type policy struct {
	name string
	cols map[string]string // column → declared type
	pred []sqlengine.Token
}

type attachment struct{ policy, grantee string }

type tableSecurity struct {
	rlsOn bool
	or    bool // RLS CONJUNCTION TYPE OR
	att   []attachment
}

// Security is the database's roles, privileges and row-level security,
// kept apart from the engine, as Redshift keeps its catalog.
type Security struct {
	mu       sync.RWMutex
	roles    map[string]bool
	members  map[string]map[string]bool // grantee key → roles granted to it
	privs    map[string]map[string]*privilege
	policies map[string]*policy
	tables   map[string]*tableSecurity
	ignore   map[string]bool                  // grantee keys with IGNORE RLS
	dbUsers  map[string]bool                  // CREATE USER
	scoped   map[string]map[string]*privilege // schema → grantee → FOR TABLES IN SCHEMA privileges
}

func newSecurity() *Security {
	return &Security{roles: map[string]bool{}, members: map[string]map[string]bool{},
		privs: map[string]map[string]*privilege{}, policies: map[string]*policy{},
		tables: map[string]*tableSecurity{}, ignore: map[string]bool{}, dbUsers: map[string]bool{},
		scoped: map[string]map[string]*privilege{}}
}

// keys lists the grantee keys that apply to u: the user, PUBLIC, and every
// role reached from them (roles granted to roles included).
func (s *Security) keys(u User) []string {
	seen := map[string]bool{userKey(u.Name): true, public: true}
	queue := []string{userKey(u.Name), public}
	for _, g := range u.Groups {
		if s.roles[g] && !seen[roleKey(g)] {
			seen[roleKey(g)] = true
			queue = append(queue, roleKey(g))
		}
	}
	for i := 0; i < len(queue); i++ {
		for r := range s.members[queue[i]] {
			if k := roleKey(r); !seen[k] {
				seen[k] = true
				queue = append(queue, k)
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Roles lists the roles u holds.
func (s *Security) Roles(u User) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, k := range s.keys(u) {
		if r, ok := strings.CutPrefix(k, "r:"); ok {
			out = append(out, r)
		}
	}
	return out
}

// access is what u may read of table: ok is false without SELECT; cols nil
// means every column; filter is the row predicate ("" for all rows, "0"
// for none). The other fields say why, for the audit log and the console.
type access struct {
	ok     bool
	cols   map[string]bool
	filter string
	// via are the grantees whose SELECT privilege applied ("AWSIDC:emea-sales", "PUBLIC", ...).
	via []string
	// keys are the grantees that counted for u.
	keys []string
	rowSecurity
}

// rowSecurity is what a table's row-level security decided for a user:
// rls is true when it applied; policies are the policies combined (with
// conj, AND or OR); ignoredBy is the grantee whose IGNORE RLS exempted the
// user.
type rowSecurity struct {
	rls       bool
	policies  []string
	conj      string
	ignoredBy string
}

// granteeName prints a grantee key as Redshift names it.
func granteeName(k string) string {
	if k == public {
		return "PUBLIC"
	}
	return k[2:]
}

func names(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = granteeName(k)
	}
	return out
}

func (s *Security) access(u User, table string, words map[string]string) access {
	if u.Super {
		return access{ok: true, via: []string{"superuser " + u.Name}}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := s.keys(u)
	a := access{keys: names(keys)}
	all := false
	schema, _, _ := strings.Cut(table, ".")
	for _, k := range keys {
		if p := s.scoped[schema][k]; p != nil && p.sel {
			a.ok, all = true, true
			a.via = append(a.via, granteeName(k)+" (on all tables in schema "+schema+")")
		}
		p := s.privs[table][k]
		if p == nil || !p.sel {
			continue
		}
		a.ok = true
		a.via = append(a.via, granteeName(k))
		if p.cols == nil {
			all = true
			continue
		}
		if a.cols == nil {
			a.cols = map[string]bool{}
		}
		for c := range p.cols {
			a.cols[c] = true
		}
	}
	if all {
		a.cols = nil
	}
	if a.ok {
		a.filter, a.rowSecurity = s.rowsLocked(keys, table, words)
	}
	return a
}

// rowFilter is the row predicate row-level security sets for u on table,
// whatever u's privileges: a view's owner reads the table, but the rows
// are the ones the person querying the view may see.
func (s *Security) rowFilter(u User, table string, words map[string]string) string {
	if u.Super {
		return ""
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, _ := s.rowsLocked(s.keys(u), table, words)
	return f
}

// rowsLocked returns the row predicate for the grantees keys on table and
// what decided it.
func (s *Security) rowsLocked(keys []string, table string, words map[string]string) (string, rowSecurity) {
	ts := s.tables[table]
	if ts == nil || !ts.rlsOn {
		return "", rowSecurity{}
	}
	for _, k := range keys {
		if s.ignore[k] {
			return "", rowSecurity{ignoredBy: granteeName(k)}
		}
	}
	rs := rowSecurity{rls: true}
	// Every policy attached to the user, to PUBLIC or to one of their
	// roles applies; they combine with the table's conjunction type. With
	// RLS on and no policy for the user, no row is visible.
	set := map[string]bool{}
	for _, at := range ts.att {
		for _, k := range keys {
			if at.grantee == k {
				set[at.policy] = true
			}
		}
	}
	if len(set) == 0 {
		return "0", rs
	}
	pnames := make([]string, 0, len(set))
	for n := range set {
		pnames = append(pnames, n)
	}
	sort.Strings(pnames)
	rs.policies = pnames
	parts := make([]string, 0, len(pnames))
	for _, n := range pnames {
		pred, _, err := sqlengine.Redshift(s.policies[n].pred)
		if err != nil { // checked when the policy was created
			return "0", rs
		}
		text, _ := sqlengine.Render(pred, words)
		parts = append(parts, "("+text+")")
	}
	op := " AND "
	if ts.or {
		op = " OR "
	}
	rs.conj = strings.TrimSpace(op)
	return strings.Join(parts, op), rs
}
