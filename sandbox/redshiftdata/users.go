package redshiftdata

import "github.com/tipctl/tipctl/sandbox/sqlengine"

// Database users and groups (CREATE USER, CREATE GROUP, ALTER GROUP … ADD
// USER) and scoped permissions (GRANT … FOR TABLES IN SCHEMA), as seed
// 003's RBAC scripts write them. A group is a grantee like a role: GRANT …
// TO GROUP g, and its members hold what it holds.

func isUserStatement(st []sqlengine.Token) bool {
	c := &cursor{t: st}
	return c.accept("create", "user") || c.accept("drop", "user") || c.accept("create", "group") ||
		c.accept("drop", "group") || c.accept("alter", "group")
}

// users applies one user or group statement; the caller holds s.mu.
func (s *Security) users(c *cursor) error {
	switch {
	case c.accept("create", "user"):
		n, err := c.name()
		if err != nil {
			return err
		}
		if s.dbUsers[n] {
			return errf("ERROR: user %q already exists", n)
		}
		// PASSWORD '…' | DISABLE, CREATEDB, CONNECTION LIMIT n, …: the
		// sandbox keeps no password; nobody signs in as a database user.
		for !c.done() {
			c.i++
		}
		s.dbUsers[n] = true
		return nil
	case c.accept("drop", "user"):
		ifExists := c.accept("if", "exists")
		names, err := c.list(c.name)
		if err != nil {
			return err
		}
		for _, n := range names {
			if !s.dbUsers[n] && !ifExists {
				return errf("ERROR: user %q does not exist", n)
			}
		}
		for _, n := range names {
			delete(s.dbUsers, n)
			delete(s.members, userKey(n))
		}
		return c.end()
	case c.accept("create", "group"):
		g, err := c.name()
		if err != nil {
			return err
		}
		if s.roles[g] {
			return errf("ERROR: group %q already exists", g)
		}
		s.roles[g] = true
		c.accept("with")
		if c.accept("user") {
			return s.groupMembers(c, g, true)
		}
		return c.end()
	case c.accept("drop", "group"):
		g, err := c.name()
		if err != nil {
			return err
		}
		if !s.roles[g] {
			return errf("ERROR: group %q does not exist", g)
		}
		delete(s.roles, g)
		for _, m := range s.members {
			delete(m, g)
		}
		return c.end()
	case c.accept("alter", "group"):
		g, err := c.name()
		if err != nil {
			return err
		}
		if !s.roles[g] {
			return errf("ERROR: group %q does not exist", g)
		}
		switch {
		case c.accept("add", "user"):
			return s.groupMembers(c, g, true)
		case c.accept("drop", "user"):
			return s.groupMembers(c, g, false)
		}
		return c.errNear()
	}
	return c.errNear()
}

func (s *Security) groupMembers(c *cursor, g string, add bool) error {
	names, err := c.list(c.name)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !s.dbUsers[n] {
			return errf("ERROR: user %q does not exist", n)
		}
	}
	for _, n := range names {
		k := userKey(n)
		if s.members[k] == nil {
			s.members[k] = map[string]bool{}
		}
		if add {
			s.members[k][g] = true
		} else {
			delete(s.members[k], g)
		}
	}
	return c.end()
}

// scopedGrant runs GRANT privs FOR TABLES IN SCHEMA s TO … (and REVOKE …
// FROM …): the privileges hold on every table of the schema, those
// created later included. c stands after FOR.
func (s *Security) scopedGrant(c *cursor, privs []string, grant bool, to string) error {
	if !c.accept("tables", "in", "schema") {
		return c.errNear()
	}
	schemas, err := c.list(c.name)
	if err != nil {
		return err
	}
	gs, err := s.grantees(c, to)
	if err != nil {
		return err
	}
	for _, schema := range schemas {
		for _, g := range gs {
			p := slot(s.scoped, schema, g)
			for _, pr := range privs {
				switch pr {
				case "select":
					p.sel = grant
				case "all":
					p.sel = grant
					for _, d := range []string{"insert", "update", "delete", "drop", "alter", "truncate"} {
						p.dml[d] = grant
					}
				default:
					p.dml[pr] = grant
				}
			}
		}
	}
	return c.end()
}

// grantees reads TO (or FROM) grantee[, …] and checks that each exists.
func (s *Security) grantees(c *cursor, to string) ([]string, error) {
	if !c.accept(to) {
		return nil, c.errNear()
	}
	gs, err := c.list(c.grantee)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if err := s.checkGrantee(g); err != nil {
			return nil, err
		}
	}
	return gs, nil
}

// slot is the privilege of grantee g on object o in m, made when absent.
func slot(m map[string]map[string]*privilege, o, g string) *privilege {
	if m[o] == nil {
		m[o] = map[string]*privilege{}
	}
	p := m[o][g]
	if p == nil {
		p = &privilege{dml: map[string]bool{}}
		m[o][g] = p
	}
	return p
}
