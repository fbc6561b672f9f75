// Package json11 is the request scaffolding the sandbox's awsJson1_1
// services (sso-admin, identitystore) share: X-Amz-Target dispatch, body
// reading, SigV4 authentication, operation stats, identity-policy
// authorization, the JSON reply and error shapes, the modeled validation
// errors and NextToken pagination. Each service keeps its operations in its
// own package and hands them to an API.
package json11

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
)

// Runtime is what an API needs from the sandbox runtime (sandbox/env.Env
// satisfies it).
type Runtime interface {
	Authenticate(r *http.Request, body []byte, opt awsproto.VerifyOptions) (*auth.Principal, *awsproto.Error)
	Now() time.Time
}

// Counter counts handled operations ("sso:DescribeApplication");
// sandbox/env.Stats satisfies it.
type Counter interface{ Inc(op string) }

// Operation serves one authenticated call; its result is the JSON reply.
type Operation func(*Call) (any, *awsproto.Error)

// API serves one awsJson1_1 service: POST / with X-Amz-Target
// <TargetPrefix><Operation>.
type API struct {
	// Name names the service in error messages ("sso-admin").
	Name string
	// TargetPrefix is the X-Amz-Target prefix ("SWBExternalService.").
	TargetPrefix string
	// ShortTargetPrefix is another prefix some SDKs send ("CloudTrail_20131101.").
	ShortTargetPrefix string
	// Service is the prefix of the IAM actions and of the stats keys:
	// "sso" makes sso:DescribeApplication.
	Service string
	// CurrentTime adds aws:CurrentTime (the runtime's clock) to the
	// condition keys Authorize evaluates policies with.
	CurrentTime bool
	Runtime     Runtime
	Stats       Counter
	Operations  map[string]Operation
	// Writes are the operations that change state; they run without the
	// read lock and take the write lock themselves (env.Change).
	Writes map[string]Operation
	// State is the read lock of the state Operations read (nil: none).
	State Locker
}

// Locker is a read lock (sandbox/env.Env satisfies it).
type Locker interface {
	RLock()
	RUnlock()
}

// Call is one authenticated request.
type Call struct {
	// Ctx is the request's context (for callctx hooks).
	Ctx    context.Context
	Op     string
	Body   []byte
	Caller *auth.Principal
	api    *API
}

// ServeHTTP dispatches on X-Amz-Target and writes the reply or the error in
// the awsJson1_1 shape.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	w.Header().Set("Date", a.Runtime.Now().Format(http.TimeFormat))
	res, e := a.serve(r)
	if e != nil {
		awsproto.WriteError(w, awsproto.JSON11, e, rid)
		return
	}
	awsproto.WriteJSON(w, awsproto.JSON11, http.StatusOK, res, rid)
}

func (a *API) serve(r *http.Request) (any, *awsproto.Error) {
	if r.Method != http.MethodPost || (r.URL.Path != "/" && r.URL.Path != "") {
		return nil, awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"%s accepts POST / with an X-Amz-Target header, not %s %s", a.Name, r.Method, awsproto.Truncate(r.URL.Path, 80))
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, a.TargetPrefix)
	if !ok && a.ShortTargetPrefix != "" {
		op, ok = strings.CutPrefix(target, a.ShortTargetPrefix)
	}
	handler, write := a.Operations[op], false
	if handler == nil {
		handler, write = a.Writes[op], true
	}
	if !ok || handler == nil {
		return nil, awsproto.Errorf(http.StatusBadRequest, "UnknownOperationException",
			"the sandbox's %s has no operation %q (X-Amz-Target must be %s<Operation>)", a.Name, awsproto.Truncate(target, 100), a.TargetPrefix)
	}
	a.Stats.Inc(a.Service + ":" + op)
	callctx.SetOperation(r.Context(), op)
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		return nil, e
	}
	caller, e := a.Runtime.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		return nil, awsproto.JSONAuthError(e, awsproto.JSON11)
	}
	if !write && a.State != nil {
		a.State.RLock()
		defer a.State.RUnlock()
	}
	return handler(&Call{Ctx: r.Context(), Op: op, Body: body, Caller: caller, api: a})
}

// Decode strictly decodes the JSON body into v; a malformed body is a
// ValidationException.
func (c *Call) Decode(v any) *awsproto.Error {
	return awsproto.DecodeJSON(c.Body, v, "ValidationException")
}

// Authorize checks the caller's identity policies for <Service>:<Op> on
// resource. The world's administrator is always allowed.
func (c *Call) Authorize(resource string) *awsproto.Error {
	p := c.Caller
	if p.Admin {
		return nil
	}
	action := c.api.Service + ":" + c.Op
	arn := p.Arn
	if p.IsSession() {
		arn = p.RoleArn
	}
	ctx := map[string][]string{"aws:PrincipalArn": {arn}, "aws:PrincipalAccount": {p.AccountID}}
	if c.api.CurrentTime {
		ctx["aws:CurrentTime"] = []string{c.api.Runtime.Now().Format(time.RFC3339)}
	}
	x := p.Explain(action, resource, ctx)
	if x.Decision == iampolicy.Allow {
		return nil
	}
	if c.Ctx != nil {
		callctx.Deny(c.Ctx, callctx.IdentityPolicy(p, action, resource, x))
	}
	// The models give AccessDeniedException no HTTP status, so awsJson1_1
	// answers it with the protocol's client-error status, 400.
	e := awsproto.AccessDeniedException("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		p.Arn, action, resource, action)
	e.Status = http.StatusBadRequest
	return e
}
