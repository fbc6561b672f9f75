package quicksight

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/world"
)

// The user and group write operations change the live world (env.Change);
// the next GetIdentityContext or snapshot job sees them.

func init() {
	for _, r := range []struct {
		rt    route
		write bool
	}{
		{route{"POST", []string{"namespaces", "*", "users"}, "RegisterUser", (*Service).registerUser}, true},
		{route{"PUT", []string{"namespaces", "*", "users", "*"}, "UpdateUser", (*Service).updateUser}, true},
		{route{"DELETE", []string{"namespaces", "*", "users", "*"}, "DeleteUser", (*Service).deleteUser}, true},
		{route{"GET", []string{"namespaces", "*", "users", "*", "groups"}, "ListUserGroups", (*Service).listUserGroups}, false},
		{route{"POST", []string{"namespaces", "*", "groups"}, "CreateGroup", (*Service).createGroup}, true},
		{route{"GET", []string{"namespaces", "*", "groups"}, "ListGroups", (*Service).listGroups}, false},
		{route{"GET", []string{"namespaces", "*", "groups", "*"}, "DescribeGroup", (*Service).describeGroup}, false},
		{route{"PUT", []string{"namespaces", "*", "groups", "*", "members", "*"}, "CreateGroupMembership", (*Service).createMembership}, true},
		{route{"DELETE", []string{"namespaces", "*", "groups", "*", "members", "*"}, "DeleteGroupMembership", (*Service).deleteMembership}, true},
	} {
		routes = append(routes, r.rt)
		writeOps[r.rt.op] = r.write
	}
}

func exists(format string, a ...any) *awsproto.Error {
	return errorf(http.StatusConflict, "ResourceExistsException", format, a...)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// change authorizes action on resource and applies f to a copy of the
// world, then builds the reply from the installed state.
func (s *Service) change(c *call, action, resource string, f func(w *world.World, q *world.QuickSight) *awsproto.Error, build func() *reply) (*reply, *awsproto.Error) {
	if e := s.authorize(c, action, resource); e != nil {
		return nil, e
	}
	if e := s.Env.Change(func(w *world.World) *awsproto.Error { return f(w, &w.QuickSight) }); e != nil {
		return nil, e
	}
	var out *reply
	s.Env.Read(func() { out = build() })
	return out, nil
}

func qsUser(q *world.QuickSight, ns, name string) *world.QuickSightUser {
	for i := range q.Users {
		if q.Users[i].Namespace == ns && q.Users[i].UserName == name {
			return &q.Users[i]
		}
	}
	return nil
}

func qsGroup(q *world.QuickSight, ns, name string) *world.QuickSightGroup {
	for i := range q.Groups {
		if q.Groups[i].Namespace == ns && q.Groups[i].Name == name {
			return &q.Groups[i]
		}
	}
	return nil
}

func (s *Service) knownNamespace(ns string) *awsproto.Error {
	var e *awsproto.Error
	s.Env.Read(func() { _, e = s.namespaceOf(ns) })
	return e
}

func (s *Service) userArn(ns, name string) string {
	return world.QuickSightUserArn(s.State.Region, s.State.AccountID, ns, name)
}

func (s *Service) registerUser(c *call) (*reply, *awsproto.Error) {
	ns := c.seg[1]
	var req struct {
		IdentityType, Email, UserRole, IamArn, SessionName, UserName string
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, invalid("the request body is not valid JSON: %v", err)
	}
	switch {
	case !contains(world.QuickSightIdentityTypes, req.IdentityType):
		return nil, invalid("IdentityType must be one of %s", strings.Join(world.QuickSightIdentityTypes, ", "))
	case !contains(world.QuickSightRoles, req.UserRole):
		return nil, invalid("UserRole must be one of %s", strings.Join(world.QuickSightRoles, ", "))
	case req.Email == "":
		return nil, invalid("Email is required")
	}
	name := req.UserName
	if req.IdentityType == "IAM" {
		if req.IamArn == "" {
			return nil, invalid("IamArn is required for IdentityType IAM")
		}
		name = req.IamArn[strings.LastIndex(req.IamArn, "/")+1:]
		if strings.Contains(req.IamArn, ":role/") {
			if req.SessionName == "" {
				return nil, invalid("SessionName is required to register an IAM role")
			}
			name += "/" + req.SessionName
		}
	} else if name == "" {
		return nil, invalid("UserName is required for IdentityType %s", req.IdentityType)
	}
	if e := s.knownNamespace(ns); e != nil {
		return nil, e
	}
	return s.change(c, "RegisterUser", s.userArn(ns, name), func(w *world.World, q *world.QuickSight) *awsproto.Error {
		if qsUser(q, ns, name) != nil {
			return exists("User %s already exists in namespace %s", name, ns)
		}
		q.Users = append(q.Users, world.QuickSightUser{UserName: name, Email: req.Email, Namespace: ns, IdentityType: req.IdentityType,
			Role: req.UserRole, IAMArn: req.IamArn})
		return nil
	}, func() *reply {
		return &reply{status: http.StatusCreated, body: map[string]any{"User": userJSON(s.State.UserByName(ns, name))}}
	})
}

func (s *Service) updateUser(c *call) (*reply, *awsproto.Error) {
	ns, name := c.seg[1], c.seg[3]
	var req struct{ Email, Role string }
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, invalid("the request body is not valid JSON: %v", err)
	}
	if req.Email == "" || !contains(world.QuickSightRoles, req.Role) {
		return nil, invalid("Email and Role (one of %s) are required", strings.Join(world.QuickSightRoles, ", "))
	}
	return s.change(c, "UpdateUser", s.userArn(ns, name), func(w *world.World, q *world.QuickSight) *awsproto.Error {
		u := qsUser(q, ns, name)
		if u == nil {
			return notFound("USER", "User %s not found in namespace %s", awsproto.Truncate(name, 100), ns)
		}
		u.Email, u.Role = req.Email, req.Role
		return nil
	}, func() *reply { return ok(map[string]any{"User": userJSON(s.State.UserByName(ns, name))}) })
}

func (s *Service) deleteUser(c *call) (*reply, *awsproto.Error) {
	ns, name := c.seg[1], c.seg[3]
	return s.change(c, "DeleteUser", s.userArn(ns, name), func(w *world.World, q *world.QuickSight) *awsproto.Error {
		if qsUser(q, ns, name) == nil {
			return notFound("USER", "User %s not found in namespace %s", awsproto.Truncate(name, 100), ns)
		}
		q.Users = world.Remove(q.Users, func(u *world.QuickSightUser) bool { return u.Namespace == ns && u.UserName == name })
		for i := range q.Datasets {
			q.Datasets[i].RowLevelSecurity = world.Remove(q.Datasets[i].RowLevelSecurity, func(r *world.RLSRule) bool { return r.User == name })
		}
		for i := range q.Dashboards {
			db := &q.Dashboards[i]
			if ns != q.Namespace || len(db.Viewers)+len(db.Owners) == 0 {
				continue
			}
			db.Viewers = world.Remove(db.Viewers, func(v *string) bool { return *v == "user:"+name })
			db.Owners = world.Remove(db.Owners, func(v *string) bool { return *v == "user:"+name })
			db.Unshared = db.Unshared || len(db.Viewers)+len(db.Owners) == 0
		}
		return nil
	}, func() *reply { return ok(map[string]any{}) })
}

func groupJSON(g *Group) map[string]any {
	out := map[string]any{"Arn": g.Arn, "GroupName": g.Name, "PrincipalId": g.PrincipalID}
	if g.Description != "" {
		out["Description"] = g.Description
	}
	return out
}

func (s *Service) groupArn(ns, name string) string { return s.State.arn("group/%s/%s", ns, name) }

func (s *Service) createGroup(c *call) (*reply, *awsproto.Error) {
	ns := c.seg[1]
	var req struct{ GroupName, Description string }
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, invalid("the request body is not valid JSON: %v", err)
	}
	if req.GroupName == "" || len(req.GroupName) > 128 {
		return nil, invalid("GroupName must be 1 to 128 characters")
	}
	if e := s.knownNamespace(ns); e != nil {
		return nil, e
	}
	return s.change(c, "CreateGroup", s.groupArn(ns, req.GroupName), func(w *world.World, q *world.QuickSight) *awsproto.Error {
		if qsGroup(q, ns, req.GroupName) != nil {
			return exists("Group %s already exists in namespace %s", req.GroupName, ns)
		}
		q.Groups = append(q.Groups, world.QuickSightGroup{Name: req.GroupName, Namespace: ns, Description: req.Description})
		return nil
	}, func() *reply {
		return ok(map[string]any{"Group": groupJSON(s.State.Namespaces[ns].groups[req.GroupName])})
	})
}

func (s *Service) describeGroup(c *call) (*reply, *awsproto.Error) {
	ns, name := c.seg[1], c.seg[3]
	if e := s.authorize(c, "DescribeGroup", s.groupArn(ns, name)); e != nil {
		return nil, e
	}
	n, e := s.namespaceOf(ns)
	if e != nil {
		return nil, e
	}
	g := n.groups[name]
	if g == nil {
		return nil, notFound("GROUP", "Group %s not found in namespace %s", awsproto.Truncate(name, 100), ns)
	}
	return ok(map[string]any{"Group": groupJSON(g)}), nil
}

func groupList(c *call, kind string, groups []*Group) (*reply, *awsproto.Error) {
	start, end, next, e := page(c.r, kind, len(groups))
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, g := range groups[start:end] {
		list = append(list, groupJSON(g))
	}
	body := map[string]any{"GroupList": list}
	if next != "" {
		body["NextToken"] = next
	}
	return ok(body), nil
}

func (s *Service) listGroups(c *call) (*reply, *awsproto.Error) {
	ns := c.seg[1]
	if e := s.authorize(c, "ListGroups", s.State.arn("group/%s/*", ns)); e != nil {
		return nil, e
	}
	n, e := s.namespaceOf(ns)
	if e != nil {
		return nil, e
	}
	return groupList(c, "groups", n.Groups)
}

func (s *Service) listUserGroups(c *call) (*reply, *awsproto.Error) {
	ns, name := c.seg[1], c.seg[3]
	if e := s.authorize(c, "ListUserGroups", s.userArn(ns, name)); e != nil {
		return nil, e
	}
	u := s.State.UserByName(ns, name)
	if u == nil {
		return nil, notFound("USER", "User %s not found in namespace %s", awsproto.Truncate(name, 100), ns)
	}
	return groupList(c, "usergroups", u.Groups)
}

// membership applies f to the member user of a group, in a copy of the world.
func (s *Service) membership(c *call, action string, add bool) (*reply, *awsproto.Error) {
	ns, group, member := c.seg[1], c.seg[3], c.seg[5]
	return s.change(c, action, s.groupArn(ns, group), func(w *world.World, q *world.QuickSight) *awsproto.Error {
		if qsGroup(q, ns, group) == nil {
			return notFound("GROUP", "Group %s not found in namespace %s", awsproto.Truncate(group, 100), ns)
		}
		u := qsUser(q, ns, member)
		if u == nil {
			return notFound("USER", "User %s not found in namespace %s", awsproto.Truncate(member, 100), ns)
		}
		in := contains(u.Groups, group)
		switch {
		case add && !in:
			u.Groups = append(u.Groups, group)
		case !add && !in:
			return notFound("GROUP", "User %s is not a member of group %s", awsproto.Truncate(member, 100), group)
		case !add:
			u.Groups = world.Remove(u.Groups, func(g *string) bool { return *g == group })
		}
		return nil
	}, func() *reply {
		if !add {
			return ok(map[string]any{})
		}
		return ok(map[string]any{"GroupMember": map[string]any{"Arn": s.userArn(ns, member), "MemberName": member}})
	})
}

func (s *Service) createMembership(c *call) (*reply, *awsproto.Error) {
	return s.membership(c, "CreateGroupMembership", true)
}

func (s *Service) deleteMembership(c *call) (*reply, *awsproto.Error) {
	return s.membership(c, "DeleteGroupMembership", false)
}
