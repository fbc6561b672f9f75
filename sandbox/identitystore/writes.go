package identitystore

import (
	"encoding/json"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/world"
)

// The write operations change the live world (env.Change), as SCIM
// provisioning would; a membership takes effect in the next
// identity-enhanced session.

func (s *Service) writes() map[string]json11.Operation {
	return map[string]json11.Operation{
		"CreateUser":            s.createUser,
		"DeleteUser":            s.deleteUser,
		"CreateGroup":           s.createGroup,
		"DeleteGroup":           s.deleteGroup,
		"CreateGroupMembership": s.createMembership,
		"DeleteGroupMembership": s.deleteMembership,
	}
}

func (s *Service) reads() map[string]json11.Operation {
	return map[string]json11.Operation{
		"ListUsers":            s.listUsers,
		"ListGroups":           s.listGroups,
		"ListGroupMemberships": s.listMemberships,
		"GetGroupId":           s.getGroupID,
		"GetGroupMembershipId": s.getMembershipID,
		"IsMemberInGroups":     s.isMemberInGroups,
	}
}

// MembershipID is the id of a user's membership in a group.
func MembershipID(groupID, userID string) string {
	return world.StableUUID("membership", groupID, userID)
}

func conflict(format string, a ...any) *awsproto.Error {
	e := awsproto.Errorf(400, "ConflictException", format, a...)
	e.Fields = map[string]any{"Reason": "UNIQUENESS_CONSTRAINT_VIOLATION"}
	return e
}

func nonEmpty(member string, v *string, max int) *awsproto.Error {
	switch {
	case v == nil:
		return json11.Required(member)
	case strings.TrimSpace(*v) == "" || len(*v) > max:
		return json11.Validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length between 1 and %d", member, max)
	}
	return nil
}

func (s *Service) createUser(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		IdentityStoreId *string
		UserName        *string
		DisplayName     *string
		Name            *struct{ Formatted, FamilyName, GivenName, MiddleName, HonorificPrefix, HonorificSuffix *string }
		Emails          []struct {
			Value, Type *string
			Primary     *bool
		}
		Extra map[string]json.RawMessage `json:"-"`
	}
	if e := awsproto.DecodeJSON(c.Body, &req, "ValidationException"); e != nil {
		// Members the sandbox does not keep (addresses, phone numbers, …)
		// are accepted and ignored.
		if e2 := json.Unmarshal(c.Body, &req); e2 != nil {
			return nil, e
		}
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	if e := nonEmpty("userName", req.UserName, 128); e != nil {
		return nil, e
	}
	if e := nonEmpty("displayName", req.DisplayName, 1024); e != nil {
		return nil, e
	}
	email := ""
	for _, m := range req.Emails {
		if m.Value != nil && (email == "" || (m.Primary != nil && *m.Primary)) {
			email = *m.Value
		}
	}
	if email == "" {
		return nil, json11.Validation("the sandbox's identity store needs an email address for each user (Emails)")
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	u := world.IdCUser{UserName: *req.UserName, DisplayName: *req.DisplayName, Email: email}
	if n := req.Name; n != nil {
		u.GivenName, u.FamilyName = deref(n.GivenName), deref(n.FamilyName)
	}
	e := s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		for _, o := range ic.Users {
			if strings.EqualFold(o.UserName, u.UserName) {
				return conflict("A user named %s already exists in identity store %s", u.UserName, ic.IdentityStoreID)
			}
		}
		u.UserID = world.RandomUUID()
		ic.Users = append(ic.Users, u)
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]string{"IdentityStoreId": s.state.IdentityStoreID, "UserId": u.UserID}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// inUse refuses to delete a user or group that Access Grants grants name.
func inUse(w *world.World, grantee string) *awsproto.Error {
	for _, g := range w.S3.AccessGrants.Grants {
		if g.Grantee == grantee {
			e := conflict("%s is the grantee of Access Grants grant %s; delete the grant first", grantee, g.ID)
			e.Fields["Reason"] = "CONCURRENT_MODIFICATION"
			return e
		}
	}
	return nil
}

func (s *Service) deleteUser(c *json11.Call) (any, *awsproto.Error) {
	id, e := s.describedID(c, "userId")
	if e != nil {
		return nil, e
	}
	e = s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		u := ic.UserByID(id)
		if u == nil {
			return notFound("USER", id, "User %s does not exist in identity store %s", id, ic.IdentityStoreID)
		}
		name := u.UserName
		if e := inUse(w, "user:"+name); e != nil {
			return e
		}
		for i := range ic.Groups {
			ic.Groups[i].Members = world.Remove(ic.Groups[i].Members, func(m *string) bool { return *m == name })
		}
		for i := range ic.Applications {
			ic.Applications[i].Assignments = world.Remove(ic.Applications[i].Assignments, func(a *world.Assignment) bool {
				return a.PrincipalType == "USER" && a.Principal == name
			})
		}
		ic.Users = world.Remove(ic.Users, func(x *world.IdCUser) bool { return x.UserID == id })
		return nil
	})
	return map[string]any{}, e
}

func (s *Service) createGroup(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		IdentityStoreId *string
		DisplayName     *string
		Description     *string
	}
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	if e := nonEmpty("displayName", req.DisplayName, 1024); e != nil {
		return nil, e
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	g := world.IdCGroup{Name: *req.DisplayName, Description: deref(req.Description), Members: []string{}}
	e := s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		for _, o := range ic.Groups {
			if strings.EqualFold(o.Name, g.Name) {
				return conflict("A group named %s already exists in identity store %s", g.Name, ic.IdentityStoreID)
			}
		}
		g.GroupID = world.RandomUUID()
		ic.Groups = append(ic.Groups, g)
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]string{"IdentityStoreId": s.state.IdentityStoreID, "GroupId": g.GroupID}, nil
}

func (s *Service) deleteGroup(c *json11.Call) (any, *awsproto.Error) {
	id, e := s.describedID(c, "groupId")
	if e != nil {
		return nil, e
	}
	e = s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		g := ic.GroupByID(id)
		if g == nil {
			return notFound("GROUP", id, "Group %s does not exist in identity store %s", id, ic.IdentityStoreID)
		}
		name := g.Name
		if e := inUse(w, "group:"+name); e != nil {
			return e
		}
		for i := range ic.Applications {
			ic.Applications[i].Assignments = world.Remove(ic.Applications[i].Assignments, func(a *world.Assignment) bool {
				return a.PrincipalType == "GROUP" && a.Principal == name
			})
		}
		ic.Groups = world.Remove(ic.Groups, func(x *world.IdCGroup) bool { return x.GroupID == id })
		return nil
	})
	return map[string]any{}, e
}

type membershipRequest struct {
	IdentityStoreId *string
	GroupId         *string
	MemberId        *struct{ UserId *string }
}

func (s *Service) decodeMembership(c *json11.Call) (membershipRequest, *awsproto.Error) {
	var req membershipRequest
	if e := c.Decode(&req); e != nil {
		return req, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return req, e
	}
	if e := resourceID("groupId", req.GroupId); e != nil {
		return req, e
	}
	if req.MemberId == nil {
		return req, json11.Required("memberId")
	}
	if e := resourceID("memberId.userId", req.MemberId.UserId); e != nil {
		return req, e
	}
	return req, s.authorize(c)
}

func (s *Service) createMembership(c *json11.Call) (any, *awsproto.Error) {
	req, e := s.decodeMembership(c)
	if e != nil {
		return nil, e
	}
	gid, uid := *req.GroupId, *req.MemberId.UserId
	e = s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		g, u := ic.GroupByID(gid), ic.UserByID(uid)
		if g == nil {
			return notFound("GROUP", gid, "Group %s does not exist in identity store %s", gid, ic.IdentityStoreID)
		}
		if u == nil {
			return notFound("USER", uid, "User %s does not exist in identity store %s", uid, ic.IdentityStoreID)
		}
		if contains(g.Members, u.UserName) {
			return conflict("User %s is already a member of group %s", uid, gid)
		}
		g.Members = append(g.Members, u.UserName)
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]string{"IdentityStoreId": s.state.IdentityStoreID, "MembershipId": MembershipID(gid, uid)}, nil
}

func (s *Service) deleteMembership(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		IdentityStoreId *string
		MembershipId    *string
	}
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	if e := resourceID("membershipId", req.MembershipId); e != nil {
		return nil, e
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	id := *req.MembershipId
	e := s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		for i := range ic.Groups {
			g := &ic.Groups[i]
			for _, m := range g.Members {
				if u := ic.User(m); u != nil && MembershipID(g.GroupID, u.UserID) == id {
					g.Members = world.Remove(g.Members, func(x *string) bool { return *x == m })
					return nil
				}
			}
		}
		return notFound("GROUP_MEMBERSHIP", id, "Membership %s does not exist in identity store %s", id, ic.IdentityStoreID)
	})
	return map[string]any{}, e
}

func (s *Service) userOut(u *identitycenter.User) userOut {
	ts := float64(CreatedAt.Unix())
	name := map[string]string{"Formatted": u.DisplayName}
	if u.GivenName != "" {
		name["GivenName"] = u.GivenName
	}
	if u.FamilyName != "" {
		name["FamilyName"] = u.FamilyName
	}
	return userOut{IdentityStoreId: s.state.IdentityStoreID, UserId: u.UserID, UserName: u.UserName, DisplayName: u.DisplayName,
		Name: name, Emails: []email{{Value: u.Email, Type: "work", Primary: true}},
		ExternalIds: externalIDs(u.ExternalIDs), UserStatus: "ENABLED", CreatedAt: ts, UpdatedAt: ts}
}

type listRequest struct {
	IdentityStoreId *string
	GroupId         *string
	MaxResults      *int
	NextToken       *string
	Filters         []struct{ AttributePath, AttributeValue *string }
}

// decodeList decodes a list request, checks the store and its (deprecated)
// filter, which may only name the attribute path.
func (s *Service) decodeList(c *json11.Call, path string) (listRequest, string, *awsproto.Error) {
	var req listRequest
	if e := c.Decode(&req); e != nil {
		return req, "", e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return req, "", e
	}
	filter := ""
	for _, f := range req.Filters {
		if f.AttributePath == nil || f.AttributeValue == nil {
			return req, "", json11.Required("filters.member.attributePath")
		}
		if *f.AttributePath != path {
			return req, "", json11.Validation("the filter attribute path must be %s", path)
		}
		filter = *f.AttributeValue
	}
	return req, filter, s.authorize(c)
}

func (s *Service) listUsers(c *json11.Call) (any, *awsproto.Error) {
	req, filter, e := s.decodeList(c, "UserName")
	if e != nil {
		return nil, e
	}
	var all []userOut
	for _, u := range s.state.Users {
		if filter == "" || u.UserName == filter {
			all = append(all, s.userOut(u))
		}
	}
	page, next, e := json11.Page(c.Op, filter, all, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "Users", Items: page, Next: next}, nil
}

type groupOut struct {
	GroupId         string
	DisplayName     string
	Description     string `json:",omitempty"`
	IdentityStoreId string
	CreatedAt       float64
	UpdatedAt       float64
}

func (s *Service) groupOut(g *identitycenter.Group) groupOut {
	ts := float64(CreatedAt.Unix())
	return groupOut{GroupId: g.GroupID, DisplayName: g.Name, Description: g.Description, IdentityStoreId: s.state.IdentityStoreID, CreatedAt: ts, UpdatedAt: ts}
}

func (s *Service) listGroups(c *json11.Call) (any, *awsproto.Error) {
	req, filter, e := s.decodeList(c, "DisplayName")
	if e != nil {
		return nil, e
	}
	var all []groupOut
	for _, g := range s.state.Groups {
		if filter == "" || g.Name == filter {
			all = append(all, s.groupOut(g))
		}
	}
	page, next, e := json11.Page(c.Op, filter, all, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "Groups", Items: page, Next: next}, nil
}

func (s *Service) membershipOut(g *identitycenter.Group, u *identitycenter.User) membership {
	ts := float64(CreatedAt.Unix())
	return membership{IdentityStoreId: s.state.IdentityStoreID, MembershipId: MembershipID(g.GroupID, u.UserID), GroupId: g.GroupID,
		MemberId: memberID{UserId: u.UserID}, CreatedAt: ts, UpdatedAt: ts}
}

func (s *Service) group(id string) (*identitycenter.Group, *awsproto.Error) {
	g := s.state.GroupByID(id)
	if g == nil {
		return nil, notFound("GROUP", id, "Group %s does not exist in identity store %s", id, s.state.IdentityStoreID)
	}
	return g, nil
}

func (s *Service) listMemberships(c *json11.Call) (any, *awsproto.Error) {
	req, _, e := s.decodeList(c, "")
	if e != nil {
		return nil, e
	}
	if e := resourceID("groupId", req.GroupId); e != nil {
		return nil, e
	}
	g, e := s.group(*req.GroupId)
	if e != nil {
		return nil, e
	}
	page, next, e := json11.Page(c.Op, g.GroupID, g.Users, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	out := make([]membership, 0, len(page))
	for _, u := range page {
		out = append(out, s.membershipOut(g, u))
	}
	return json11.List{Member: "GroupMemberships", Items: out, Next: next}, nil
}

func (s *Service) getGroupID(c *json11.Call) (any, *awsproto.Error) {
	alt, e := s.alternateID(c)
	if e != nil {
		return nil, e
	}
	if alt.ExternalId != nil {
		return nil, notFound("GROUP", "", "No group in identity store %s has that external id", s.state.IdentityStoreID)
	}
	ua := alt.UniqueAttribute
	if ua.AttributePath == nil || *ua.AttributePath != "displayName" {
		return nil, json11.Validation("the unique attribute of groups is displayName")
	}
	var value string
	if err := json.Unmarshal(ua.AttributeValue, &value); err != nil {
		return nil, json11.Validation("the AttributeValue of displayName must be a string")
	}
	g := s.state.GroupByName(value)
	if g == nil {
		return nil, notFound("GROUP", "", "No group in identity store %s has displayName = %s", s.state.IdentityStoreID, awsproto.Truncate(value, 128))
	}
	return map[string]string{"IdentityStoreId": s.state.IdentityStoreID, "GroupId": g.GroupID}, nil
}

func (s *Service) getMembershipID(c *json11.Call) (any, *awsproto.Error) {
	req, e := s.decodeMembership(c)
	if e != nil {
		return nil, e
	}
	g, e := s.group(*req.GroupId)
	if e != nil {
		return nil, e
	}
	for _, u := range g.Users {
		if u.UserID == *req.MemberId.UserId {
			return map[string]string{"IdentityStoreId": s.state.IdentityStoreID, "MembershipId": MembershipID(g.GroupID, u.UserID)}, nil
		}
	}
	return nil, notFound("GROUP_MEMBERSHIP", "", "User %s is not a member of group %s", *req.MemberId.UserId, g.GroupID)
}

type memberResult struct {
	GroupId          string
	MemberId         memberID
	MembershipExists bool
}

func (s *Service) isMemberInGroups(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		IdentityStoreId *string
		MemberId        *struct{ UserId *string }
		GroupIds        []string
	}
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := s.store(req.IdentityStoreId); e != nil {
		return nil, e
	}
	if req.MemberId == nil {
		return nil, json11.Required("memberId")
	}
	if e := resourceID("memberId.userId", req.MemberId.UserId); e != nil {
		return nil, e
	}
	if len(req.GroupIds) < 1 || len(req.GroupIds) > 100 {
		return nil, json11.Validation("1 validation error detected: Value at 'groupIds' failed to satisfy constraint: Member must have length between 1 and 100")
	}
	for _, id := range req.GroupIds {
		if e := resourceID("groupIds.member", &id); e != nil {
			return nil, e
		}
	}
	if e := s.authorize(c); e != nil {
		return nil, e
	}
	u, e := s.user(*req.MemberId.UserId)
	if e != nil {
		return nil, e
	}
	out := make([]memberResult, 0, len(req.GroupIds))
	for _, id := range req.GroupIds {
		in := false
		for _, g := range u.Groups {
			in = in || g.GroupID == id
		}
		out = append(out, memberResult{GroupId: id, MemberId: memberID{UserId: u.UserID}, MembershipExists: in})
	}
	return map[string]any{"Results": out}, nil
}
