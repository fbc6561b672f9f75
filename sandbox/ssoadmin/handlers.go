// Package ssoadmin serves the IAM Identity Center administration API
// (sso-admin, awsJson1_1, X-Amz-Target SWBExternalService.<Op>, signing
// name sso) over the Identity Center state: the read operations that
// diagnose a trusted identity propagation setup. The state lives in
// sandbox/identitycenter; this package holds only wire handlers.
package ssoadmin

import (
	"net/http"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
)

// TargetPrefix is the X-Amz-Target prefix of sso-admin (botocore sso-admin 2020-07-20).
const TargetPrefix = "SWBExternalService."

// CreatedDate is the creation time reported for every resource of the world.
var CreatedDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Service is the sso-admin handler.
type Service struct {
	api   *json11.API
	env   *env.Env
	state *identitycenter.State
}

// New returns the sso-admin handler over s.
func New(e *env.Env, s *identitycenter.State) *Service {
	svc := &Service{state: s, env: e}
	svc.api = &json11.API{Name: "sso-admin", TargetPrefix: TargetPrefix, Service: "sso", CurrentTime: true, Runtime: e, Stats: e.Stats,
		Operations: map[string]json11.Operation{
			"DescribeApplication":                    svc.describeApplication,
			"GetApplicationAssignmentConfiguration":  svc.getAssignmentConfiguration,
			"GetApplicationAuthenticationMethod":     svc.getAuthenticationMethod,
			"ListApplicationGrants":                  svc.listGrants,
			"ListApplicationAccessScopes":            svc.listAccessScopes,
			"ListApplicationAssignments":             svc.listAssignments,
			"ListApplicationAssignmentsForPrincipal": svc.listAssignmentsForPrincipal,
			"DescribeTrustedTokenIssuer":             svc.describeTrustedTokenIssuer,
			"ListTrustedTokenIssuers":                svc.listTrustedTokenIssuers,
			"DescribeInstance":                       svc.describeInstance,
			"ListInstances":                          svc.listInstances,
		}, State: e}
	svc.api.Writes = svc.writes()
	for op, h := range svc.reads() {
		svc.api.Operations[op] = h
	}
	return svc
}

// ServeHTTP dispatches on X-Amz-Target.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Model patterns (botocore sso-admin 2020-07-20).
var (
	appArnRe      = lazyre.New(`^arn:aws(-[a-z]{1,5}){0,3}:sso::\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}$`)
	instanceArnRe = lazyre.New(`^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`)
	ttiArnRe      = lazyre.New(`^arn:aws(-[a-z]{1,5}){0,3}:sso::\d{12}:trustedTokenIssuer/(sso)?ins-[a-zA-Z0-9-.]{16}/tti-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`)
	principalIDRe = lazyre.New(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
)

// shownArn bounds how much of a malformed ARN or id a validation message repeats.
const shownArn = 128

// app resolves ApplicationArn: missing is a ValidationException, an ARN of
// no application a ResourceNotFoundException.
func (s *Service) app(arn *string) (*identitycenter.Application, *awsproto.Error) {
	if arn == nil {
		return nil, json11.Required("applicationArn")
	}
	for _, a := range s.state.Apps {
		if a.Arn == *arn {
			return a, nil
		}
	}
	if !appArnRe.MatchString(*arn) {
		return nil, json11.BadPattern("applicationArn", *arn, appArnRe, shownArn)
	}
	return nil, json11.NotFound("Application %s does not exist in instance %s", awsproto.Truncate(*arn, 256), s.state.InstanceArn)
}

// decodeApp decodes the request into req, resolves its ApplicationArn
// member (arn points into req) and authorizes the call on the application.
func (s *Service) decodeApp(c *json11.Call, req any, arn **string) (*identitycenter.Application, *awsproto.Error) {
	if e := c.Decode(req); e != nil {
		return nil, e
	}
	a, e := s.app(*arn)
	if e != nil {
		return nil, e
	}
	if e := c.Authorize(a.Arn); e != nil {
		return nil, e
	}
	return a, nil
}

// instance checks InstanceArn names the world's instance.
func (s *Service) instance(arn *string) *awsproto.Error {
	if arn == nil {
		return json11.Required("instanceArn")
	}
	if *arn == s.state.InstanceArn {
		return nil
	}
	if !instanceArnRe.MatchString(*arn) {
		return json11.BadPattern("instanceArn", *arn, instanceArnRe, shownArn)
	}
	return json11.NotFound("Instance %s does not exist", awsproto.Truncate(*arn, 256))
}

// decodeInstance decodes the request into req, checks its InstanceArn
// member (arn points into req) and authorizes the call on the instance.
func (s *Service) decodeInstance(c *json11.Call, req any, arn **string) *awsproto.Error {
	if e := c.Decode(req); e != nil {
		return e
	}
	if e := s.instance(*arn); e != nil {
		return e
	}
	return c.Authorize(s.state.InstanceArn)
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

func (s *Service) describeApplication(c *json11.Call) (any, *awsproto.Error) {
	var req appRequest
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
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

func (s *Service) getAssignmentConfiguration(c *json11.Call) (any, *awsproto.Error) {
	var req appRequest
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	return map[string]any{"AssignmentRequired": a.AssignmentRequired}, nil
}

func (s *Service) getAuthenticationMethod(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn           *string
		AuthenticationMethodType *string
	}
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	a, e := s.app(req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	switch {
	case req.AuthenticationMethodType == nil:
		return nil, json11.Required("authenticationMethodType")
	case *req.AuthenticationMethodType != "IAM":
		return nil, json11.BadEnum("authenticationMethodType", *req.AuthenticationMethodType, "IAM")
	}
	if e := c.Authorize(a.Arn); e != nil {
		return nil, e
	}
	if a.ActorPolicy.IsZero() {
		return nil, json11.NotFound("Application %s has no IAM authentication method", a.Name)
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

// listGrants lists an application's grants; the operation has no
// MaxResults member.
func (s *Service) listGrants(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		NextToken      *string
	}
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	items := grantItems(a)
	page, next, e := json11.Page(c.Op, a.Arn, items, req.NextToken, nil, 10)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "Grants", Items: page, Next: next}, nil
}

type scopeDetails struct {
	Scope             string
	AuthorizedTargets []string `json:",omitempty"`
}

// appListRequest is the request of the list operations on an application.
type appListRequest struct {
	ApplicationArn *string
	MaxResults     *int
	NextToken      *string
}

func (s *Service) listAccessScopes(c *json11.Call) (any, *awsproto.Error) {
	var req appListRequest
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	page, next, e := json11.Page(c.Op, a.Arn, a.Scopes, req.NextToken, req.MaxResults, 10)
	if e != nil {
		return nil, e
	}
	scopes := make([]scopeDetails, 0, len(page))
	for _, sc := range page {
		scopes = append(scopes, scopeDetails{Scope: sc, AuthorizedTargets: a.ScopeTargets[sc]})
	}
	return json11.List{Member: "Scopes", Items: scopes, Next: next}, nil
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

func (s *Service) listAssignments(c *json11.Call) (any, *awsproto.Error) {
	var req appListRequest
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	page, next, e := json11.Page(c.Op, a.Arn, s.assignments(a), req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "ApplicationAssignments", Items: page, Next: next}, nil
}

func (s *Service) listAssignmentsForPrincipal(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		InstanceArn   *string
		PrincipalId   *string
		PrincipalType *string
		Filter        *struct{ ApplicationArn *string }
		MaxResults    *int
		NextToken     *string
	}
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := s.instance(req.InstanceArn); e != nil {
		return nil, e
	}
	switch {
	case req.PrincipalId == nil:
		return nil, json11.Required("principalId")
	case !principalIDRe.MatchString(*req.PrincipalId):
		return nil, json11.BadPattern("principalId", *req.PrincipalId, principalIDRe, shownArn)
	case req.PrincipalType == nil:
		return nil, json11.Required("principalType")
	case *req.PrincipalType != "USER" && *req.PrincipalType != "GROUP":
		return nil, json11.BadEnum("principalType", *req.PrincipalType, "USER", "GROUP")
	}
	var filterApp string
	if req.Filter != nil && req.Filter.ApplicationArn != nil {
		a, e := s.app(req.Filter.ApplicationArn)
		if e != nil {
			return nil, e
		}
		filterApp = a.Arn
	}
	if e := c.Authorize(s.state.InstanceArn); e != nil {
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
	page, next, e := json11.Page(c.Op, *req.PrincipalId+"\x00"+filterApp, all, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "ApplicationAssignments", Items: page, Next: next}, nil
}

type oidcJWTConfiguration struct {
	IssuerUrl                  string
	ClaimAttributePath         string
	IdentityStoreAttributePath string
	JwksRetrievalOption        string
}

func (s *Service) describeTrustedTokenIssuer(c *json11.Call) (any, *awsproto.Error) {
	var req struct{ TrustedTokenIssuerArn *string }
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if req.TrustedTokenIssuerArn == nil {
		return nil, json11.Required("trustedTokenIssuerArn")
	}
	var tti *identitycenter.TrustedTokenIssuer
	for _, t := range s.state.Issuers {
		if t.Arn == *req.TrustedTokenIssuerArn {
			tti = t
		}
	}
	if tti == nil {
		if !ttiArnRe.MatchString(*req.TrustedTokenIssuerArn) {
			return nil, json11.BadPattern("trustedTokenIssuerArn", *req.TrustedTokenIssuerArn, ttiArnRe, shownArn)
		}
		return nil, json11.NotFound("Trusted token issuer %s does not exist", awsproto.Truncate(*req.TrustedTokenIssuerArn, 256))
	}
	if e := c.Authorize(tti.Arn); e != nil {
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

func (s *Service) listTrustedTokenIssuers(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		InstanceArn *string
		MaxResults  *int
		NextToken   *string
	}
	if e := s.decodeInstance(c, &req, &req.InstanceArn); e != nil {
		return nil, e
	}
	page, next, e := json11.Page(c.Op, s.state.InstanceArn, s.state.Issuers, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	list := make([]ttiMetadata, 0, len(page))
	for _, t := range page {
		list = append(list, ttiMetadata{TrustedTokenIssuerArn: t.Arn, Name: t.Name, TrustedTokenIssuerType: "OIDC_JWT"})
	}
	return json11.List{Member: "TrustedTokenIssuers", Items: list, Next: next}, nil
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

func (s *Service) describeInstance(c *json11.Call) (any, *awsproto.Error) {
	var req struct{ InstanceArn *string }
	if e := s.decodeInstance(c, &req, &req.InstanceArn); e != nil {
		return nil, e
	}
	return s.instanceMetadata(), nil
}

func (s *Service) listInstances(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		MaxResults *int
		NextToken  *string
	}
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := c.Authorize("*"); e != nil {
		return nil, e
	}
	all := []instanceMetadata{s.instanceMetadata()}
	page, next, e := json11.Page(c.Op, "", all, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "Instances", Items: page, Next: next}, nil
}
