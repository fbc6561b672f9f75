package redshiftdata

import (
	"errors"
	"sort"
	"strings"

	"github.com/tipctl/tipctl/sandbox/callctx"
)

// Decision kinds the Redshift Data API records (see callctx.Decision).
const (
	// KindPrivilege: the database user and its roles lack a privilege.
	KindPrivilege = "redshift-privilege"
	// KindRLS: row-level security kept only some rows (a callctx.Limit).
	KindRLS = "redshift-rls"
)

// denial is a statement refused by the database's own privilege check; it
// carries what decided, for the audit log.
type denial struct {
	msg string
	d   callctx.Decision
}

func (e *denial) Error() string { return e.msg }

// refuse returns Redshift's error text for a refusal, with its decision.
func refuse(msg, privilege, resource string, u User, reason string) error {
	return &denial{msg: msg, d: callctx.Decision{Kind: KindPrivilege, Action: privilege, Resource: resource, Policy: u.Name, Reason: reason}}
}

// decisionOf returns the decision behind a statement error, if it was a refusal.
func decisionOf(err error) *callctx.Decision {
	var dn *denial
	if errors.As(err, &dn) {
		d := dn.d
		return &d
	}
	return nil
}

// who names a database user and the roles that counted for it.
func who(u User, a access) string {
	roles := []string{}
	for _, k := range a.keys {
		if k != u.Name && k != "PUBLIC" {
			roles = append(roles, k)
		}
	}
	if len(roles) == 0 {
		return "database user " + u.Name + " (no role)"
	}
	return "database user " + u.Name + " (roles " + strings.Join(roles, ", ") + ")"
}

// noSelect explains a missing SELECT privilege on table.
func noSelect(u User, table string, a access) string {
	return who(u, a) + " has no SELECT privilege on " + table + " (granted neither to the user, to PUBLIC nor to one of its roles)"
}

// rowsReason explains what the table's row-level security kept for u.
func rowsReason(u User, table string, a access) string {
	switch {
	case a.filter == "0":
		return "row-level security is on for " + table + " and no policy is attached to " + who(u, a) + ": no row is visible"
	case len(a.policies) == 1:
		return "row-level security on " + table + " kept the rows of policy " + a.policies[0] + " USING " + a.filter + " for " + who(u, a)
	}
	return "row-level security on " + table + " kept the rows of policies " + strings.Join(a.policies, " "+a.conj+" ") + " (" + a.filter + ") for " + who(u, a)
}

// TableAccess is what a database user may read of one table, from the
// evaluation statements run under.
type TableAccess struct {
	Table string
	// Allowed is false without SELECT.
	Allowed bool
	// Rows is "all", "none", or the names of the RLS policies that filter.
	Rows string
	// Columns lists the readable columns when a column grant limits them.
	Columns []string
	// Why says which grants and policies decided.
	Why string
}

// Access evaluates what u may read of each base table of the database, as
// a SELECT would.
func (d *Database) Access(u User) []TableAccess {
	var out []TableAccess
	for _, schema := range d.store.Schemas() {
		for _, table := range d.tables(schema) {
			a := d.sec.access(u, table, wordsFor(u))
			ta := TableAccess{Table: table, Allowed: a.ok}
			switch {
			case !a.ok:
				ta.Rows, ta.Why = "none", noSelect(u, table, a)
			case a.ignoredBy != "":
				ta.Rows, ta.Why = "all", "SELECT via "+strings.Join(a.via, ", ")+"; IGNORE RLS via "+a.ignoredBy
			case a.rls && a.filter == "0":
				ta.Rows, ta.Why = "none", rowsReason(u, table, a)
			case a.rls:
				ta.Rows, ta.Why = strings.Join(a.policies, " "+a.conj+" "), "SELECT via "+strings.Join(a.via, ", ")+"; RLS "+strings.Join(a.policies, " "+a.conj+" ")+" USING "+a.filter
			default:
				ta.Rows, ta.Why = "all", "SELECT via "+strings.Join(a.via, ", ")
			}
			for c := range a.cols {
				ta.Columns = append(ta.Columns, c)
			}
			sort.Strings(ta.Columns)
			out = append(out, ta)
		}
	}
	return out
}
