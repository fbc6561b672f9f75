package quicksight

import (
	"context"
	"strings"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
)

// Decision kinds QuickSight records (see callctx.Decision).
const (
	KindDashboardPermissions = "quicksight-dashboard-permissions"
	KindIdentity             = "quicksight-identity"
	KindJobOwner             = "quicksight-snapshot-job-owner"
	KindAccount              = "quicksight-account"
	KindIdentityAware        = "identity-aware-operations"
)

// deny records what refused the call (kind, resource, the policy or object
// that decided, and the reason) and returns the refusal e.
func deny(ctx context.Context, kind, resource, policy, reason string, e *awsproto.Error) *awsproto.Error {
	action := ""
	if in := callctx.From(ctx); in != nil && in.Operation() != "" {
		action = "quicksight:" + in.Operation()
	}
	callctx.Deny(ctx, callctx.Decision{Kind: kind, Action: action, Resource: resource, Policy: policy, Reason: reason})
	return e
}

// explainIAM evaluates the caller's identity policies for action on
// resource and records the deciding statement when they refuse.
func (c *call) explainIAM(action, resource string) bool {
	x := c.p.Explain(action, resource, nil)
	if x.Decision == iampolicy.Allow {
		return true
	}
	callctx.Deny(c.r.Context(), callctx.IdentityPolicy(c.p, action, resource, x))
	return false
}

// PermissionSummary lists the dashboard's permissions as the world writes
// them: "group:emea-sales, user:carol (owner), namespace:default".
func (d *Dashboard) PermissionSummary() string {
	perms := d.Permissions()
	if len(perms) == 0 {
		return "none: the dashboard is shared with no one"
	}
	parts := make([]string, 0, len(perms))
	for _, p := range perms {
		e := p.entry()
		if p.Owner {
			e += " (owner)"
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, ", ")
}

// viewersReason says why no permission of d covers u.
func viewersReason(d *Dashboard, u *User) string {
	groups := make([]string, 0, len(u.Groups))
	for _, g := range u.Groups {
		groups = append(groups, g.Name)
	}
	mine := "no QuickSight group"
	if len(groups) > 0 {
		mine = "groups " + strings.Join(groups, ", ")
	}
	return "no permission of dashboard " + d.ID + " covers QuickSight user " + u.UserName + " (namespace " + u.Namespace + ", " + mine +
		"); its permissions: " + d.PermissionSummary()
}
