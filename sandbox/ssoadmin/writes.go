package ssoadmin

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/awsproto/json11"
	"github.com/tipctl/tipctl/sandbox/world"
)

// The write operations change the live world (env.Change): each runs
// under the sandbox's write lock and takes effect for the next request.

// Grant types beyond the two the world started with.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
)

var grantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantJWTBearer, GrantTokenExchange}

// Model patterns of the written members (botocore sso-admin 2020-07-20).
var (
	ttiNameRe = lazyre.New(`^[\w+=,.@-]+$`)
	scopeRe   = lazyre.New(`^([A-Za-z0-9_]{1,50})(:[A-Za-z0-9_]{1,50}){0,1}(:[A-Za-z0-9_]{1,50}){0,1}$`)
	targetRe  = lazyre.New(`^arn:aws(-[a-z]{1,5}){0,3}:sso::(\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}|:instance/(sso)?ins-[a-zA-Z0-9-.]{16})$`)
	urlRe     = lazyre.New(`^https?://[^\s]+$`)
)

func (s *Service) writes() map[string]json11.Operation {
	return map[string]json11.Operation{
		"CreateTrustedTokenIssuer":              s.createTrustedTokenIssuer,
		"UpdateTrustedTokenIssuer":              s.updateTrustedTokenIssuer,
		"DeleteTrustedTokenIssuer":              s.deleteTrustedTokenIssuer,
		"CreateApplication":                     s.createApplication,
		"UpdateApplication":                     s.updateApplication,
		"DeleteApplication":                     s.deleteApplication,
		"PutApplicationGrant":                   s.putGrant,
		"DeleteApplicationGrant":                s.deleteGrant,
		"PutApplicationAuthenticationMethod":    s.putAuthenticationMethod,
		"DeleteApplicationAuthenticationMethod": s.deleteAuthenticationMethod,
		"PutApplicationAccessScope":             s.putAccessScope,
		"DeleteApplicationAccessScope":          s.deleteAccessScope,
		"PutApplicationAssignmentConfiguration": s.putAssignmentConfiguration,
		"CreateApplicationAssignment":           s.createAssignment,
		"DeleteApplicationAssignment":           s.deleteAssignment,
	}
}

func conflict(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ConflictException", format, a...)
}

// checkString validates a required string member against its pattern and length.
func checkString(member string, v *string, re *lazyre.Regexp, max int) *awsproto.Error {
	switch {
	case v == nil:
		return json11.Required(member)
	case len(*v) < 1 || len(*v) > max:
		return json11.Validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length between 1 and %d", member, max)
	case re != nil && !re.MatchString(*v):
		return json11.BadPattern(member, *v, re, shownArn)
	}
	return nil
}

// appArn checks an ApplicationArn member and authorizes the call on it.
func (s *Service) appArn(c *json11.Call, arn *string) *awsproto.Error {
	if e := checkString("applicationArn", arn, appArnRe, 1224); e != nil {
		return e
	}
	return c.Authorize(*arn)
}

// appIn finds the application in the world being changed.
func (s *Service) appIn(w *world.World, arn string) (*world.Application, *awsproto.Error) {
	if a := w.IdentityCenter.App(arn); a != nil {
		return a, nil
	}
	return nil, json11.NotFound("Application %s does not exist in instance %s", awsproto.Truncate(arn, 256), s.state.InstanceArn)
}

// appCall decodes an application request into req, checks and authorizes
// the ApplicationArn that arn points to, then runs checks in order.
func (s *Service) appCall(c *json11.Call, req any, arn **string, checks ...func() *awsproto.Error) *awsproto.Error {
	if e := c.Decode(req); e != nil {
		return e
	}
	if e := s.appArn(c, *arn); e != nil {
		return e
	}
	for _, check := range checks {
		if e := check(); e != nil {
			return e
		}
	}
	return nil
}

// appChange runs f on the application arn names and answers {}.
func (s *Service) appChange(arn *string, f func(w *world.World, a *world.Application) *awsproto.Error) (any, *awsproto.Error) {
	return map[string]any{}, s.changeApp(*arn, f)
}

// change runs f on the application named by arn in a copy of the world.
func (s *Service) changeApp(arn string, f func(w *world.World, a *world.Application) *awsproto.Error) *awsproto.Error {
	return s.env.Change(func(w *world.World) *awsproto.Error {
		a, e := s.appIn(w, arn)
		if e != nil {
			return e
		}
		return f(w, a)
	})
}

type oidcJWTIn struct {
	IssuerUrl                  *string
	ClaimAttributePath         *string
	IdentityStoreAttributePath *string
	JwksRetrievalOption        *string
}

func checkAttrPath(v *string) *awsproto.Error {
	if v != nil && !contains(world.StoreAttributePaths, *v) {
		return json11.Validation("IdentityStoreAttributePath %q is not supported; use one of %s",
			awsproto.Truncate(*v, 64), strings.Join(world.StoreAttributePaths, ", "))
	}
	return nil
}

func checkJWKS(v *string) *awsproto.Error {
	if v != nil && *v != "OPEN_ID_DISCOVERY" {
		return json11.BadEnum("jwksRetrievalOption", *v, "OPEN_ID_DISCOVERY")
	}
	return nil
}

func (s *Service) createTrustedTokenIssuer(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		InstanceArn                     *string
		Name                            *string
		TrustedTokenIssuerType          *string
		TrustedTokenIssuerConfiguration *struct{ OidcJwtConfiguration *oidcJWTIn }
		ClientToken                     *string
		Tags                            []struct{ Key, Value *string }
	}
	if e := s.decodeInstance(c, &req, &req.InstanceArn); e != nil {
		return nil, e
	}
	if e := checkString("name", req.Name, ttiNameRe, 255); e != nil {
		return nil, e
	}
	switch {
	case req.TrustedTokenIssuerType == nil:
		return nil, json11.Required("trustedTokenIssuerType")
	case *req.TrustedTokenIssuerType != "OIDC_JWT":
		return nil, json11.BadEnum("trustedTokenIssuerType", *req.TrustedTokenIssuerType, "OIDC_JWT")
	case req.TrustedTokenIssuerConfiguration == nil:
		return nil, json11.Required("trustedTokenIssuerConfiguration")
	case req.TrustedTokenIssuerConfiguration.OidcJwtConfiguration == nil:
		return nil, json11.Validation("TrustedTokenIssuerConfiguration must hold OidcJwtConfiguration for type OIDC_JWT")
	}
	cfg := req.TrustedTokenIssuerConfiguration.OidcJwtConfiguration
	for _, m := range []struct {
		name string
		v    *string
		re   *lazyre.Regexp
	}{{"issuerUrl", cfg.IssuerUrl, urlRe}, {"claimAttributePath", cfg.ClaimAttributePath, nil},
		{"identityStoreAttributePath", cfg.IdentityStoreAttributePath, nil}, {"jwksRetrievalOption", cfg.JwksRetrievalOption, nil}} {
		if e := checkString("trustedTokenIssuerConfiguration.oidcJwtConfiguration."+m.name, m.v, m.re, 1024); e != nil {
			return nil, e
		}
	}
	if e := checkAttrPath(cfg.IdentityStoreAttributePath); e != nil {
		return nil, e
	}
	if e := checkJWKS(cfg.JwksRetrievalOption); e != nil {
		return nil, e
	}
	var arn string
	e := s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		for _, t := range ic.TrustedTokenIssuers {
			if t.Name == *req.Name {
				return conflict("A trusted token issuer named %s already exists", *req.Name)
			}
			if t.IssuerURL == *cfg.IssuerUrl {
				return conflict("The trusted token issuer %s already has the issuer URL %s", t.Name, awsproto.Truncate(*cfg.IssuerUrl, 256))
			}
		}
		arn = fmt.Sprintf("arn:aws:sso::%s:trustedTokenIssuer/%s/tti-%s", w.AccountID, ic.InstanceID(), world.RandomUUID())
		ic.TrustedTokenIssuers = append(ic.TrustedTokenIssuers, world.TrustedTokenIssuer{Name: *req.Name, Arn: arn,
			IssuerURL: *cfg.IssuerUrl, ClaimAttributePath: *cfg.ClaimAttributePath, IdentityStoreAttributePath: *cfg.IdentityStoreAttributePath})
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]string{"TrustedTokenIssuerArn": arn}, nil
}

// ttiArn checks a TrustedTokenIssuerArn member and authorizes the call on it.
func (s *Service) ttiArn(c *json11.Call, arn *string) *awsproto.Error {
	if e := checkString("trustedTokenIssuerArn", arn, ttiArnRe, 1224); e != nil {
		return e
	}
	return c.Authorize(*arn)
}

func ttiNotFound(arn string) *awsproto.Error {
	return json11.NotFound("Trusted token issuer %s does not exist", awsproto.Truncate(arn, 256))
}

func (s *Service) updateTrustedTokenIssuer(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		TrustedTokenIssuerArn           *string
		Name                            *string
		TrustedTokenIssuerConfiguration *struct{ OidcJwtConfiguration *oidcJWTIn }
	}
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := s.ttiArn(c, req.TrustedTokenIssuerArn); e != nil {
		return nil, e
	}
	if req.Name != nil {
		if e := checkString("name", req.Name, ttiNameRe, 255); e != nil {
			return nil, e
		}
	}
	var cfg *oidcJWTIn
	if req.TrustedTokenIssuerConfiguration != nil {
		cfg = req.TrustedTokenIssuerConfiguration.OidcJwtConfiguration
	}
	if cfg != nil {
		if cfg.IssuerUrl != nil {
			return nil, json11.Validation("The issuer URL of a trusted token issuer cannot be changed; create a new one")
		}
		if e := checkAttrPath(cfg.IdentityStoreAttributePath); e != nil {
			return nil, e
		}
		if e := checkJWKS(cfg.JwksRetrievalOption); e != nil {
			return nil, e
		}
	}
	e := s.env.Change(func(w *world.World) *awsproto.Error {
		t := w.IdentityCenter.Issuer(*req.TrustedTokenIssuerArn)
		if t == nil {
			return ttiNotFound(*req.TrustedTokenIssuerArn)
		}
		if req.Name != nil && *req.Name != t.Name {
			for _, o := range w.IdentityCenter.TrustedTokenIssuers {
				if o.Name == *req.Name {
					return conflict("A trusted token issuer named %s already exists", *req.Name)
				}
			}
			t.Name = *req.Name
		}
		if cfg != nil && cfg.ClaimAttributePath != nil {
			t.ClaimAttributePath = *cfg.ClaimAttributePath
		}
		if cfg != nil && cfg.IdentityStoreAttributePath != nil {
			t.IdentityStoreAttributePath = *cfg.IdentityStoreAttributePath
		}
		return nil
	})
	return map[string]any{}, e
}

func (s *Service) deleteTrustedTokenIssuer(c *json11.Call) (any, *awsproto.Error) {
	var req struct{ TrustedTokenIssuerArn *string }
	if e := c.Decode(&req); e != nil {
		return nil, e
	}
	if e := s.ttiArn(c, req.TrustedTokenIssuerArn); e != nil {
		return nil, e
	}
	arn := *req.TrustedTokenIssuerArn
	e := s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		t := ic.Issuer(arn)
		if t == nil {
			return ttiNotFound(arn)
		}
		for _, a := range ic.Applications {
			for _, g := range a.JWTBearer {
				if g.TrustedTokenIssuer == arn || g.TrustedTokenIssuer == t.Name {
					return conflict("The trusted token issuer %s is used by the jwt-bearer grant of application %s; delete that grant first", t.Name, a.Arn)
				}
			}
		}
		ic.TrustedTokenIssuers = world.Remove(ic.TrustedTokenIssuers, func(x *world.TrustedTokenIssuer) bool { return x.Arn == arn })
		return nil
	})
	return map[string]any{}, e
}

type portalIn struct {
	SignInOptions *struct{ Origin, ApplicationUrl *string }
	Visibility    *string
}

func (s *Service) createApplication(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		InstanceArn            *string
		ApplicationProviderArn *string
		Name                   *string
		Description            *string
		PortalOptions          *portalIn
		Tags                   []struct{ Key, Value *string }
		Status                 *string
		ClientToken            *string
	}
	if e := s.decodeInstance(c, &req, &req.InstanceArn); e != nil {
		return nil, e
	}
	if e := checkString("applicationProviderArn", req.ApplicationProviderArn, providerArnRe, 1224); e != nil {
		return nil, e
	}
	if e := checkString("name", req.Name, nil, 100); e != nil {
		return nil, e
	}
	if req.Status != nil && *req.Status != "ENABLED" && *req.Status != "DISABLED" {
		return nil, json11.BadEnum("status", *req.Status, "ENABLED", "DISABLED")
	}
	if *req.ApplicationProviderArn != world.CustomApplicationProvider {
		return nil, json11.NotFound("Application provider %s does not exist (the sandbox offers %s)",
			awsproto.Truncate(*req.ApplicationProviderArn, 256), world.CustomApplicationProvider)
	}
	var arn string
	e := s.env.Change(func(w *world.World) *awsproto.Error {
		ic := &w.IdentityCenter
		for _, a := range ic.Applications {
			if a.Name == *req.Name {
				return conflict("An application named %s already exists in instance %s", *req.Name, ic.InstanceArn)
			}
		}
		arn = fmt.Sprintf("arn:aws:sso::%s:application/%s/apl-%s", w.AccountID, ic.InstanceID(), world.RandomHex(16))
		a := world.Application{Name: *req.Name, Arn: arn, ProviderArn: *req.ApplicationProviderArn, Status: "ENABLED"}
		if req.Status != nil {
			a.Status = *req.Status
		}
		if req.Description != nil {
			a.Description = *req.Description
		}
		// A new application requires assignments until told otherwise, as in AWS.
		a.AssignmentRequired = true
		ic.Applications = append(ic.Applications, a)
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]string{"ApplicationArn": arn, "InstanceArn": s.state.InstanceArn, "IdentityStoreArn": s.state.IdentityStoreArn()}, nil
}

func (s *Service) updateApplication(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		Name           *string
		Description    *string
		Status         *string
		PortalOptions  *portalIn
	}
	if e := s.appCall(c, &req, &req.ApplicationArn); e != nil {
		return nil, e
	}
	if req.Name != nil {
		if e := checkString("name", req.Name, nil, 100); e != nil {
			return nil, e
		}
	}
	if req.Status != nil && *req.Status != "ENABLED" && *req.Status != "DISABLED" {
		return nil, json11.BadEnum("status", *req.Status, "ENABLED", "DISABLED")
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		if req.Name != nil && *req.Name != a.Name {
			for _, o := range w.IdentityCenter.Applications {
				if o.Name == *req.Name {
					return conflict("An application named %s already exists", *req.Name)
				}
			}
			a.Name = *req.Name
		}
		if req.Description != nil {
			a.Description = *req.Description
		}
		if req.Status != nil {
			a.Status = *req.Status
		}
		return nil
	})
}

func (s *Service) deleteApplication(c *json11.Call) (any, *awsproto.Error) {
	var req appRequest
	if e := s.appCall(c, &req, &req.ApplicationArn); e != nil {
		return nil, e
	}
	arn := *req.ApplicationArn
	e := s.env.Change(func(w *world.World) *awsproto.Error {
		if _, e := s.appIn(w, arn); e != nil {
			return e
		}
		ic := &w.IdentityCenter
		ic.Applications = world.Remove(ic.Applications, func(a *world.Application) bool { return a.Arn == arn })
		for i := range ic.Applications {
			for sc, targets := range ic.Applications[i].ScopeTargets {
				ic.Applications[i].ScopeTargets[sc] = world.Remove(targets, func(t *string) bool { return *t == arn })
			}
		}
		return nil
	})
	return map[string]any{}, e
}

type grantIn struct {
	AuthorizationCode *struct{ RedirectUris []string }
	JwtBearer         *struct {
		AuthorizedTokenIssuers []struct {
			TrustedTokenIssuerArn *string
			AuthorizedAudiences   []string
		}
	}
	RefreshToken  *struct{}
	TokenExchange *struct{}
}

func checkGrantType(v *string) *awsproto.Error {
	switch {
	case v == nil:
		return json11.Required("grantType")
	case !contains(grantTypes, *v):
		return json11.BadEnum("grantType", *v, grantTypes...)
	}
	return nil
}

func (s *Service) putGrant(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		GrantType      *string
		Grant          *grantIn
	}
	if e := s.appCall(c, &req, &req.ApplicationArn, func() *awsproto.Error { return checkGrantType(req.GrantType) }); e != nil {
		return nil, e
	}
	if req.Grant == nil {
		return nil, json11.Required("grant")
	}
	g, typ := req.Grant, *req.GrantType
	union := map[string]bool{GrantAuthorizationCode: g.AuthorizationCode != nil, GrantJWTBearer: g.JwtBearer != nil,
		GrantRefreshToken: g.RefreshToken != nil, GrantTokenExchange: g.TokenExchange != nil}
	n := 0
	for _, set := range union {
		if set {
			n++
		}
	}
	if n != 1 || !union[typ] {
		return nil, json11.Validation("Grant must set exactly the member of grant type %s", typ)
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		switch typ {
		case GrantAuthorizationCode:
			for _, u := range g.AuthorizationCode.RedirectUris {
				if !urlRe.MatchString(u) {
					return json11.Validation("RedirectUris: %q is not an http(s) URI", awsproto.Truncate(u, 128))
				}
			}
			a.AuthorizationCode = &world.AuthorizationCodeGrant{RedirectURIs: g.AuthorizationCode.RedirectUris}
		case GrantRefreshToken:
			a.RefreshTokenGrant = true
		case GrantTokenExchange:
			a.TokenExchangeGrant = true
		case GrantJWTBearer:
			var grants []world.JWTBearerGrant
			for _, t := range g.JwtBearer.AuthorizedTokenIssuers {
				if e := checkString("grant.jwtBearer.authorizedTokenIssuers.member.trustedTokenIssuerArn", t.TrustedTokenIssuerArn, ttiArnRe, 1224); e != nil {
					return e
				}
				if w.IdentityCenter.Issuer(*t.TrustedTokenIssuerArn) == nil {
					return ttiNotFound(*t.TrustedTokenIssuerArn)
				}
				if len(t.AuthorizedAudiences) == 0 {
					return json11.Validation("AuthorizedAudiences of %s must name at least one audience", *t.TrustedTokenIssuerArn)
				}
				grants = append(grants, world.JWTBearerGrant{TrustedTokenIssuer: *t.TrustedTokenIssuerArn, Audiences: t.AuthorizedAudiences})
			}
			a.JWTBearer = grants
		}
		return nil
	})
}

func (s *Service) deleteGrant(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		GrantType      *string
	}
	if e := s.appCall(c, &req, &req.ApplicationArn, func() *awsproto.Error { return checkGrantType(req.GrantType) }); e != nil {
		return nil, e
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		if !hasGrant(a, *req.GrantType) {
			return json11.NotFound("Application %s has no %s grant", a.Arn, *req.GrantType)
		}
		switch *req.GrantType {
		case GrantAuthorizationCode:
			a.AuthorizationCode = nil
		case GrantRefreshToken:
			a.RefreshTokenGrant = false
		case GrantTokenExchange:
			a.TokenExchangeGrant = false
		case GrantJWTBearer:
			a.JWTBearer = nil
		}
		return nil
	})
}

func hasGrant(a *world.Application, typ string) bool {
	switch typ {
	case GrantAuthorizationCode:
		return a.AuthorizationCode != nil
	case GrantRefreshToken:
		return a.RefreshTokenGrant
	case GrantTokenExchange:
		return a.TokenExchangeGrant
	case GrantJWTBearer:
		return len(a.JWTBearer) > 0
	}
	return false
}

func checkMethodType(v *string) *awsproto.Error {
	switch {
	case v == nil:
		return json11.Required("authenticationMethodType")
	case *v != "IAM":
		return json11.BadEnum("authenticationMethodType", *v, "IAM")
	}
	return nil
}

func (s *Service) putAuthenticationMethod(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn           *string
		AuthenticationMethodType *string
		AuthenticationMethod     *struct {
			Iam *struct{ ActorPolicy any }
		}
	}
	if e := s.appCall(c, &req, &req.ApplicationArn, func() *awsproto.Error { return checkMethodType(req.AuthenticationMethodType) }); e != nil {
		return nil, e
	}
	if req.AuthenticationMethod == nil || req.AuthenticationMethod.Iam == nil || req.AuthenticationMethod.Iam.ActorPolicy == nil {
		return nil, json11.Required("authenticationMethod.iam.actorPolicy")
	}
	doc, err := policyJSON(req.AuthenticationMethod.Iam.ActorPolicy)
	if err != nil {
		return nil, json11.Validation("ActorPolicy is not a valid IAM policy: %v", err)
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		a.ActorPolicy = world.Policy{JSON: doc}
		return nil
	})
}

func (s *Service) deleteAuthenticationMethod(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn           *string
		AuthenticationMethodType *string
	}
	if e := s.appCall(c, &req, &req.ApplicationArn, func() *awsproto.Error { return checkMethodType(req.AuthenticationMethodType) }); e != nil {
		return nil, e
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		if a.ActorPolicy.IsZero() {
			return json11.NotFound("Application %s has no IAM authentication method", a.Arn)
		}
		a.ActorPolicy = world.Policy{}
		return nil
	})
}

func (s *Service) putAccessScope(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		Scope             *string
		AuthorizedTargets []string
		ApplicationArn    *string
	}
	if e := s.appCall(c, &req, &req.ApplicationArn, func() *awsproto.Error { return checkString("scope", req.Scope, scopeRe, 256) }); e != nil {
		return nil, e
	}
	for _, t := range req.AuthorizedTargets {
		if !targetRe.MatchString(t) {
			return nil, json11.BadPattern("authorizedTargets.member", t, targetRe, shownArn)
		}
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		if !contains(a.Scopes, *req.Scope) {
			a.Scopes = append(a.Scopes, *req.Scope)
		}
		if a.ScopeTargets == nil {
			a.ScopeTargets = map[string][]string{}
		}
		delete(a.ScopeTargets, *req.Scope)
		if len(req.AuthorizedTargets) > 0 {
			a.ScopeTargets[*req.Scope] = req.AuthorizedTargets
		}
		return nil
	})
}

func (s *Service) deleteAccessScope(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn *string
		Scope          *string
	}
	if e := s.appCall(c, &req, &req.ApplicationArn, func() *awsproto.Error { return checkString("scope", req.Scope, scopeRe, 256) }); e != nil {
		return nil, e
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		if !contains(a.Scopes, *req.Scope) {
			return json11.NotFound("Application %s has no access scope %s", a.Arn, *req.Scope)
		}
		a.Scopes = world.Remove(a.Scopes, func(x *string) bool { return *x == *req.Scope })
		delete(a.ScopeTargets, *req.Scope)
		return nil
	})
}

func (s *Service) putAssignmentConfiguration(c *json11.Call) (any, *awsproto.Error) {
	var req struct {
		ApplicationArn     *string
		AssignmentRequired *bool
	}
	if e := s.appCall(c, &req, &req.ApplicationArn); e != nil {
		return nil, e
	}
	if req.AssignmentRequired == nil {
		return nil, json11.Required("assignmentRequired")
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		a.AssignmentRequired = *req.AssignmentRequired
		return nil
	})
}

type assignmentRequest struct {
	ApplicationArn *string
	PrincipalId    *string
	PrincipalType  *string
}

func (s *Service) decodeAssignment(c *json11.Call) (assignmentRequest, *awsproto.Error) {
	var req assignmentRequest
	if e := s.appCall(c, &req, &req.ApplicationArn); e != nil {
		return req, e
	}
	if e := checkString("principalId", req.PrincipalId, principalIDRe, 47); e != nil {
		return req, e
	}
	switch {
	case req.PrincipalType == nil:
		return req, json11.Required("principalType")
	case *req.PrincipalType != "USER" && *req.PrincipalType != "GROUP":
		return req, json11.BadEnum("principalType", *req.PrincipalType, "USER", "GROUP")
	}
	return req, nil
}

// principalName resolves an assignment's principal id to the name the world uses.
func principalName(w *world.World, typ, id string) (string, *awsproto.Error) {
	if typ == "USER" {
		if u := w.IdentityCenter.UserByID(id); u != nil {
			return u.UserName, nil
		}
	} else if g := w.IdentityCenter.GroupByID(id); g != nil {
		return g.Name, nil
	}
	return "", json11.NotFound("The %s %s does not exist in identity store %s", strings.ToLower(typ), id, w.IdentityCenter.IdentityStoreID)
}

// changeAssignment runs f on the application and the principal (by the
// name the world uses) of an assignment request.
func (s *Service) changeAssignment(c *json11.Call, f func(a *world.Application, req assignmentRequest, name string) *awsproto.Error) (any, *awsproto.Error) {
	req, e := s.decodeAssignment(c)
	if e != nil {
		return nil, e
	}
	return s.appChange(req.ApplicationArn, func(w *world.World, a *world.Application) *awsproto.Error {
		name, e := principalName(w, *req.PrincipalType, *req.PrincipalId)
		if e != nil {
			return e
		}
		return f(a, req, name)
	})
}

func (s *Service) createAssignment(c *json11.Call) (any, *awsproto.Error) {
	return s.changeAssignment(c, func(a *world.Application, req assignmentRequest, name string) *awsproto.Error {
		for _, as := range a.Assignments {
			if as.PrincipalType == *req.PrincipalType && as.Principal == name {
				return conflict("The %s %s is already assigned to application %s", strings.ToLower(*req.PrincipalType), *req.PrincipalId, a.Arn)
			}
		}
		a.Assignments = append(a.Assignments, world.Assignment{PrincipalType: *req.PrincipalType, Principal: name})
		return nil
	})
}

func (s *Service) deleteAssignment(c *json11.Call) (any, *awsproto.Error) {
	return s.changeAssignment(c, func(a *world.Application, req assignmentRequest, name string) *awsproto.Error {
		n := len(a.Assignments)
		a.Assignments = world.Remove(a.Assignments, func(as *world.Assignment) bool {
			return as.PrincipalType == *req.PrincipalType && as.Principal == name
		})
		if len(a.Assignments) == n {
			return json11.NotFound("The %s %s is not assigned to application %s", strings.ToLower(*req.PrincipalType), *req.PrincipalId, a.Arn)
		}
		return nil
	})
}

// policyJSON re-encodes a policy document given as a JSON value and parses it.
func policyJSON(v any) ([]byte, error) {
	b, err := jsonMarshal(v)
	if err != nil {
		return nil, err
	}
	if _, err := iampolicy.Parse(b); err != nil {
		return nil, err
	}
	return b, nil
}
