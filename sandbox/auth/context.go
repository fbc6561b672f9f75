package auth

import (
	"time"

	"github.com/tipctl/tipctl/iampolicy"
)

// Condition keys that context providers set. The Identity Center keys are
// documented in the IAM Identity Center user guide ("AWS STS condition
// context keys for IAM Identity Center"): identitystore:UserId and
// identitystore:IdentityStoreArn are in the request context of every
// request an identity-enhanced session makes; the identitycenter:* keys are
// in the request context of the AssumeRole that sets the context.
//
// AWS documents no condition key for sessions made with the QuickSight
// context provider. The sandbox models the closest documented behaviour,
// Identity Center's: the provider's user identity is in every request of
// the session, under KeyQuickSightUserArn.
const (
	KeyUserID               = "identitystore:UserId"
	KeyIdentityStoreArn     = "identitystore:IdentityStoreArn"
	KeyInstanceArn          = "identitycenter:InstanceArn"
	KeyApplicationArn       = "identitycenter:ApplicationArn"
	KeyQuickSightUserArn    = "quicksight:UserArn"
	KeyRequestContextProvs  = "sts:RequestContextProviders"
	RequestContextKeyPrefix = "sts:RequestContext/"
)

// IdentityStoreArn is the ARN of the identity store the context's user is in.
func (c *IdentityContext) IdentityStoreArn(account string) string {
	if c.IdentityStoreID == "" {
		return ""
	}
	return "arn:aws:identitystore::" + account + ":identitystore/" + c.IdentityStoreID
}

// SessionKeys are the condition keys the context puts in every request of
// the session it was set on.
func (c *IdentityContext) SessionKeys(account string) map[string][]string {
	out := map[string][]string{}
	switch c.Provider {
	case IdentityCenterProvider:
		if c.UserID != "" {
			out[KeyUserID] = []string{c.UserID}
		}
		if arn := c.IdentityStoreArn(account); arn != "" {
			out[KeyIdentityStoreArn] = []string{arn}
		}
	case QuickSightProvider:
		if c.QuickSightUserArn != "" {
			out[KeyQuickSightUserArn] = []string{c.QuickSightUserArn}
		}
	}
	return out
}

// AssertionKeys are the keys the context assertion brings to the request
// context of the AssumeRole that sets it: the session keys and, for
// Identity Center, the instance and application.
func (c *IdentityContext) AssertionKeys(account string) map[string][]string {
	out := c.SessionKeys(account)
	if c.Provider == IdentityCenterProvider {
		if c.InstanceArn != "" {
			out[KeyInstanceArn] = []string{c.InstanceArn}
		}
		if c.ApplicationArn != "" {
			out[KeyApplicationArn] = []string{c.ApplicationArn}
		}
	}
	return out
}

// SetContextKeys adds to ctx the keys of an sts:SetContext request that
// sets contexts: sts:RequestContextProviders (the providers' ARNs) and
// sts:RequestContext/<key> for each key the assertions bring. The
// assertions' keys themselves are added too, as the Identity Center guide
// documents them in the AssumeRole request context.
func SetContextKeys(ctx map[string][]string, account string, contexts ...*IdentityContext) {
	var provs []string
	for _, c := range contexts {
		provs = append(provs, c.Provider)
		for k, v := range c.AssertionKeys(account) {
			ctx[RequestContextKeyPrefix+k] = v
			ctx[k] = v
		}
	}
	ctx[KeyRequestContextProvs] = provs
}

// RequestContext returns the condition keys that describe p in any request
// it makes, merged under extra (the request's own keys win).
func (p *Principal) RequestContext(extra map[string][]string) map[string][]string {
	ctx := make(map[string][]string, len(extra)+8)
	ctx["aws:PrincipalAccount"] = []string{p.AccountID}
	if p.UserID != "" {
		ctx["aws:userid"] = []string{p.UserID}
	}
	if p.IsSession() {
		ctx["aws:PrincipalArn"] = []string{p.RoleArn}
		ctx["aws:PrincipalType"] = []string{"AssumedRole"}
		if p.SourceIdentity != "" {
			ctx["aws:SourceIdentity"] = []string{p.SourceIdentity}
		}
		if p.Federated != "" {
			ctx["aws:FederatedProvider"] = []string{p.Federated}
		}
		if !p.IssuedAt.IsZero() {
			ctx["aws:TokenIssueTime"] = []string{p.IssuedAt.UTC().Format(time.RFC3339)}
		}
	} else {
		ctx["aws:PrincipalArn"] = []string{p.Arn}
		ctx["aws:PrincipalType"] = []string{"User"}
	}
	if p.Context != nil {
		for k, v := range p.Context.SessionKeys(p.AccountID) {
			ctx[k] = v
		}
	}
	for k, v := range extra {
		ctx[k] = v
	}
	return ctx
}

// Evaluate runs p's identity policies for action on resource, with p's own
// condition keys (RequestContext) under the request's keys in extra.
func (p *Principal) Evaluate(action, resource string, extra map[string][]string) iampolicy.Decision {
	return p.Explain(action, resource, extra).Decision
}

// Explain is Evaluate with the statement that decided (for CloudTrail's
// record of a refusal): the same evaluation, with p's own condition keys.
// A session with session policies (AssumeRole Policy, PolicyArns) may do
// only what its policies and its session policies both allow.
func (p *Principal) Explain(action, resource string, extra map[string][]string) iampolicy.Explanation {
	req := iampolicy.Request{Action: action, Resource: resource, Context: p.RequestContext(extra)}
	x := iampolicy.Explain(req, p.Policies...)
	if x.Decision != iampolicy.Allow || len(p.SessionPolicies) == 0 {
		return x
	}
	return iampolicy.Explain(req, p.SessionPolicies...)
}
