// Package callctx carries what the sandbox learns about one API call while
// a service handles it: the operation, the authenticated principal, the
// request and response elements worth logging, and, for a refused call,
// what decided the refusal. The dispatcher puts an Info in the request
// context; services fill it through the small setters below; the recorder
// (sandbox/cloudtrail) turns it into a CloudTrail event. Every setter is a
// no-op when the request carries no Info, so services work unrecorded too.
//
// # Explaining decisions (for service authors)
//
// Every refusal and every data-level restriction is recorded from the
// service's own evaluation, at the place the evaluation happens:
//
//   - A refused call: call Deny once, with the Decision the evaluation
//     reached, before returning the error. For IAM identity policies use
//     IdentityPolicy(p, action, resource, p.Explain(action, resource, ctx));
//     for resource, trust or application policies use Policy. For a
//     service's own permission model fill a Decision: Kind names the
//     evaluator (a constant exported by the service package, e.g.
//     redshiftdata.KindPrivilege, quicksight.KindDashboardPermissions; an
//     Athena/Lake Formation service would add e.g. "lakeformation-permission"),
//     Action and Resource what was evaluated, Policy the grant, policy or
//     database user that decided, Reason one sentence naming the missing
//     grant or the deciding policy. The first Deny wins.
//   - An allowed call whose result was narrowed (row-level security, column
//     or cell filters, document ACLs): call Limit with the same Decision
//     shape (Kind e.g. redshiftdata.KindRLS, qbusiness.KindACL; Policy the
//     filtering policies; Reason which rows or documents were kept).
//   - An asynchronous job refused or filtered after the call that started
//     it returned (a Redshift statement, an Athena query): keep the
//     Decision with the job and record it, with Deny or Limit, on the call
//     that reports the outcome (DescribeStatement / GetStatementResult,
//     GetQueryExecution / GetQueryResults). See sandbox/redshiftdata.
//
// The recorder writes the decision as additionalEventData.tipctlDecision and
// the limits as additionalEventData.tipctlLimits (sandbox fields, not
// AWS's), and the console shows both beside the call. A call with a
// decision is shown as refused even when its HTTP status is 200 (the
// asynchronous case).
package callctx

import (
	"context"
	"sync"

	"github.com/tipctl/tipctl/sandbox/auth"
)

type key struct{}

// Decision is what refused a call, from the sandbox's own evaluation.
type Decision struct {
	// Kind names the evaluator: "identity-policy", "trust-policy",
	// "access-grants", "application-assignment", "rls", ...
	Kind string `json:"kind"`
	// Action and Resource are what was evaluated.
	Action   string `json:"action,omitempty"`
	Resource string `json:"resource,omitempty"`
	// Policy names the evaluated policy (a role, user or grant); Statement
	// is the deciding statement's Sid (or its index, "#2") when one decided.
	Policy    string `json:"policy,omitempty"`
	Statement string `json:"statement,omitempty"`
	// Effect is ExplicitDeny or ImplicitDeny for policy decisions.
	Effect string `json:"effect,omitempty"`
	// Reason is one sentence a person can act on.
	Reason string `json:"reason"`
}

// Info is one call's record in the making. Services write it through the
// package functions; the recorder reads it once the handler returned.
type Info struct {
	mu        sync.Mutex
	operation string
	principal *auth.Principal
	request   map[string]any
	response  map[string]any
	additions map[string]any
	decision  *Decision
	limits    []Decision
}

// New returns an empty Info and ctx carrying it.
func New(ctx context.Context) (context.Context, *Info) {
	in := &Info{}
	return context.WithValue(ctx, key{}, in), in
}

// From returns the Info of ctx, or nil.
func From(ctx context.Context) *Info {
	in, _ := ctx.Value(key{}).(*Info)
	return in
}

// SetOperation names the API operation (e.g. "GetObject"); REST services
// call it once they have mapped the method and path.
func SetOperation(ctx context.Context, op string) {
	if in := From(ctx); in != nil {
		in.mu.Lock()
		in.operation = op
		in.mu.Unlock()
	}
}

// SetPrincipal records the authenticated caller. env.Authenticate calls it,
// so every service that authenticates through the runtime is covered.
func SetPrincipal(ctx context.Context, p *auth.Principal) {
	if in := From(ctx); in != nil && p != nil {
		in.mu.Lock()
		in.principal = p
		in.mu.Unlock()
	}
}

// SetRequest replaces the requestParameters the recorder would derive from
// the wire (the service knows better, e.g. REST path parameters). Secrets
// must already be left out.
func SetRequest(ctx context.Context, m map[string]any) {
	if in := From(ctx); in != nil {
		in.mu.Lock()
		in.request = m
		in.mu.Unlock()
	}
}

// SetResponse replaces the responseElements the recorder would derive.
func SetResponse(ctx context.Context, m map[string]any) {
	if in := From(ctx); in != nil {
		in.mu.Lock()
		in.response = m
		in.mu.Unlock()
	}
}

// AddEventData adds a key to additionalEventData.
func AddEventData(ctx context.Context, k string, v any) {
	if in := From(ctx); in != nil {
		in.mu.Lock()
		if in.additions == nil {
			in.additions = map[string]any{}
		}
		in.additions[k] = v
		in.mu.Unlock()
	}
}

// Deny records what refused the call. The first decision wins: it is the
// one the caller was told about.
func Deny(ctx context.Context, d Decision) {
	if in := From(ctx); in != nil {
		in.mu.Lock()
		if in.decision == nil {
			in.decision = &d
		}
		in.mu.Unlock()
	}
}

// maxLimits bounds the restrictions recorded for one call.
const maxLimits = 16

// Limit records a data-level restriction that shaped the result of a call
// the caller was allowed to make: row-level security that kept some rows,
// document ACLs that withheld some documents, Lake Formation filters. It is
// not a refusal (the call succeeded); the recorder writes it into
// additionalEventData.tipctlLimits and the console shows it beside the
// call.
func Limit(ctx context.Context, d Decision) {
	if in := From(ctx); in != nil {
		in.mu.Lock()
		if len(in.limits) < maxLimits {
			in.limits = append(in.limits, d)
		}
		in.mu.Unlock()
	}
}

// Snapshot is a consistent copy of an Info.
type Snapshot struct {
	Operation string
	Principal *auth.Principal
	Request   map[string]any
	Response  map[string]any
	Additions map[string]any
	Decision  *Decision
	Limits    []Decision
}

// Snapshot copies in.
func (in *Info) Snapshot() Snapshot {
	in.mu.Lock()
	defer in.mu.Unlock()
	return Snapshot{Operation: in.operation, Principal: in.principal, Request: in.request,
		Response: in.response, Additions: in.additions, Decision: in.decision, Limits: in.limits}
}

// Operation returns the operation named so far.
func (in *Info) Operation() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.operation
}
