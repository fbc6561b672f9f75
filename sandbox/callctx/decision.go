package callctx

import (
	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
)

// IdentityPolicy describes a refusal by p's identity-based policies, from
// the explanation of the same evaluation that refused the call.
func IdentityPolicy(p *auth.Principal, action, resource string, x iampolicy.Explanation) Decision {
	d := Decision{Kind: "identity-policy", Action: action, Resource: resource, Effect: x.Decision.String(), Reason: x.String()}
	switch {
	case p.RoleArn != "":
		d.Policy = p.RoleArn
	default:
		d.Policy = p.Arn
	}
	if x.Statement != nil {
		d.Statement = x.Label()
	} else if x.NearMiss != nil {
		d.Statement = x.NearMiss.Sid
	}
	return d
}

// Policy describes a refusal by a resource or trust policy named policy.
func Policy(kind, policy, action, resource string, x iampolicy.Explanation) Decision {
	d := Decision{Kind: kind, Policy: policy, Action: action, Resource: resource, Effect: x.Decision.String(), Reason: x.String()}
	if x.Statement != nil {
		d.Statement = x.Label()
	}
	return d
}
