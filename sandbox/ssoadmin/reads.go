package ssoadmin

import (
	"encoding/json"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/world"
)

var providerArnRe = lazyre.New(`^arn:aws(-[a-z]{1,5}){0,3}:sso::aws:applicationProvider/[a-zA-Z0-9-/]+$`)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// reads are the read operations that complete the write APIs.
func (s *Service) reads() map[string]json11.Operation {
	return map[string]json11.Operation{
		"ListApplications":                     s.listApplications,
		"ListApplicationProviders":             s.listApplicationProviders,
		"GetApplicationGrant":                  s.getGrant,
		"ListApplicationAuthenticationMethods": s.listAuthenticationMethods,
		"GetApplicationAccessScope":            s.getAccessScope,
		"DescribeApplicationAssignment":        s.describeAssignment,
	}
}

// grantItems lists an application's grants in the model's order of types.
func grantItems(a *identitycenter.Application) []grantItem {
	var items []grantItem
	if a.AuthorizationCode != nil {
		items = append(items, grantItem{GrantType: GrantAuthorizationCode, Grant: grantBody(a, GrantAuthorizationCode)})
	}
	if len(a.Grants) > 0 {
		items = append(items, grantItem{GrantType: GrantJWTBearer, Grant: grantBody(a, GrantJWTBearer)})
	}
	if a.RefreshTokenGrant {
		items = append(items, grantItem{GrantType: GrantRefreshToken, Grant: grantBody(a, GrantRefreshToken)})
	}
	if a.TokenExchangeGrant {
		items = append(items, grantItem{GrantType: GrantTokenExchange, Grant: grantBody(a, GrantTokenExchange)})
	}
	return items
}

// grantBody is the Grant union of one grant type.
func grantBody(a *identitycenter.Application, typ string) map[string]any {
	switch typ {
	case GrantAuthorizationCode:
		uris := []string{}
		if a.AuthorizationCode != nil {
			uris = append(uris, a.AuthorizationCode.RedirectURIs...)
		}
		return map[string]any{"AuthorizationCode": map[string]any{"RedirectUris": uris}}
	case GrantJWTBearer:
		issuers := make([]authorizedTokenIssuer, 0, len(a.Grants))
		for _, g := range a.Grants {
			issuers = append(issuers, authorizedTokenIssuer{TrustedTokenIssuerArn: g.Issuer.Arn, AuthorizedAudiences: g.Audiences})
		}
		return map[string]any{"JwtBearer": map[string]any{"AuthorizedTokenIssuers": issuers}}
	case GrantRefreshToken:
		return map[string]any{"RefreshToken": map[string]any{}}
	}
	return map[string]any{"TokenExchange": map[string]any{}}
}

func (s *Service) getGrant(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		GrantType      *string
	}
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	if e := checkGrantType(req.GrantType); e != nil {
		return nil, e
	}
	if !hasGrant(&a.Application, *req.GrantType) {
		return nil, json11.NotFound("Application %s has no %s grant", a.Arn, *req.GrantType)
	}
	return map[string]any{"Grant": grantBody(a, *req.GrantType)}, nil
}

type applicationItem struct {
	describeApplicationResponse
	Description string `json:",omitempty"`
}

func (s *Service) applicationOut(a *identitycenter.Application) applicationItem {
	return applicationItem{describeApplicationResponse: describeApplicationResponse{
		ApplicationArn: a.Arn, ApplicationProviderArn: a.ProviderArn, Name: a.Name,
		ApplicationAccount: s.state.AccountID, InstanceArn: s.state.InstanceArn,
		IdentityStoreArn: s.state.IdentityStoreArn(), Status: a.Status,
		PortalOptions: portalOptions{Visibility: "DISABLED"},
		CreatedDate:   epoch(CreatedDate), CreatedFrom: s.state.Region,
	}, Description: a.Description}
}

func (s *Service) listApplications(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		InstanceArn *string
		MaxResults  *int
		NextToken   *string
		Filter      *struct{ ApplicationAccount, ApplicationProvider *string }
	}
	if e := s.decodeInstance(c, &req, &req.InstanceArn); e != nil {
		return nil, e
	}
	var all []applicationItem
	for _, a := range s.state.Apps {
		if f := req.Filter; f != nil && ((f.ApplicationAccount != nil && *f.ApplicationAccount != s.state.AccountID) ||
			(f.ApplicationProvider != nil && *f.ApplicationProvider != a.ProviderArn)) {
			continue
		}
		all = append(all, s.applicationOut(a))
	}
	page, next, e := json11.Page(c.Op, s.state.InstanceArn, all, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "Applications", Items: page, Next: next}, nil
}

type applicationProvider struct {
	ApplicationProviderArn string
	FederationProtocol     string
	DisplayData            map[string]string
}

func (s *Service) listApplicationProviders(c *json11.Call) (any, *awsproto.Error) {
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
	all := []applicationProvider{{ApplicationProviderArn: world.CustomApplicationProvider, FederationProtocol: "OAUTH",
		DisplayData: map[string]string{"DisplayName": "Custom OAuth 2.0 application",
			"Description": "A customer managed application that uses trusted identity propagation"}}}
	page, next, e := json11.Page(c.Op, "", all, req.NextToken, req.MaxResults, 100)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "ApplicationProviders", Items: page, Next: next}, nil
}

type authenticationMethodItem struct {
	AuthenticationMethodType string
	AuthenticationMethod     map[string]any
}

func (s *Service) listAuthenticationMethods(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		NextToken      *string
	}
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	var all []authenticationMethodItem
	if !a.ActorPolicy.IsZero() {
		all = append(all, authenticationMethodItem{AuthenticationMethodType: "IAM",
			AuthenticationMethod: map[string]any{"Iam": map[string]any{"ActorPolicy": a.ActorPolicy.JSON}}})
	}
	page, next, e := json11.Page(c.Op, a.Arn, all, req.NextToken, nil, 10)
	if e != nil {
		return nil, e
	}
	return json11.List{Member: "AuthenticationMethods", Items: page, Next: next}, nil
}

func (s *Service) getAccessScope(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		Scope          *string
	}
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	if e := checkString("scope", req.Scope, scopeRe, 256); e != nil {
		return nil, e
	}
	if !contains(a.Scopes, *req.Scope) {
		return nil, json11.NotFound("Application %s has no access scope %s", a.Arn, *req.Scope)
	}
	return scopeDetails{Scope: *req.Scope, AuthorizedTargets: a.ScopeTargets[*req.Scope]}, nil
}

func (s *Service) describeAssignment(c *json11.Call) (any, *awsproto.Error) {
	var req assignmentRequest
	a, e := s.decodeApp(c, &req, &req.ApplicationArn)
	if e != nil {
		return nil, e
	}
	if e := checkString("principalId", req.PrincipalId, principalIDRe, 47); e != nil {
		return nil, e
	}
	if req.PrincipalType == nil {
		return nil, json11.Required("principalType")
	}
	for _, as := range s.assignments(a) {
		if as.PrincipalId == *req.PrincipalId && as.PrincipalType == *req.PrincipalType {
			return as, nil
		}
	}
	return nil, json11.NotFound("The principal %s is not assigned to application %s", *req.PrincipalId, a.Arn)
}
