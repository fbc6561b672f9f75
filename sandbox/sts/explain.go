package sts

import (
	"context"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/iam"
)

// explainDenial records, for the audit log, which evaluation refused
// action: it re-runs the caller's identity policies, then the role's trust
// policy, with the same inputs as the refusal, and reports the first that
// does not allow it.
func explainDenial(ctx context.Context, caller *auth.Principal, role *iam.Role, roleArn, action string, cond map[string][]string) {
	if role == nil {
		callctx.Deny(ctx, callctx.Decision{Kind: "trust-policy", Action: action, Resource: roleArn,
			Reason: "the role does not exist (AWS reports a missing role as AccessDenied)"})
		return
	}
	if !caller.Admin {
		x := iampolicy.Explain(iampolicy.Request{Action: action, Resource: roleArn, Context: cond}, caller.Policies...)
		if x.Decision != iampolicy.Allow {
			callctx.Deny(ctx, callctx.IdentityPolicy(caller, action, roleArn, x))
			return
		}
	}
	explainTrust(ctx, role, action, caller.Caller(), cond)
}

// explainTrust records the trust policy's explanation for action.
func explainTrust(ctx context.Context, role *iam.Role, action string, caller *iampolicy.Caller, cond map[string][]string) {
	x := iampolicy.Explain(iampolicy.Request{Action: action, Resource: role.Arn, Caller: caller, Context: cond}, role.Trust)
	if x.Decision != iampolicy.Allow {
		callctx.Deny(ctx, callctx.Policy("trust-policy", role.Arn, action, role.Arn, x))
	}
}
