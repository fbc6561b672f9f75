package s3ag

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/tip/session"
)

// APIError is a refusal by AWS other than a missing grant.
type APIError struct {
	Op      string // e.g. s3:GetDataAccess
	Target  string
	Code    string // AWS error code; "" for a malformed reply
	Message string
	Status  int // HTTP status, 0 when unknown
	Hint    string
	Err     error
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Target != "" {
		b.WriteString(" on " + e.Target)
	}
	b.WriteString(" failed: ")
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

// Throttled reports whether AWS was still throttling after the retries.
func (e *APIError) Throttled() bool { return throttleCodes[e.Code] || e.Status == 503 }

var throttleCodes = map[string]bool{"SlowDown": true, "Throttling": true, "ThrottlingException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "ServiceUnavailable": true, "RequestThrottled": true}

var apiHints = map[string]string{
	"AccessGrantsInstanceNotExistsError": "there is no S3 Access Grants instance in that account and region: check --account-id and the profile's region",
	"InvalidRequest":                     "check the S3 URI and the --permission, --privilege, --target-type and --duration-seconds values",
	"InvalidArgument":                    "check the S3 URI and the --permission, --privilege, --target-type and --duration-seconds values",
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// apiError wraps an SDK error; errors that are not AWS answers (network,
// cancellation) are returned as they are.
func apiError(op, target string, err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	e := &APIError{Op: op, Target: target, Code: ae.ErrorCode(), Message: ae.ErrorMessage(), Err: err}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.Status = re.HTTPStatusCode()
	}
	switch {
	case apiHints[e.Code] != "":
		e.Hint = apiHints[e.Code]
	case e.Throttled():
		e.Hint = "S3 Access Grants is still throttling after retries with backoff; wait a moment and try again"
	case staleSessionCodes[e.Code]:
		e.Hint = "AWS refused the identity-enhanced session even after renewing it; run `tipctl auth refresh`, or log in again"
	default:
		e.Hint = "run `tipctl diag` to check the setup"
	}
	return e
}

// Grant is one of the caller's grants, as ListCallerAccessGrants tells.
type Grant struct {
	Scope      string `json:"scope"`
	Permission string `json:"permission"`
}

func (g Grant) String() string { return g.Permission + " " + g.Scope }

// Reasons of an AccessDeniedError.
const (
	DeniedNoGrant    = "no-grant"   // no grant of the caller covers the target
	DeniedPermission = "permission" // grants cover the target, with another permission
	DeniedPolicy     = "policy"     // the session may not call s3:GetDataAccess
	DeniedUnknown    = "unknown"    // the grants could not be listed, or they look fine
)

// AccessDeniedError is GetDataAccess's AccessDenied, explained with the
// caller's grants where they can be listed.
type AccessDeniedError struct {
	Target     string
	Permission string
	User       string // who asked (the login's email or subject)
	Reason     string
	// Grants are the caller's grants (nil when they could not be listed).
	Grants  []Grant
	Message string // AWS's message
	Err     error
}

func (e *AccessDeniedError) Unwrap() error { return e.Err }

func (e *AccessDeniedError) Error() string {
	who := e.User
	if who == "" {
		who = "the caller"
	}
	switch e.Reason {
	case DeniedNoGrant:
		return fmt.Sprintf("access denied: no access grant of %s covers %s (grants: %s)", who, e.Target, grantList(e.Grants))
	case DeniedPermission:
		return fmt.Sprintf("access denied: the grants of %s on %s give %s, not %s", who, e.Target, strings.Join(e.covering(), " or "), e.Permission)
	case DeniedPolicy:
		return "access denied: the identity-enhanced session may not call s3:GetDataAccess: " + e.Message
	}
	return fmt.Sprintf("access denied: S3 Access Grants refused %s on %s to %s: %s", e.Permission, e.Target, who, e.Message)
}

// Hint is the fix to suggest.
func (e *AccessDeniedError) Hint() string {
	switch e.Reason {
	case DeniedNoGrant:
		return "ask your S3 Access Grants administrator for a grant on it, or use a target under one of your grants"
	case DeniedPermission:
		return fmt.Sprintf("request --permission %s, or ask your S3 Access Grants administrator for a %s grant", strings.Join(e.covering(), " or --permission "), e.Permission)
	case DeniedPolicy:
		return "allow s3:GetDataAccess on the Access Grants instance in the identity-enhanced role's policy (`tipctl diag`)"
	}
	return "ask your S3 Access Grants administrator for a grant, or request a permission you were granted (e.g. --permission READ)"
}

// covering lists the permissions of the grants covering the target.
func (e *AccessDeniedError) covering() []string {
	t, err := ParseS3URI(e.Target)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, g := range e.Grants {
		if s, ok := parseScope(g.Scope); ok && s.coversURI(t) && !seen[g.Permission] {
			seen[g.Permission] = true
			out = append(out, g.Permission)
		}
	}
	sort.Strings(out)
	return out
}

func grantList(gs []Grant) string {
	if len(gs) == 0 {
		return "none"
	}
	s := make([]string, len(gs))
	for i, g := range gs {
		s[i] = g.String()
	}
	return strings.Join(s, ", ")
}

// accessDenied explains an AccessDenied with the caller's grants.
func accessDenied(ctx context.Context, mgr *session.Manager, base *session.Credentials, t *session.Tokens, account string, req Request, target S3URI, err error) error {
	e := &AccessDeniedError{Target: req.Target, Permission: req.Permission, User: t.Email, Reason: DeniedUnknown, Err: err}
	if e.User == "" {
		e.User = t.Subject
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Message = ae.ErrorMessage()
	}
	if strings.Contains(e.Message, "not authorized to perform") {
		e.Reason = DeniedPolicy
		return e
	}
	grants, lerr := callerGrants(ctx, mgr, base, account)
	if lerr != nil {
		return e
	}
	e.Grants = grants
	covered, permitted := false, false
	for _, g := range grants {
		if s, ok := parseScope(g.Scope); ok && s.coversURI(target) {
			covered = true
			permitted = permitted || Covers(g.Permission, req.Permission)
		}
	}
	switch {
	case !covered:
		e.Reason = DeniedNoGrant
	case !permitted:
		e.Reason = DeniedPermission
	}
	return e
}

// callerGrants lists the caller's grants (at most 10 pages).
func callerGrants(ctx context.Context, mgr *session.Manager, base *session.Credentials, account string) ([]Grant, error) {
	client, err := controlClient(mgr, base)
	if err != nil {
		return nil, err
	}
	grants := []Grant{}
	var next *string
	for range 10 {
		out, err := client.ListCallerAccessGrants(ctx, &s3control.ListCallerAccessGrantsInput{AccountId: aws.String(account), NextToken: next})
		if err != nil {
			return nil, err
		}
		for _, g := range out.CallerAccessGrantsList {
			grants = append(grants, Grant{Scope: aws.ToString(g.GrantScope), Permission: string(g.Permission)})
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	return grants, nil
}
