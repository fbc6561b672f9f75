// Package ssoadmin serves the IAM Identity Center administration API
// (sso-admin, awsJson1_1, X-Amz-Target SWBExternalService.<Op>, signing
// name sso) over the Identity Center state: the read operations that
// diagnose a trusted identity propagation setup. The state lives in
// sandbox/identitycenter; this package holds only wire handlers.
package ssoadmin

import (
	"net/http"
	"strings"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
)

// TargetPrefix is the X-Amz-Target prefix of sso-admin (botocore sso-admin 2020-07-20).
const TargetPrefix = "SWBExternalService."

// CreatedDate is the creation time reported for every resource of the world.
var CreatedDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Service is the sso-admin handler.
type Service struct {
	env   *env.Env
	state *identitycenter.State
}

// New returns the sso-admin handler over s.
func New(e *env.Env, s *identitycenter.State) *Service { return &Service{env: e, state: s} }

// Model patterns (botocore sso-admin 2020-07-20).
var (
	appArnRe       = lazyre.New(`^arn:aws(-[a-z]{1,5}){0,3}:sso::\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}$`)
	instanceArnRe  = lazyre.New(`^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`)
	ttiArnRe       = lazyre.New(`^arn:aws(-[a-z]{1,5}){0,3}:sso::\d{12}:trustedTokenIssuer/(sso)?ins-[a-zA-Z0-9-.]{16}/tti-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`)
	principalIDRe  = lazyre.New(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
	operationNames = map[string]func(*Service, *call) (any, *awsproto.Error){
		"DescribeApplication":                    (*Service).describeApplication,
		"GetApplicationAssignmentConfiguration":  (*Service).getAssignmentConfiguration,
		"GetApplicationAuthenticationMethod":     (*Service).getAuthenticationMethod,
		"ListApplicationGrants":                  (*Service).listGrants,
		"ListApplicationAccessScopes":            (*Service).listAccessScopes,
		"ListApplicationAssignments":             (*Service).listAssignments,
		"ListApplicationAssignmentsForPrincipal": (*Service).listAssignmentsForPrincipal,
		"DescribeTrustedTokenIssuer":             (*Service).describeTrustedTokenIssuer,
		"ListTrustedTokenIssuers":                (*Service).listTrustedTokenIssuers,
		"DescribeInstance":                       (*Service).describeInstance,
		"ListInstances":                          (*Service).listInstances,
	}
)

// call is one authenticated request.
type call struct {
	op     string
	body   []byte
	caller *auth.Principal
}

// ServeHTTP dispatches on X-Amz-Target.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	w.Header().Set("Date", s.env.Now().Format(http.TimeFormat))
	res, e := s.serve(r)
	if e != nil {
		awsproto.WriteError(w, awsproto.JSON11, e, rid)
		return
	}
	awsproto.WriteJSON(w, awsproto.JSON11, http.StatusOK, res, rid)
}

func (s *Service) serve(r *http.Request) (any, *awsproto.Error) {
	if r.Method != http.MethodPost || (r.URL.Path != "/" && r.URL.Path != "") {
		return nil, awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"sso-admin accepts POST / with an X-Amz-Target header, not %s %s", r.Method, awsproto.Truncate(r.URL.Path, 80))
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	handler := operationNames[op]
	if !ok || handler == nil {
		return nil, awsproto.Errorf(http.StatusBadRequest, "UnknownOperationException",
			"the sandbox's sso-admin has no operation %q (X-Amz-Target must be %s<Operation>)", awsproto.Truncate(target, 100), TargetPrefix)
	}
	s.env.Stats.Inc("sso:" + op)
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		return nil, e
	}
	caller, e := s.env.Authenticate(r, body, awsproto.VerifyOptions{})
	if e != nil {
		return nil, e
	}
	return handler(s, &call{op: op, body: body, caller: caller})
}

// decode reads the JSON body into v.
func (c *call) decode(v any) *awsproto.Error {
	return awsproto.DecodeJSON(c.body, v, "ValidationException")
}

// authorize checks the caller's identity policies for sso:<op> on resource.
func (s *Service) authorize(c *call, resource string) *awsproto.Error {
	if c.caller.Admin {
		return nil
	}
	action := "sso:" + c.op
	ctx := map[string][]string{
		"aws:PrincipalArn":     {principalArn(c.caller)},
		"aws:PrincipalAccount": {c.caller.AccountID},
		"aws:CurrentTime":      {s.env.Now().Format(time.RFC3339)},
	}
	if c.caller.Allowed(action, resource, ctx) {
		return nil
	}
	return awsproto.AccessDeniedException("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		c.caller.Arn, action, resource, action)
}

func principalArn(p *auth.Principal) string {
	if p.IsSession() {
		return p.RoleArn
	}
	return p.Arn
}

// Validation errors in the wording of AWS JSON services.

func validation(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", format, a...)
}

func required(member string) *awsproto.Error {
	return validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func badPattern(member, value string, re *lazyre.Regexp) *awsproto.Error {
	return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
		awsproto.Truncate(value, 128), member, strings.Trim(re.String(), "^$"))
}

func notFound(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ResourceNotFoundException", format, a...)
}

// app resolves ApplicationArn: missing is a ValidationException, an ARN of
// no application a ResourceNotFoundException.
func (s *Service) app(arn *string) (*identitycenter.Application, *awsproto.Error) {
	if arn == nil {
		return nil, required("applicationArn")
	}
	for _, a := range s.state.Apps {
		if a.Arn == *arn {
			return a, nil
		}
	}
	if !appArnRe.MatchString(*arn) {
		return nil, badPattern("applicationArn", *arn, appArnRe)
	}
	return nil, notFound("Application %s does not exist in instance %s", awsproto.Truncate(*arn, 256), s.state.InstanceArn)
}

// instance checks InstanceArn names the world's instance.
func (s *Service) instance(arn *string) *awsproto.Error {
	if arn == nil {
		return required("instanceArn")
	}
	if *arn == s.state.InstanceArn {
		return nil
	}
	if !instanceArnRe.MatchString(*arn) {
		return badPattern("instanceArn", *arn, instanceArnRe)
	}
	return notFound("Instance %s does not exist", awsproto.Truncate(*arn, 256))
}

func epoch(t time.Time) float64 { return float64(t.Unix()) }

// Operations.

type appRequest struct {
	ApplicationArn *string
}

type portalOptions struct {
	Visibility string `json:"Visibility,omitempty"`
}

type describeApplicationResponse struct {
	ApplicationArn         string
	ApplicationProviderArn string
	Name                   string
	ApplicationAccount     string
	InstanceArn            string
	IdentityStoreArn       string
	Status                 string
	PortalOptions          portalOptions
	CreatedDate            float64
	CreatedFrom            string
}

func (s *Service) describeApplication(c *call) (any, *awsproto.Error) {
	var req appRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	a, e := s.app(req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(c, a.Arn); e != nil {
		return nil, e
	}
	return describeApplicationResponse{
		ApplicationArn: a.Arn, ApplicationProviderArn: a.ProviderArn, Name: a.Name,
		ApplicationAccount: s.state.AccountID, InstanceArn: s.state.InstanceArn,
		IdentityStoreArn: s.state.IdentityStoreArn(), Status: a.Status,
		PortalOptions: portalOptions{Visibility: "DISABLED"},
		CreatedDate:   epoch(CreatedDate), CreatedFrom: s.state.Region,
	}, nil
}

func (s *Service) getAssignmentConfiguration(c *call) (any, *awsproto.Error) {
	var req appRequest
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	a, e := s.app(req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(c, a.Arn); e != nil {
		return nil, e
	}
	return map[string]any{"AssignmentRequired": a.AssignmentRequired}, nil
}

func (s *Service) getAuthenticationMethod(c *call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn           *string
		AuthenticationMethodType *string
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	a, e := s.app(req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	switch {
	case req.AuthenticationMethodType == nil:
		return nil, required("authenticationMethodType")
	case *req.AuthenticationMethodType != "IAM":
		return nil, validation("1 validation error detected: Value '%s' at 'authenticationMethodType' failed to satisfy constraint: Member must satisfy enum value set: [IAM]",
			awsproto.Truncate(*req.AuthenticationMethodType, 64))
	}
	if e := s.authorize(c, a.Arn); e != nil {
		return nil, e
	}
	if a.ActorPolicy.IsZero() {
		return nil, notFound("Application %s has no IAM authentication method", a.Name)
	}
	return map[string]any{"AuthenticationMethod": map[string]any{
		"Iam": map[string]any{"ActorPolicy": a.ActorPolicy.JSON},
	}}, nil
}

// Grant types (botocore GrantType enum).
const (
	GrantJWTBearer    = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantRefreshToken = "refresh_token"
)

type authorizedTokenIssuer struct {
	TrustedTokenIssuerArn string
	AuthorizedAudiences   []string
}

type grantItem struct {
	GrantType string
	Grant     map[string]any
}

func (s *Service) listGrants(c *call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		NextToken      *string
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	a, e := s.app(req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(c, a.Arn); e != nil {
		return nil, e
	}
	var items []grantItem
	if len(a.Grants) > 0 {
		issuers := make([]authorizedTokenIssuer, 0, len(a.Grants))
		for _, g := range a.Grants {
			issuers = append(issuers, authorizedTokenIssuer{TrustedTokenIssuerArn: g.Issuer.Arn, AuthorizedAudiences: g.Audiences})
		}
		items = append(items, grantItem{GrantType: GrantJWTBearer,
			Grant: map[string]any{"JwtBearer": map[string]any{"AuthorizedTokenIssuers": issuers}}})
	}
	if a.RefreshTokenGrant {
		items = append(items, grantItem{GrantType: GrantRefreshToken, Grant: map[string]any{"RefreshToken": map[string]any{}}})
	}
	p, e := paginate(c.op, a.Arn, req.NextToken, nil, 10, 10, len(items))
	if e != nil {
		return nil, e
	}
	return struct {
		Grants    []grantItem
		NextToken *string `json:",omitempty"`
	}{Grants: nonNil(items[p.start:p.end]), NextToken: p.next}, nil
}

type scopeDetails struct {
	Scope string
}

func (s *Service) listAccessScopes(c *call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		MaxResults     *int
		NextToken      *string
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	a, e := s.app(req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(c, a.Arn); e != nil {
		return nil, e
	}
	p, e := paginate(c.op, a.Arn, req.NextToken, req.MaxResults, 10, 10, len(a.Scopes))
	if e != nil {
		return nil, e
	}
	scopes := make([]scopeDetails, 0, p.end-p.start)
	for _, sc := range a.Scopes[p.start:p.end] {
		scopes = append(scopes, scopeDetails{Scope: sc})
	}
	return struct {
		Scopes    []scopeDetails
		NextToken *string `json:",omitempty"`
	}{Scopes: scopes, NextToken: p.next}, nil
}

type assignment struct {
	ApplicationArn string
	PrincipalId    string
	PrincipalType  string
}

// assignments resolves an application's assignments to principal ids.
func (s *Service) assignments(a *identitycenter.Application) []assignment {
	out := make([]assignment, 0, len(a.Assignments))
	for _, as := range a.Assignments {
		id := ""
		switch as.PrincipalType {
		case "USER":
			if u := s.state.UserByName(as.Principal); u != nil {
				id = u.UserID
			}
		case "GROUP":
			if g := s.state.GroupByName(as.Principal); g != nil {
				id = g.GroupID
			}
		}
		if id != "" {
			out = append(out, assignment{ApplicationArn: a.Arn, PrincipalId: id, PrincipalType: as.PrincipalType})
		}
	}
	return out
}

func (s *Service) listAssignments(c *call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		MaxResults     *int
		NextToken      *string
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	a, e := s.app(req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(c, a.Arn); e != nil {
		return nil, e
	}
	all := s.assignments(a)
	p, e := paginate(c.op, a.Arn, req.NextToken, req.MaxResults, 100, 100, len(all))
	if e != nil {
		return nil, e
	}
	return struct {
		ApplicationAssignments []assignment
		NextToken              *string `json:",omitempty"`
	}{ApplicationAssignments: nonNil(all[p.start:p.end]), NextToken: p.next}, nil
}

func (s *Service) listAssignmentsForPrincipal(c *call) (any, *awsproto.Error) {
	var req struct {
		InstanceArn   *string
		PrincipalId   *string
		PrincipalType *string
		Filter        *struct{ ApplicationArn *string }
		MaxResults    *int
		NextToken     *string
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := s.instance(req.InstanceArn); e != nil {
		return nil, e
	}
	switch {
	case req.PrincipalId == nil:
		return nil, required("principalId")
	case !principalIDRe.MatchString(*req.PrincipalId):
		return nil, badPattern("principalId", *req.PrincipalId, principalIDRe)
	case req.PrincipalType == nil:
		return nil, required("principalType")
	case *req.PrincipalType != "USER" && *req.PrincipalType != "GROUP":
		return nil, validation("1 validation error detected: Value '%s' at 'principalType' failed to satisfy constraint: Member must satisfy enum value set: [USER, GROUP]",
			awsproto.Truncate(*req.PrincipalType, 64))
	}
	var filterApp string
	if req.Filter != nil && req.Filter.ApplicationArn != nil {
		a, e := s.app(req.Filter.ApplicationArn)
		if e != nil {
			return nil, e
		}
		filterApp = a.Arn
	}
	if e := s.authorize(c, s.state.InstanceArn); e != nil {
		return nil, e
	}
	var all []assignment
	for _, a := range s.state.Apps {
		if filterApp != "" && a.Arn != filterApp {
			continue
		}
		for _, as := range s.assignments(a) {
			if as.PrincipalId == *req.PrincipalId && as.PrincipalType == *req.PrincipalType {
				all = append(all, as)
			}
		}
	}
	p, e := paginate(c.op, *req.PrincipalId+"\x00"+filterApp, req.NextToken, req.MaxResults, 100, 100, len(all))
	if e != nil {
		return nil, e
	}
	return struct {
		ApplicationAssignments []assignment
		NextToken              *string `json:",omitempty"`
	}{ApplicationAssignments: nonNil(all[p.start:p.end]), NextToken: p.next}, nil
}

type oidcJWTConfiguration struct {
	IssuerUrl                  string
	ClaimAttributePath         string
	IdentityStoreAttributePath string
	JwksRetrievalOption        string
}

func (s *Service) describeTrustedTokenIssuer(c *call) (any, *awsproto.Error) {
	var req struct{ TrustedTokenIssuerArn *string }
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if req.TrustedTokenIssuerArn == nil {
		return nil, required("trustedTokenIssuerArn")
	}
	var tti *identitycenter.TrustedTokenIssuer
	for _, t := range s.state.Issuers {
		if t.Arn == *req.TrustedTokenIssuerArn {
			tti = t
		}
	}
	if tti == nil {
		if !ttiArnRe.MatchString(*req.TrustedTokenIssuerArn) {
			return nil, badPattern("trustedTokenIssuerArn", *req.TrustedTokenIssuerArn, ttiArnRe)
		}
		return nil, notFound("Trusted token issuer %s does not exist", awsproto.Truncate(*req.TrustedTokenIssuerArn, 256))
	}
	if e := s.authorize(c, tti.Arn); e != nil {
		return nil, e
	}
	return map[string]any{
		"TrustedTokenIssuerArn":  tti.Arn,
		"Name":                   tti.Name,
		"TrustedTokenIssuerType": "OIDC_JWT",
		"TrustedTokenIssuerConfiguration": map[string]any{"OidcJwtConfiguration": oidcJWTConfiguration{
			IssuerUrl: tti.IssuerURL, ClaimAttributePath: tti.ClaimAttributePath,
			IdentityStoreAttributePath: tti.IdentityStoreAttributePath, JwksRetrievalOption: "OPEN_ID_DISCOVERY",
		}},
	}, nil
}

type ttiMetadata struct {
	TrustedTokenIssuerArn  string
	Name                   string
	TrustedTokenIssuerType string
}

func (s *Service) listTrustedTokenIssuers(c *call) (any, *awsproto.Error) {
	var req struct {
		InstanceArn *string
		MaxResults  *int
		NextToken   *string
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := s.instance(req.InstanceArn); e != nil {
		return nil, e
	}
	if e := s.authorize(c, s.state.InstanceArn); e != nil {
		return nil, e
	}
	p, e := paginate(c.op, s.state.InstanceArn, req.NextToken, req.MaxResults, 100, 100, len(s.state.Issuers))
	if e != nil {
		return nil, e
	}
	list := make([]ttiMetadata, 0, p.end-p.start)
	for _, t := range s.state.Issuers[p.start:p.end] {
		list = append(list, ttiMetadata{TrustedTokenIssuerArn: t.Arn, Name: t.Name, TrustedTokenIssuerType: "OIDC_JWT"})
	}
	return struct {
		TrustedTokenIssuers []ttiMetadata
		NextToken           *string `json:",omitempty"`
	}{TrustedTokenIssuers: list, NextToken: p.next}, nil
}

type instanceMetadata struct {
	InstanceArn     string
	IdentityStoreId string
	OwnerAccountId  string
	Name            string
	CreatedDate     float64
	Status          string
}

func (s *Service) instanceMetadata() instanceMetadata {
	return instanceMetadata{InstanceArn: s.state.InstanceArn, IdentityStoreId: s.state.IdentityStoreID,
		OwnerAccountId: s.state.AccountID, Name: "tipctl-sandbox", CreatedDate: epoch(CreatedDate), Status: "ACTIVE"}
}

func (s *Service) describeInstance(c *call) (any, *awsproto.Error) {
	var req struct{ InstanceArn *string }
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := s.instance(req.InstanceArn); e != nil {
		return nil, e
	}
	if e := s.authorize(c, s.state.InstanceArn); e != nil {
		return nil, e
	}
	return s.instanceMetadata(), nil
}

func (s *Service) listInstances(c *call) (any, *awsproto.Error) {
	var req struct {
		MaxResults *int
		NextToken  *string
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	if e := s.authorize(c, "*"); e != nil {
		return nil, e
	}
	all := []instanceMetadata{s.instanceMetadata()}
	p, e := paginate(c.op, "", req.NextToken, req.MaxResults, 100, 100, len(all))
	if e != nil {
		return nil, e
	}
	return struct {
		Instances []instanceMetadata
		NextToken *string `json:",omitempty"`
	}{Instances: nonNil(all[p.start:p.end]), NextToken: p.next}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
