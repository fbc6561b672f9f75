package quicksight

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Dashboard permissions: who owns and who views each dashboard (the
// world's owners and viewers), read with DescribeDashboardPermissions,
// changed with UpdateDashboardPermissions, and searched with
// SearchDashboards, as an application lists a person's dashboards.

func init() {
	for _, r := range []struct {
		rt    route
		write bool
	}{
		{route{"GET", []string{"dashboards", "*", "permissions"}, "DescribeDashboardPermissions", (*Service).describeDashboardPermissions}, false},
		{route{"PUT", []string{"dashboards", "*", "permissions"}, "UpdateDashboardPermissions", (*Service).updateDashboardPermissions}, true},
		{route{"POST", []string{"search", "dashboards"}, "SearchDashboards", (*Service).searchDashboards}, false},
	} {
		routes = append(routes, r.rt)
		writeOps[r.rt.op] = r.write
	}
}

// The action sets QuickSight grants on a dashboard: a viewer's, and an
// owner's (which includes the viewer's).
var (
	viewerActions = []string{"quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"}
	ownerActions  = append(slices.Clone(viewerActions), "quicksight:DescribeDashboardPermissions",
		"quicksight:UpdateDashboardPermissions", "quicksight:UpdateDashboard", "quicksight:DeleteDashboard",
		"quicksight:UpdateDashboardPublishedVersion")
)

// Permission is one principal's access to a dashboard.
type Permission struct {
	Kind  string // "user", "group" or "namespace"
	Name  string // user or group name; for a namespace, its name
	NS    string // the namespace of the user or group
	Owner bool   // owner (else viewer)
}

// entry is the permission's form in the world ("user:alice").
func (p Permission) entry() string { return p.Kind + ":" + p.Name }

// Covers reports whether the permission reaches u: it names u, one of
// u's groups, or u's namespace.
func (p Permission) Covers(u *User) bool {
	switch p.Kind {
	case "user":
		return u.Namespace == p.NS && u.UserName == p.Name
	case "group":
		return u.Namespace == p.NS && u.InGroup(p.Name)
	case "namespace":
		return u.Namespace == p.Name
	}
	return false
}

// Permissions are the dashboard's owners, then its viewers.
func (d *Dashboard) Permissions() []Permission {
	return permissionsOf(&d.QuickSightDashboard, d.Namespace)
}

// permissionsOf reads a world dashboard's permissions; one that states none
// (and was never unshared) is viewed by its whole namespace.
func permissionsOf(wd *world.QuickSightDashboard, ns string) []Permission {
	var out []Permission
	at := map[string]int{}
	add := func(e string, owner bool) {
		if i, ok := at[e]; ok {
			out[i].Owner = out[i].Owner || owner
			return
		}
		kind, name, _ := strings.Cut(e, ":")
		at[e] = len(out)
		out = append(out, Permission{Kind: kind, Name: name, NS: ns, Owner: owner})
	}
	for _, e := range wd.Owners {
		add(e, true)
	}
	for _, e := range wd.Viewers {
		add(e, false)
	}
	if len(out) == 0 && !wd.Unshared {
		out = append(out, Permission{Kind: "namespace", Name: ns, NS: ns})
	}
	return out
}

func (s *Service) principalArn(p Permission) string {
	switch p.Kind {
	case "user":
		return world.QuickSightUserArn(s.State.Region, s.State.AccountID, p.NS, p.Name)
	case "group":
		return s.State.arn("group/%s/%s", p.NS, p.Name)
	}
	return s.State.arn("namespace/%s", p.Name)
}

// parsePrincipal reads a user, group or namespace ARN of this account.
func (s *Service) parsePrincipal(arn string) (kind, ns, name string, ok bool) {
	rest, found := strings.CutPrefix(arn, s.State.arn(""))
	if !found {
		return "", "", "", false
	}
	kind, rest, _ = strings.Cut(rest, "/")
	switch kind {
	case "user", "group":
		ns, name, _ = strings.Cut(rest, "/")
		return kind, ns, name, ns != "" && name != ""
	case "namespace":
		return kind, rest, rest, rest != "" && !strings.Contains(rest, "/")
	}
	return "", "", "", false
}

func (s *Service) permissionsJSON(d *Dashboard) []map[string]any {
	out := []map[string]any{}
	for _, p := range d.Permissions() {
		acts := viewerActions
		if p.Owner {
			acts = ownerActions
		}
		out = append(out, map[string]any{"Principal": s.principalArn(p), "Actions": acts})
	}
	return out
}

func (s *Service) describeDashboardPermissions(c *call) (*reply, *awsproto.Error) {
	d, e := s.dashboard(c, "DescribeDashboardPermissions")
	if e != nil {
		return nil, e
	}
	return ok(map[string]any{"DashboardId": d.ID, "DashboardArn": d.Arn, "Permissions": s.permissionsJSON(d)}), nil
}

type resourcePermission struct {
	Principal string
	Actions   []string
}

// checkPermissions validates a GrantPermissions or RevokePermissions list.
func checkPermissions(field string, list []resourcePermission) *awsproto.Error {
	if len(list) > 100 {
		return invalid("%s holds at most 100 permissions", field)
	}
	for i, p := range list {
		if p.Principal == "" || len(p.Principal) > 256 {
			return invalid("%s[%d].Principal must be 1 to 256 characters", field, i)
		}
		if len(p.Actions) == 0 || len(p.Actions) > 20 {
			return invalid("%s[%d].Actions must hold 1 to 20 actions", field, i)
		}
		for _, a := range p.Actions {
			if !slices.Contains(ownerActions, a) {
				return invalid("%s[%d]: %q is not a dashboard action; dashboards take %s", field, i,
					awsproto.Truncate(a, 100), strings.Join(ownerActions, ", "))
			}
		}
	}
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (s *Service) updateDashboardPermissions(c *call) (*reply, *awsproto.Error) {
	id := c.seg[1]
	if !ValidJobID(id) {
		return nil, invalid("DashboardId %q may hold only letters, digits, _ and -", awsproto.Truncate(id, 100))
	}
	var req struct {
		GrantPermissions, RevokePermissions         []resourcePermission
		GrantLinkPermissions, RevokeLinkPermissions []json.RawMessage
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, invalid("the request body is not valid JSON: %v", err)
	}
	if len(req.GrantLinkPermissions)+len(req.RevokeLinkPermissions) > 0 {
		return nil, invalid("the sandbox does not emulate dashboard link sharing (GrantLinkPermissions, RevokeLinkPermissions)")
	}
	for _, f := range []struct {
		name string
		list []resourcePermission
	}{{"GrantPermissions", req.GrantPermissions}, {"RevokePermissions", req.RevokePermissions}} {
		if e := checkPermissions(f.name, f.list); e != nil {
			return nil, e
		}
	}
	return s.change(c, "UpdateDashboardPermissions", s.dashboardArn(id), func(w *world.World, q *world.QuickSight) *awsproto.Error {
		var wd *world.QuickSightDashboard
		for i := range q.Dashboards {
			if q.Dashboards[i].ID == id {
				wd = &q.Dashboards[i]
			}
		}
		if wd == nil {
			return notFound("", "Dashboard %s not found in account %s", id, s.State.AccountID)
		}
		ns := q.Namespace
		// Each principal's actions: the current ones, minus the revoked,
		// plus the granted.
		var order []string
		acts := map[string][]string{}
		for _, p := range permissionsOf(wd, ns) {
			order = append(order, p.entry())
			acts[p.entry()] = viewerActions
			if p.Owner {
				acts[p.entry()] = ownerActions
			}
		}
		readers := map[string]bool{}
		apply := func(list []resourcePermission, grant bool) *awsproto.Error {
			for _, rp := range list {
				kind, pns, name, ok := s.parsePrincipal(rp.Principal)
				switch {
				case !ok:
					return invalid("Principal %q is not the ARN of a QuickSight user, group or namespace of account %s", awsproto.Truncate(rp.Principal, 256), s.State.AccountID)
				case pns != ns:
					return invalid("Principal %s is not in namespace %s, where dashboards are shared", rp.Principal, ns)
				case kind == "user" && qsUser(q, ns, name) == nil, kind == "group" && qsGroup(q, ns, name) == nil:
					return invalid("Principal %s does not exist", rp.Principal)
				}
				if u := qsUser(q, ns, name); kind == "user" && u.Role == "READER" {
					readers[kind+":"+name] = true
				}
				e := kind + ":" + name
				if _, seen := acts[e]; !seen {
					order = append(order, e)
				}
				cur := acts[e]
				if grant {
					for _, a := range rp.Actions {
						if !slices.Contains(cur, a) {
							cur = append(slices.Clip(cur), a)
						}
					}
				} else {
					cur = slices.DeleteFunc(slices.Clone(cur), func(a string) bool { return slices.Contains(rp.Actions, a) })
				}
				acts[e] = cur
			}
			return nil
		}
		if e := apply(req.RevokePermissions, false); e != nil {
			return e
		}
		if e := apply(req.GrantPermissions, true); e != nil {
			return e
		}
		var owners, viewers []string
		for _, e := range order {
			a := acts[e]
			switch {
			case len(a) == 0:
			case sameSet(a, ownerActions):
				if readers[e] {
					return invalid("%s is a READER; only AUTHOR and ADMIN users can own a dashboard", e)
				}
				owners = append(owners, e)
			case sameSet(a, viewerActions):
				viewers = append(viewers, e)
			default:
				return invalid("%s would hold %s: a dashboard permission is the viewer actions (%s) or the owner actions (%s)",
					e, strings.Join(a, ", "), strings.Join(viewerActions, ", "), strings.Join(ownerActions, ", "))
			}
		}
		wd.Owners, wd.Viewers = owners, viewers
		wd.Unshared = len(owners)+len(viewers) == 0
		return nil
	}, func() *reply {
		d := s.State.Dashboard(id)
		return ok(map[string]any{"DashboardId": d.ID, "DashboardArn": d.Arn, "Permissions": s.permissionsJSON(d)})
	})
}

// Filters of SearchDashboards (botocore's DashboardFilterAttribute).
const (
	filterUser          = "QUICKSIGHT_USER" // the older name of QUICKSIGHT_VIEWER_OR_OWNER
	filterViewerOrOwner = "QUICKSIGHT_VIEWER_OR_OWNER"
	filterDirectViewer  = "DIRECT_QUICKSIGHT_VIEWER_OR_OWNER"
	filterOwner         = "QUICKSIGHT_OWNER"
	filterDirectOwner   = "DIRECT_QUICKSIGHT_OWNER"
	filterSoleOwner     = "DIRECT_QUICKSIGHT_SOLE_OWNER"
	filterName          = "DASHBOARD_NAME"
)

var dashboardFilters = []string{filterUser, filterViewerOrOwner, filterDirectViewer, filterOwner, filterDirectOwner, filterSoleOwner, filterName}

func (s *Service) searchDashboards(c *call) (*reply, *awsproto.Error) {
	var req struct {
		Filters []struct {
			Operator, Name, Value string
		}
		NextToken  string
		MaxResults *int
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return nil, invalid("the request body is not valid JSON: %v", err)
	}
	if len(req.Filters) != 1 {
		return nil, invalid("Filters must hold exactly one filter")
	}
	f := req.Filters[0]
	switch {
	case !slices.Contains(dashboardFilters, f.Name):
		return nil, invalid("Filters[0].Name must be one of %s", strings.Join(dashboardFilters, ", "))
	case f.Operator != "StringEquals" && f.Operator != "StringLike":
		return nil, invalid("Filters[0].Operator must be StringEquals or StringLike")
	case f.Operator == "StringLike" && f.Name != filterName:
		return nil, invalid("the StringLike operator takes only the name DASHBOARD_NAME; %s takes StringEquals and a user or group ARN", f.Name)
	case f.Operator == "StringEquals" && f.Name == filterName:
		return nil, invalid("DASHBOARD_NAME takes the StringLike operator")
	case f.Value == "" || len(f.Value) > 2048:
		return nil, invalid("Filters[0].Value must be 1 to 2048 characters")
	}
	limit := 100
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > 100 {
			return nil, invalid("MaxResults must be between 1 and 100")
		}
		limit = *req.MaxResults
	}
	if e := s.authorize(c, "SearchDashboards", s.dashboardArn("*")); e != nil {
		return nil, e
	}
	match, e := s.dashboardMatcher(f.Name, f.Value)
	if e != nil {
		return nil, e
	}
	var found []*Dashboard
	for _, d := range s.State.Dashboards {
		if match(d) {
			found = append(found, d)
		}
	}
	start, end, next, e := pageBounds("search", len(found), limit, req.NextToken)
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, d := range found[start:end] {
		list = append(list, dashboardSummary(d))
	}
	body := map[string]any{"DashboardSummaryList": list}
	if next != "" {
		body["NextToken"] = next
	}
	return ok(body), nil
}

// dashboardMatcher returns the test of one SearchDashboards filter.
func (s *Service) dashboardMatcher(name, value string) (func(*Dashboard) bool, *awsproto.Error) {
	if name == filterName {
		want := strings.ToLower(value)
		return func(d *Dashboard) bool { return strings.Contains(strings.ToLower(d.Name), want) }, nil
	}
	kind, ns, pname, ok := s.parsePrincipal(value)
	if !ok || kind == "namespace" {
		return nil, invalid("the Value of %s must be the ARN of a QuickSight user or group of account %s", name, s.State.AccountID)
	}
	// covers: the permission reaches the principal through groups and the
	// namespace too; names: it names the principal itself.
	var covers func(Permission) bool
	names := func(p Permission) bool { return p.Kind == kind && p.NS == ns && p.Name == pname }
	if kind == "user" {
		u := s.State.UserByName(ns, pname)
		if u == nil {
			return nil, notFound("USER", "User %s not found in namespace %s", awsproto.Truncate(pname, 100), awsproto.Truncate(ns, 64))
		}
		covers = func(p Permission) bool { return p.Covers(u) }
	} else {
		n := s.State.Namespaces[ns]
		if n == nil || n.groups[pname] == nil {
			return nil, notFound("GROUP", "Group %s not found in namespace %s", awsproto.Truncate(pname, 100), awsproto.Truncate(ns, 64))
		}
		covers = func(p Permission) bool { return names(p) || (p.Kind == "namespace" && p.Name == ns) }
	}
	has := func(d *Dashboard, ok func(Permission) bool) bool { return slices.ContainsFunc(d.Permissions(), ok) }
	switch name {
	case filterUser, filterViewerOrOwner:
		return func(d *Dashboard) bool { return has(d, covers) }, nil
	case filterDirectViewer:
		return func(d *Dashboard) bool { return has(d, names) }, nil
	case filterOwner:
		return func(d *Dashboard) bool { return has(d, func(p Permission) bool { return p.Owner && covers(p) }) }, nil
	case filterDirectOwner:
		return func(d *Dashboard) bool { return has(d, func(p Permission) bool { return p.Owner && names(p) }) }, nil
	}
	// DIRECT_QUICKSIGHT_SOLE_OWNER: the principal is the one owner.
	return func(d *Dashboard) bool {
		var owners []Permission
		for _, p := range d.Permissions() {
			if p.Owner {
				owners = append(owners, p)
			}
		}
		return len(owners) == 1 && names(owners[0])
	}, nil
}
