// Package diag tells exactly why a trusted identity propagation chain
// fails and how to fix it. It reads the setup with administrator (base)
// credentials — the IdP token, the Identity Center application, its trusted
// token issuer, grant, user mapping, assignment, scopes and actor policy,
// the IAM OIDC provider and the two roles' trust policies — and then runs
// the three calls of the chain for real as a dry run.
//
// Each check yields a Result with an id, a status, a message and, when it
// is not PASS, the concrete fix. A check the credentials may not perform is
// a SKIP that names the IAM action needed.
package diag

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Status of a check.
type Status string

// Statuses.
const (
	Pass Status = "PASS"
	Warn Status = "WARN"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is the outcome of one check.
type Result struct {
	ID      string `json:"id"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	// Fix is the command or policy change that resolves a WARN or FAIL,
	// or what a SKIP needs; empty for PASS.
	Fix string `json:"fix"`
}

// Summary counts the results.
type Summary struct {
	Total int `json:"total"`
	Pass  int `json:"pass"`
	Warn  int `json:"warn"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
	// OK is true when no check failed.
	OK bool `json:"ok"`
	// FirstFailure is the id of the first failed check.
	FirstFailure string `json:"first_failure,omitempty"`
	// TokenConsumed is true when the dry run exchanged the IdP token with
	// Identity Center, which accepts each assertion only once. (When the
	// exchange fails, the e2e.create_token message says the token may
	// count as used.)
	TokenConsumed bool `json:"token_consumed"`
}

// Report is the outcome of a diagnosis.
type Report struct {
	Checks  []Result `json:"checks"`
	Summary Summary  `json:"summary"`
}

// Find returns the result of check id, or nil.
func (r *Report) Find(id string) *Result {
	for i := range r.Checks {
		if r.Checks[i].ID == id {
			return &r.Checks[i]
		}
	}
	return nil
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return r.Summary.Fail > 0 }

// Input is what a diagnosis reads.
type Input struct {
	// Token is the IdP token (id_token) to diagnose.
	Token string
	// ApplicationArn is the Identity Center customer managed application.
	ApplicationArn string
	// BridgeRoleArn is assumed with the token (AssumeRoleWithWebIdentity).
	BridgeRoleArn string
	// EnhancedRoleArn is assumed with the identity context.
	EnhancedRoleArn string
	// Region overrides AWS.Region when set.
	Region string
	// AWS holds the administrator (base) credentials and, for the
	// sandbox, the endpoint (BaseEndpoint). The dry run uses only the
	// token and the bridge session, never these credentials.
	AWS aws.Config
	// HTTPClient fetches the issuer's discovery document and keys
	// (a client with a 10 s timeout when nil).
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// SkipE2E leaves out the dry run, so the token stays unused.
	SkipE2E bool
	// Services are the services used with the sessions (keys of
	// Services): the scopes, the jti claim and the S3 Access Grants
	// instance are checked against them.
	Services []string
	// RenewsToken says the caller replaces the token after the dry run
	// (tipctl refreshes a stored login), so the report does not ask for a
	// new login.
	RenewsToken bool
}

// check is one entry of the data-driven list of checks.
type check struct {
	id  string
	run func(*runner, context.Context) Result
}

// checks run in this order; later checks use facts earlier ones found.
// The dry run comes last: it consumes the token.
var checks = []check{
	{"token.structure", (*runner).tokenStructure},
	{"token.expiry", (*runner).tokenExpiry},
	{"token.discovery", (*runner).tokenDiscovery},
	{"token.signature", (*runner).tokenSignature},
	{"token.jti", (*runner).tokenJTI},
	{"idc.application", (*runner).idcApplication},
	{"idc.instance", (*runner).idcInstance},
	{"idc.grant.issuer", (*runner).idcGrantIssuer},
	{"idc.grant.audience", (*runner).idcGrantAudience},
	{"idc.user.mapping", (*runner).idcUserMapping},
	{"idc.user.external_ids", (*runner).idcUserExternalIDs},
	{"idc.assignment", (*runner).idcAssignment},
	{"idc.scopes", (*runner).idcScopes},
	{"idc.scope.targets", (*runner).idcScopeTargets},
	{"idc.scope.services", (*runner).idcScopeServices},
	{"idc.actor_policy", (*runner).idcActorPolicy},
	{"iam.oidc_provider", (*runner).iamOIDCProvider},
	{"iam.bridge.trust", (*runner).iamBridgeTrust},
	{"iam.enhanced.trust", (*runner).iamEnhancedTrust},
	{"iam.enhanced.permissions", (*runner).iamEnhancedPermissions},
	{"s3ag.instance", (*runner).s3agInstance},
	{"e2e.assume_web_identity", (*runner).e2eAssumeWebIdentity},
	{"e2e.create_token", (*runner).e2eCreateToken},
	{"e2e.assume_role", (*runner).e2eAssumeRole},
}

// CheckIDs lists the ids of every check, in the order they run.
func CheckIDs() []string {
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = c.id
	}
	return out
}

// Run diagnoses in and returns one result per check.
func Run(ctx context.Context, in Input) *Report {
	r := newRunner(in)
	rep := &Report{Checks: r.preflight(ctx)}
	for _, c := range checks {
		var res Result
		if r.noAdmin != "" && needsAdmin(c.id) {
			res = adminSkip()
		} else {
			res = r.noMissingResource(c.run(r, ctx))
		}
		res.ID = c.id
		if res.Status == Pass {
			res.Fix = ""
		}
		r.done[c.id] = res.Status
		rep.Checks = append(rep.Checks, res)
	}
	s := &rep.Summary
	for _, c := range rep.Checks {
		s.Total++
		switch c.Status {
		case Pass:
			s.Pass++
		case Warn:
			s.Warn++
		case Fail:
			s.Fail++
			if s.FirstFailure == "" {
				s.FirstFailure = c.ID
			}
		case Skip:
			s.Skip++
		}
	}
	s.OK = s.Fail == 0
	s.TokenConsumed = r.consumed
	return rep
}

// runner holds the clients and the facts the checks establish.
type runner struct {
	in   Input
	now  time.Time
	http *http.Client
	cfg  aws.Config
	done map[string]Status

	sso  *ssoadmin.Client
	ids  *identitystore.Client
	iam  *iam.Client
	sts  *sts.Client
	oidc *ssooidc.Client

	tok       *token
	disc      *discovery
	discErr   error
	discTried bool

	instanceArn string
	storeID     string
	appName     string
	appMissing  bool
	tti         *ttiInfo
	user        *userInfo

	providerArn       string
	providerClientIDs []string

	bridge           *aws.Credentials
	contextAssertion string
	consumed         bool

	// noAdmin says why there are no administrator credentials;
	// missingRoles are role ARNs that do not exist (see preflight).
	noAdmin      string
	missingRoles []string

	scopes map[string][]string // access scope → authorized targets
}

func newRunner(in Input) *runner {
	cfg := in.AWS.Copy()
	if in.Region != "" {
		cfg.Region = in.Region
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	hc := in.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	return &runner{
		in: in, now: now(), http: hc, cfg: cfg, done: map[string]Status{},
		sso: ssoadmin.NewFromConfig(cfg), ids: identitystore.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg),
		sts: sts.NewFromConfig(cfg), oidc: ssooidc.NewFromConfig(cfg),
	}
}

// Result constructors.

func pass(format string, a ...any) Result {
	return Result{Status: Pass, Message: fmt.Sprintf(format, a...)}
}

func warn(fix, format string, a ...any) Result {
	return Result{Status: Warn, Message: fmt.Sprintf(format, a...), Fix: fix}
}

func fail(fix, format string, a ...any) Result {
	return Result{Status: Fail, Message: fmt.Sprintf(format, a...), Fix: fix}
}

func skip(fix, format string, a ...any) Result {
	return Result{Status: Skip, Message: fmt.Sprintf(format, a...), Fix: fix}
}

// after is a SKIP for a check that needs an earlier one to succeed.
func after(id, what string) Result {
	return skip("fix "+id+" first", "skipped: %s needs %s to succeed", what, id)
}

// ok reports whether check id passed or warned.
func (r *runner) ok(id string) bool { s := r.done[id]; return s == Pass || s == Warn }

// apiError is a classified AWS error.
type apiError struct {
	code    string
	message string
	status  int
	denied  bool
	network bool
}

func classify(err error) apiError {
	var e apiError
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.code, e.message = ae.ErrorCode(), ae.ErrorMessage()
		if e.message == "" {
			e.message = oauthDescription(ae)
		}
	} else {
		e.message = err.Error()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.status = re.HTTPStatusCode()
	}
	switch e.code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError":
		e.denied = true
	}
	var ne net.Error
	var oe *net.OpError
	if e.code == "" && (errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, context.DeadlineExceeded)) {
		e.network = true
	}
	return e
}

// oauthDescription reads the error_description of an SSO OIDC error:
// those errors carry the OAuth fields instead of a message.
func oauthDescription(err error) string {
	v := reflect.ValueOf(err)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	f := v.FieldByName("Error_description")
	if f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String {
		return f.Elem().String()
	}
	return ""
}

func (e apiError) String() string {
	if e.code == "" {
		return e.message
	}
	return e.code + ": " + e.message
}

// readFailure turns a failed administrator read into a result: a denied
// call is a SKIP naming the action; an unreachable endpoint or another
// error a FAIL.
func (r *runner) readFailure(action string, err error, what string) Result {
	e := classify(err)
	switch {
	case e.denied:
		return skip(permissionFix(action),
			"cannot check %s: the diagnosing credentials may not call %s (%s)", what, action, truncate(e.message, 300))
	case e.network:
		return fail("check the endpoint, region and network (--endpoint-url, --region)",
			"cannot reach the %s API to check %s: %s", serviceOf(action), what, truncate(e.message, 300))
	}
	return fail("", "%s failed while checking %s: %s", action, what, truncate(e.String(), 400))
}

// permissionFix is the policy statement that grants action to the diagnosing identity.
func permissionFix(action string) string {
	return fmt.Sprintf(`allow %s to the credentials diag runs with, e.g. {"Effect": "Allow", "Action": "%s", "Resource": "*"} (see `+"`tipctl diag --help`"+` for the full policy)`, action, action)
}

func serviceOf(action string) string {
	p, _, _ := strings.Cut(action, ":")
	switch p {
	case "sso":
		return "IAM Identity Center (sso-admin)"
	case "identitystore":
		return "Identity Store"
	case "iam":
		return "IAM"
	}
	return p
}

// Actions lists every IAM action diag calls with the administrator
// credentials: the policy a diagnosing identity needs.
func Actions() []string {
	return []string{
		"sso:DescribeApplication", "sso:DescribeInstance", "sso:ListApplicationGrants", "sso:DescribeTrustedTokenIssuer",
		"sso:ListTrustedTokenIssuers", "sso:GetApplicationAssignmentConfiguration", "sso:ListApplicationAssignments",
		"sso:ListApplicationAccessScopes", "sso:GetApplicationAuthenticationMethod", "sso:ListApplications", "s3:GetAccessGrantsInstance",
		"identitystore:GetUserId", "identitystore:DescribeUser", "identitystore:ListGroupMembershipsForMember", "identitystore:DescribeGroup",
		"iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider", "iam:GetRole",
		"iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
	}
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// shellQuote quotes s for a POSIX shell command line.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=@,+", c))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
