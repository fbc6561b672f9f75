package redshiftdata

import (
	"fmt"
	"strings"

	"github.com/tipctl/tipctl/sandbox/sqlengine"
)

// cursor walks the tokens of one statement.
type cursor struct {
	t []sqlengine.Token
	i int
}

func (c *cursor) done() bool { return c.i >= len(c.t) }

func (c *cursor) peek(w string) bool { return !c.done() && c.t[c.i].Is(w) }

func (c *cursor) accept(ws ...string) bool {
	if c.i+len(ws) > len(c.t) {
		return false
	}
	for k, w := range ws {
		if !c.t[c.i+k].Is(w) {
			return false
		}
	}
	c.i += len(ws)
	return true
}

func (c *cursor) punct(p string) bool {
	if !c.done() && c.t[c.i].Kind == sqlengine.Punct && c.t[c.i].Text == p {
		c.i++
		return true
	}
	return false
}

func (c *cursor) errNear() error {
	if c.done() {
		return errf("ERROR: syntax error at end of input")
	}
	t := c.t[c.i]
	return errf("ERROR: syntax error at or near %q", t.Text)
}

func (c *cursor) name() (string, error) {
	if c.done() || !c.t[c.i].Name() {
		return "", c.errNear()
	}
	c.i++
	return c.t[c.i-1].Text, nil
}

// table reads [schema.]table and returns "schema.table".
func (c *cursor) table() (string, error) {
	a, err := c.name()
	if err != nil {
		return "", err
	}
	if c.punct(".") {
		b, err := c.name()
		if err != nil {
			return "", err
		}
		return a + "." + b, nil
	}
	return "public." + a, nil
}

// parens returns the tokens inside a balanced ( … ).
func (c *cursor) parens() ([]sqlengine.Token, error) {
	if !c.punct("(") {
		return nil, c.errNear()
	}
	start, depth := c.i, 1
	for !c.done() {
		t := c.t[c.i]
		c.i++
		if t.Kind == sqlengine.Punct && t.Text == "(" {
			depth++
		} else if t.Kind == sqlengine.Punct && t.Text == ")" {
			depth--
			if depth == 0 {
				return c.t[start : c.i-1], nil
			}
		}
	}
	return nil, errf("ERROR: syntax error at end of input")
}

// grantee reads ROLE r | GROUP g | PUBLIC | user.
func (c *cursor) grantee() (string, error) {
	switch {
	case c.accept("role"), c.accept("group"):
		n, err := c.name()
		return roleKey(n), err
	case c.accept("public"):
		return public, nil
	}
	n, err := c.name()
	return userKey(n), err
}

func (c *cursor) list(read func() (string, error)) ([]string, error) {
	var out []string
	for {
		v, err := read()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if !c.punct(",") {
			return out, nil
		}
	}
}

func (c *cursor) end() error {
	if !c.done() {
		return c.errNear()
	}
	return nil
}

// sqlError is a statement failure with Redshift's text.
type sqlError struct{ msg string }

func (e *sqlError) Error() string { return e.msg }

func errf(format string, a ...any) error { return &sqlError{msg: fmt.Sprintf(format, a...)} }

// catalog is what security statements need to know of the tables.
type catalog interface {
	columns(table string) []string // nil when the table (or view) does not exist
	tables(schema string) []string // tables and views
}

// isSecurityStatement tells the statements the sandbox runs itself.
func isSecurityStatement(st []sqlengine.Token) bool {
	c := &cursor{t: st}
	return c.accept("create", "role") || c.accept("drop", "role") || c.accept("create", "rls") ||
		c.accept("drop", "rls") || c.accept("attach", "rls") || c.accept("detach", "rls") ||
		c.accept("grant") || c.accept("revoke") || isAlterRLS(st) || isUserStatement(st)
}

func isAlterRLS(st []sqlengine.Token) bool {
	c := &cursor{t: st}
	if !c.accept("alter", "table") {
		return false
	}
	if _, err := c.table(); err != nil {
		return false
	}
	return c.accept("row", "level", "security")
}

// apply runs one security statement; cat knows the tables
// (nil when it does not exist).
func (s *Security) apply(st []sqlengine.Token, cat catalog) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &cursor{t: st}
	if isUserStatement(st) {
		return s.users(c)
	}
	switch {
	case c.accept("create", "role"):
		n, err := c.name()
		if err != nil {
			return err
		}
		if s.roles[n] {
			return errf("ERROR: role %q already exists", n)
		}
		s.roles[n] = true
		return c.end()
	case c.accept("drop", "role"):
		n, err := c.name()
		if err != nil {
			return err
		}
		if !s.roles[n] {
			return errf("ERROR: role %q does not exist", n)
		}
		delete(s.roles, n)
		for _, m := range s.members {
			delete(m, n)
		}
		return nil
	case c.accept("create", "rls", "policy"):
		return s.createPolicy(c)
	case c.accept("drop", "rls", "policy"):
		ifExists := c.accept("if", "exists")
		n, err := c.name()
		if err != nil {
			return err
		}
		if s.policies[n] == nil {
			if ifExists {
				return nil
			}
			return errf("ERROR: policy %q does not exist", n)
		}
		cascade := c.accept("cascade")
		for t, ts := range s.tables {
			for _, a := range ts.att {
				if a.policy == n && !cascade {
					return errf("ERROR: cannot drop RLS policy %q because it is attached to relation %q", n, t)
				}
			}
			ts.att = without(ts.att, func(a attachment) bool { return a.policy == n })
		}
		delete(s.policies, n)
		return nil
	case c.accept("attach", "rls", "policy"), c.accept("detach", "rls", "policy"):
		return s.attach(c, st[0].Is("attach"), cat)
	case c.accept("alter", "table"):
		t, err := c.table()
		if err != nil {
			return err
		}
		if cat.columns(t) == nil {
			return errf("ERROR: relation %q does not exist", t[strings.Index(t, ".")+1:])
		}
		c.accept("row", "level", "security")
		ts := s.table(t)
		switch {
		case c.accept("on"):
			ts.rlsOn = true
		case c.accept("off"):
			ts.rlsOn = false
		default:
			return c.errNear()
		}
		if c.accept("conjunction", "type") {
			switch {
			case c.accept("and"):
				ts.or = false
			case c.accept("or"):
				ts.or = true
			default:
				return c.errNear()
			}
		}
		c.accept("for", "datashares")
		return c.end()
	case c.accept("grant"):
		return s.grant(c, true, cat)
	case c.accept("revoke"):
		return s.grant(c, false, cat)
	}
	return c.errNear()
}

func (s *Security) table(t string) *tableSecurity {
	ts := s.tables[t]
	if ts == nil {
		ts = &tableSecurity{}
		s.tables[t] = ts
	}
	return ts
}

func without(in []attachment, drop func(attachment) bool) []attachment {
	out := in[:0]
	for _, a := range in {
		if !drop(a) {
			out = append(out, a)
		}
	}
	return out
}

func (s *Security) createPolicy(c *cursor) error {
	n, err := c.name()
	if err != nil {
		return err
	}
	if s.policies[n] != nil {
		return errf("ERROR: policy %q already exists", n)
	}
	p := &policy{name: n, cols: map[string]string{}}
	if c.accept("with") {
		inner, err := c.parens()
		if err != nil {
			return err
		}
		ic := &cursor{t: inner}
		for !ic.done() {
			col, err := ic.name()
			if err != nil {
				return err
			}
			typ, err := ic.name()
			if err != nil {
				return err
			}
			if ic.peek("precision") || ic.peek("varying") {
				ic.i++
			}
			if !ic.done() && ic.t[ic.i].Kind == sqlengine.Punct && ic.t[ic.i].Text == "(" {
				if _, err := ic.parens(); err != nil {
					return err
				}
			}
			p.cols[col] = typ
			if !ic.punct(",") && !ic.done() {
				return ic.errNear()
			}
		}
		if c.accept("as") {
			if _, err := c.name(); err != nil {
				return err
			}
		}
	}
	if !c.accept("using") {
		return c.errNear()
	}
	pred, err := c.parens()
	if err != nil {
		return err
	}
	if len(pred) == 0 {
		return errf("ERROR: syntax error at or near \")\"")
	}
	if err := sqlengine.CheckWords(pred); err != nil {
		return err
	}
	if _, _, err := sqlengine.Redshift(pred); err != nil {
		return err
	}
	p.pred = pred
	s.policies[n] = p
	return c.end()
}

func (s *Security) attach(c *cursor, attach bool, cat catalog) error {
	n, err := c.name()
	if err != nil {
		return err
	}
	p := s.policies[n]
	if p == nil {
		return errf("ERROR: policy %q does not exist", n)
	}
	if !c.accept("on") {
		return c.errNear()
	}
	c.accept("table")
	tables, err := c.list(c.table)
	if err != nil {
		return err
	}
	if !(attach && c.accept("to")) && !(!attach && c.accept("from")) {
		return c.errNear()
	}
	grantees, err := c.list(c.grantee)
	if err != nil {
		return err
	}
	for _, t := range tables {
		cols := cat.columns(t)
		if cols == nil {
			return errf("ERROR: relation %q does not exist", t[strings.Index(t, ".")+1:])
		}
		have := map[string]bool{}
		for _, col := range cols {
			have[col] = true
		}
		for col := range p.cols {
			if !have[col] {
				return errf("ERROR: column %q does not exist in relation %q", col, t[strings.Index(t, ".")+1:])
			}
		}
	}
	for _, g := range grantees {
		if r, ok := strings.CutPrefix(g, "r:"); ok && !s.roles[r] {
			return errf("ERROR: role %q does not exist", r)
		}
	}
	for _, t := range tables {
		ts := s.table(t)
		for _, g := range grantees {
			ts.att = without(ts.att, func(a attachment) bool { return a.policy == n && a.grantee == g })
			if attach {
				ts.att = append(ts.att, attachment{policy: n, grantee: g})
			}
		}
	}
	return c.end()
}

func (s *Security) grant(c *cursor, grant bool, cat catalog) error {
	to := "to"
	if !grant {
		to = "from"
	}
	switch {
	case c.accept("ignore", "rls"):
		if !c.accept(to) {
			return c.errNear()
		}
		gs, err := c.list(c.grantee)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if err := s.checkGrantee(g); err != nil {
				return err
			}
			s.ignore[g] = grant
		}
		return c.end()
	case c.accept("role"):
		r, err := c.name()
		if err != nil {
			return err
		}
		if !s.roles[r] {
			return errf("ERROR: role %q does not exist", r)
		}
		if !c.accept(to) {
			return c.errNear()
		}
		gs, err := c.list(c.grantee)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if err := s.checkGrantee(g); err != nil {
				return err
			}
			if s.members[g] == nil {
				s.members[g] = map[string]bool{}
			}
			if grant {
				s.members[g][r] = true
			} else {
				delete(s.members[g], r)
			}
		}
		return c.end()
	}
	// Privileges on tables or schemas.
	var privs []string
	var cols []string
	for {
		w, err := c.name()
		if err != nil {
			return err
		}
		if w == "all" {
			c.accept("privileges")
		}
		privs = append(privs, w)
		if !c.done() && c.t[c.i].Kind == sqlengine.Punct && c.t[c.i].Text == "(" {
			inner, err := c.parens()
			if err != nil {
				return err
			}
			ic := &cursor{t: inner}
			if cols, err = ic.list(ic.name); err != nil {
				return err
			}
		}
		if !c.punct(",") {
			break
		}
	}
	if c.accept("for") {
		return s.scopedGrant(c, privs, grant, to)
	}
	if !c.accept("on") {
		return c.errNear()
	}
	var tables []string
	switch {
	case c.accept("schema"), c.accept("database"):
		if _, err := c.list(c.name); err != nil {
			return err
		}
		if !c.accept(to) {
			return c.errNear()
		}
		_, err := c.list(c.grantee)
		return err // schema and database privileges: usage is not enforced
	case c.accept("all", "tables", "in", "schema"):
		schema, err := c.name()
		if err != nil {
			return err
		}
		tables = cat.tables(schema)
	default:
		c.accept("table")
		var err error
		if tables, err = c.list(c.table); err != nil {
			return err
		}
	}
	for _, t := range tables {
		if cat.columns(t) == nil {
			return errf("ERROR: relation %q does not exist", t[strings.Index(t, ".")+1:])
		}
	}
	gs, err := s.grantees(c, to)
	if err != nil {
		return err
	}
	for _, t := range tables {
		for _, g := range gs {
			p := slot(s.privs, t, g)
			for _, pr := range privs {
				switch pr {
				case "select", "all":
					if cols == nil {
						p.sel, p.cols = grant, nil
					} else if grant {
						if !p.sel || p.cols != nil {
							if p.cols == nil {
								p.cols = map[string]bool{}
							}
							for _, col := range cols {
								p.cols[col] = true
							}
						}
						p.sel = true
					} else if p.cols != nil {
						for _, col := range cols {
							delete(p.cols, col)
						}
						p.sel = len(p.cols) > 0
					}
					if pr == "all" {
						for _, d := range []string{"insert", "update", "delete"} {
							p.dml[d] = grant
						}
					}
				default:
					p.dml[pr] = grant
				}
			}
		}
	}
	return c.end()
}

func (s *Security) checkGrantee(g string) error {
	if r, ok := strings.CutPrefix(g, "r:"); ok && !s.roles[r] {
		return errf("ERROR: role %q does not exist", r)
	}
	return nil
}
