package identitycenter

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/jwtverify"
)

// OAuth grant and token types of CreateTokenWithIAM.
const (
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	GrantRefreshToken      = "refresh_token"
	GrantAuthorizationCode = "authorization_code"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeRefreshToken  = "urn:ietf:params:oauth:token-type:refresh_token"
)

// Token lifetimes.
const (
	// TokenTTL is the lifetime of access and id tokens (expiresIn) and of the identity context.
	TokenTTL = time.Hour
	// RefreshTTL is the lifetime of a refresh token.
	RefreshTTL = 90 * 24 * time.Hour
)

// ActionCreateTokenWithIAM is the IAM action the caller and the actor policy must allow.
const ActionCreateTokenWithIAM = "sso-oauth:CreateTokenWithIAM"

// OIDC serves the SSO OIDC API (restJson1, signing name sso-oauth):
// CreateTokenWithIAM, POST /token?aws_iam=t.
type OIDC struct {
	env    *env.Env
	state  *State
	signIn SignIn
}

// NewOIDC returns the SSO OIDC handler over s.
func NewOIDC(e *env.Env, s *State) *OIDC { return &OIDC{env: e, state: s} }

// HTTP statuses and RFC 6749 error codes of the modeled SSO OIDC errors (botocore sso-oidc 2019-06-10).
var oidcErrors = map[string]struct {
	status int
	oauth  string
}{
	"AccessDeniedException":         {400, "access_denied"},
	"InvalidClientException":        {401, "invalid_client"},
	"InvalidGrantException":         {400, "invalid_grant"},
	"InvalidRequestException":       {400, "invalid_request"},
	"InvalidScopeException":         {400, "invalid_scope"},
	"UnauthorizedClientException":   {400, "unauthorized_client"},
	"UnsupportedGrantTypeException": {400, "unsupported_grant_type"},
	"InternalServerException":       {500, "server_error"},
}

func oidcError(code, format string, a ...any) *awsproto.Error {
	m := oidcErrors[code]
	e := awsproto.Errorf(m.status, code, format, a...)
	e.OAuth = m.oauth
	e.Receiver = m.status >= 500
	return e
}

// ServeHTTP routes SSO OIDC requests.
func (h *OIDC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := awsproto.NewRequestID()
	// The Date header is the sandbox clock (SDK clock skew correction follows it).
	w.Header().Set("Date", h.env.Now().Format(http.TimeFormat))
	var res any
	var e *awsproto.Error
	switch {
	case r.URL.Path == PathAuthorize:
		h.env.Stats.Inc("sso-oauth:Authorize")
		h.authorize(w, r)
		return
	case r.URL.Path == "/token" && r.Method == http.MethodPost && r.URL.Query().Get("aws_iam") == "t":
		h.env.Stats.Inc("sso-oauth:CreateTokenWithIAM")
		callctx.SetOperation(r.Context(), "CreateTokenWithIAM")
		res, e = h.createTokenWithIAM(r)
	case r.URL.Path == "/token" && r.Method == http.MethodPost:
		h.env.Stats.Inc("sso-oauth:CreateToken")
		callctx.SetOperation(r.Context(), "CreateToken")
		e = oidcError("InvalidClientException", "the sandbox registers no public OIDC clients, so CreateToken has no valid clientId; "+
			"use CreateTokenWithIAM (POST /token?aws_iam=t) with an application ARN")
	default:
		e = awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"SSO OIDC has no operation at %s %s; the sandbox serves CreateTokenWithIAM (POST /token?aws_iam=t)",
			r.Method, awsproto.Truncate(r.URL.Path, 80))
	}
	if e != nil {
		awsproto.WriteError(w, awsproto.RestJSON, e, rid)
		return
	}
	awsproto.WriteJSON(w, awsproto.RestJSON, http.StatusOK, res, rid)
}

type createTokenWithIAMRequest struct {
	ClientID           string   `json:"clientId"`
	GrantType          string   `json:"grantType"`
	Code               string   `json:"code"`
	RefreshToken       string   `json:"refreshToken"`
	Assertion          string   `json:"assertion"`
	Scope              []string `json:"scope"`
	RedirectURI        string   `json:"redirectUri"`
	SubjectToken       string   `json:"subjectToken"`
	SubjectTokenType   string   `json:"subjectTokenType"`
	RequestedTokenType string   `json:"requestedTokenType"`
	CodeVerifier       string   `json:"codeVerifier"`
}

type awsAdditionalDetails struct {
	IdentityContext string `json:"identityContext"`
}

type createTokenWithIAMResponse struct {
	AccessToken          string                `json:"accessToken"`
	TokenType            string                `json:"tokenType"`
	ExpiresIn            int                   `json:"expiresIn"`
	RefreshToken         string                `json:"refreshToken,omitempty"`
	IDToken              string                `json:"idToken"`
	IssuedTokenType      string                `json:"issuedTokenType"`
	Scope                []string              `json:"scope"`
	AwsAdditionalDetails *awsAdditionalDetails `json:"awsAdditionalDetails,omitempty"`
}

func (h *OIDC) createTokenWithIAM(r *http.Request) (any, *awsproto.Error) {
	body, e := awsproto.ReadBody(r, awsproto.MaxAPIBody)
	if e != nil {
		return nil, e
	}
	h.env.RLock()
	defer h.env.RUnlock()
	caller, e := h.env.Authenticate(r, body, awsproto.VerifyOptions{})
	e = awsproto.JSONAuthError(e, awsproto.RestJSON)
	if e != nil {
		return nil, e
	}
	var req createTokenWithIAMRequest
	if e := awsproto.DecodeJSON(body, &req, "InvalidRequestException"); e != nil {
		e.OAuth = "invalid_request"
		return nil, e
	}
	if req.ClientID == "" {
		return nil, oidcError("InvalidRequestException", "clientId is required: the ARN of the Identity Center application")
	}
	if req.GrantType == "" {
		return nil, oidcError("InvalidRequestException", "grantType is required")
	}
	now := h.env.Now()
	cond := map[string][]string{
		"aws:PrincipalArn":     {principalArn(caller)},
		"aws:PrincipalAccount": {caller.AccountID},
		"aws:CurrentTime":      {now.Format(time.RFC3339)},
	}
	if !caller.Admin && !caller.Allowed(ActionCreateTokenWithIAM, req.ClientID, cond) {
		callctx.Deny(r.Context(), callctx.IdentityPolicy(caller, ActionCreateTokenWithIAM, req.ClientID,
			caller.Explain(ActionCreateTokenWithIAM, req.ClientID, cond)))
		return nil, oidcError("AccessDeniedException", "User: %s is not authorized to perform: %s on resource: %s",
			caller.Arn, ActionCreateTokenWithIAM, awsproto.Truncate(req.ClientID, 256))
	}
	app := h.state.App(req.ClientID)
	if app == nil || app.Arn != req.ClientID {
		return nil, oidcError("InvalidClientException", "no Identity Center application has the ARN %s (clientId must be the application ARN)",
			awsproto.Truncate(req.ClientID, 256))
	}
	if app.Actor == nil || app.Actor.Evaluate(iampolicy.Request{Action: ActionCreateTokenWithIAM, Resource: app.Arn,
		Caller: caller.Caller(), Context: cond}) != iampolicy.Allow {
		x := iampolicy.Explain(iampolicy.Request{Action: ActionCreateTokenWithIAM, Resource: app.Arn, Caller: caller.Caller(), Context: cond}, app.Actor)
		callctx.Deny(r.Context(), callctx.Policy("application-actor-policy", app.Arn, ActionCreateTokenWithIAM, app.Arn, x))
		return nil, oidcError("AccessDeniedException", "%s is not allowed to call %s by the actor policy of application %s",
			caller.Arn, ActionCreateTokenWithIAM, app.Name)
	}
	if app.Status != "" && app.Status != "ENABLED" {
		return nil, oidcError("InvalidClientException", "application %s is %s; enable it to issue tokens", app.Name, app.Status)
	}
	switch req.GrantType {
	case GrantJWTBearer:
		return h.jwtBearer(r.Context(), app, &req, now)
	case GrantRefreshToken:
		return h.refresh(r.Context(), app, &req, now)
	case GrantTokenExchange:
		return h.tokenExchange(r.Context(), app, &req, now)
	case GrantAuthorizationCode:
		return h.authorizationCode(r.Context(), app, &req, now)
	}
	return nil, oidcError("UnsupportedGrantTypeException", "grantType %q is not supported; use %s, %s, %s or %s",
		awsproto.Truncate(req.GrantType, 80), GrantAuthorizationCode, GrantJWTBearer, GrantRefreshToken, GrantTokenExchange)
}

func principalArn(p *auth.Principal) string {
	if p.IsSession() {
		return p.RoleArn
	}
	return p.Arn
}

// sameIssuer compares a token's iss with a trusted token issuer's URL exactly,
// as Identity Center does (a trailing slash makes a different issuer).
func sameIssuer(a, b string) bool { return a == b }

// grantsFor returns the app's jwt-bearer grants whose issuer URL is iss.
func (a *Application) grantsFor(iss string) []Grant {
	var out []Grant
	for _, g := range a.Grants {
		if sameIssuer(g.Issuer.IssuerURL, iss) {
			out = append(out, g)
		}
	}
	return out
}

func (h *OIDC) jwtBearer(ctx context.Context, app *Application, req *createTokenWithIAMRequest, now time.Time) (any, *awsproto.Error) {
	if req.Assertion == "" {
		return nil, oidcError("InvalidRequestException", "assertion is required for the %s grant", GrantJWTBearer)
	}
	var iss string
	claims, err := h.env.JWT.Verify(ctx, req.Assertion, now, func(i string) bool {
		iss = i
		return len(app.grantsFor(i)) > 0
	})
	if err != nil {
		return nil, assertionError(err, iss, app)
	}
	var tti *TrustedTokenIssuer
	var accepted []string
	for _, g := range app.grantsFor(claims.Issuer) {
		accepted = append(accepted, g.Audiences...)
		if tti == nil && intersects(g.Audiences, claims.Audience) {
			tti = g.Issuer
		}
	}
	if tti == nil {
		return nil, oidcError("InvalidGrantException", "the assertion's audience %q is not accepted by application %s for issuer %s (accepted: %q)",
			claims.Audience, app.Name, claims.Issuer, accepted)
	}
	if !h.state.MarkUsed(assertionID(claims, req.Assertion), claims.Expiry.Add(jwtverify.Leeway).Unix(), now.Unix()) {
		return nil, oidcError("InvalidGrantException", "the assertion has already been exchanged; an assertion can be used only once")
	}
	value, ok := claimValue(claims.Raw, tti.ClaimAttributePath)
	if !ok {
		return nil, oidcError("InvalidGrantException", "the assertion has no %q claim, which trusted token issuer %s maps to the identity-store attribute %s",
			tti.ClaimAttributePath, tti.Name, tti.IdentityStoreAttributePath)
	}
	users := h.state.UsersMatching(tti.IdentityStoreAttributePath, value)
	if len(users) == 0 {
		if u := h.state.provisionFromToken(tti, claims.Raw, value); u != nil {
			users = []*User{u}
		}
	}
	switch len(users) {
	case 0:
		return nil, oidcError("InvalidGrantException", "no Identity Center user has %s = %q (trusted token issuer %s maps the %q claim to it)",
			tti.IdentityStoreAttributePath, awsproto.Truncate(value, 128), tti.Name, tti.ClaimAttributePath)
	case 1:
	default:
		return nil, oidcError("InvalidGrantException", "%d Identity Center users have %s = %q; the claim must identify exactly one user",
			len(users), tti.IdentityStoreAttributePath, awsproto.Truncate(value, 128))
	}
	user := users[0]
	if e := checkAssigned(ctx, app, user); e != nil {
		return nil, e
	}
	scopes, e := grantScopes(app.Scopes, req.Scope)
	if e != nil {
		return nil, e
	}
	authTime := now.Unix()
	if f, ok := claims.Raw["auth_time"].(float64); ok && f > 0 {
		authTime = int64(f)
	}
	return h.issue(app, user, scopes, authTime, now)
}

// assertionError describes why an IdP assertion was refused.
func assertionError(err error, iss string, app *Application) *awsproto.Error {
	var je *jwtverify.Error
	if !errors.As(err, &je) {
		return oidcError("InvalidGrantException", "the assertion could not be verified")
	}
	switch je.Kind {
	case jwtverify.Untrusted:
		return oidcError("InvalidGrantException", "the assertion's issuer %s is not a trusted token issuer of application %s",
			awsproto.Truncate(iss, 256), app.Name)
	case jwtverify.Algorithm:
		return oidcError("InvalidGrantException", "the assertion is signed with an algorithm Identity Center does not accept (asymmetric RS/ES/PS only)")
	case jwtverify.BadSignature:
		return oidcError("InvalidGrantException", "the assertion's signature could not be verified with the keys of issuer %s", awsproto.Truncate(iss, 256))
	case jwtverify.Expired:
		return oidcError("InvalidGrantException", "the assertion has expired: %s", je.Msg)
	case jwtverify.NotYetValid:
		return oidcError("InvalidGrantException", "the assertion is not valid yet: %s", je.Msg)
	case jwtverify.KeysUnavailable:
		return oidcError("InvalidGrantException", "the keys of issuer %s could not be fetched: %s", awsproto.Truncate(iss, 256), je.Msg)
	}
	return oidcError("InvalidGrantException", "the assertion is not a valid JWT: %s", je.Msg)
}

// assertionID identifies an assertion for the single-use ledger: its
// issuer and jti when it has one, else the hash of its decoded header and
// payload. Never the token text itself: the signature's base64url encoding
// is malleable (the unused low bits of its last character, padding), so
// a re-encoded copy of a used token would verify and look new.
func assertionID(c *jwtverify.Claims, token string) string {
	if jti := c.String("jti"); jti != "" {
		return "jti\x00" + c.Issuer + "\x00" + jti
	}
	h := sha256.New()
	parts := strings.SplitN(token, ".", 3)
	for i := 0; i < 2 && i < len(parts); i++ {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[i], "="))
		if err != nil { // cannot happen for a token that verified
			b = []byte(parts[i])
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func intersects(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// claimValue reads a string claim by name, or by dotted path into nested objects.
func claimValue(raw map[string]any, path string) (string, bool) {
	if v, ok := raw[path]; ok {
		s, ok := v.(string)
		return s, ok && s != ""
	}
	var cur any = raw
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[part]; !ok {
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok && s != ""
}

func checkAssigned(ctx context.Context, app *Application, u *User) *awsproto.Error {
	if app.AssignmentRequired && !app.Assigned(u) {
		callctx.Deny(ctx, callctx.Decision{Kind: "application-assignment", Action: ActionCreateTokenWithIAM, Resource: app.Arn, Policy: app.Name,
			Reason: "user " + u.UserName + " is not assigned to application " + app.Name + " (directly or through a group) and the application requires assignment"})
		return oidcError("AccessDeniedException", "user %s is not assigned to application %s, directly or through a group, and the application requires assignment",
			u.UserName, app.Name)
	}
	return nil
}

// grantScopes returns the requested scopes, which must all be allowed,
// or every allowed scope when none is requested.
func grantScopes(allowed, requested []string) ([]string, *awsproto.Error) {
	if len(requested) == 0 {
		return append([]string{}, allowed...), nil
	}
	out := make([]string, 0, len(requested))
	for _, s := range requested {
		if !contains(allowed, s) {
			return nil, oidcError("InvalidScopeException", "scope %q is not a scope of the application (allowed: %q)", awsproto.Truncate(s, 128), allowed)
		}
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

func (h *OIDC) refresh(ctx context.Context, app *Application, req *createTokenWithIAMRequest, now time.Time) (any, *awsproto.Error) {
	if !app.RefreshTokenGrant {
		return nil, oidcError("UnauthorizedClientException", "application %s does not allow the refresh_token grant", app.Name)
	}
	if req.RefreshToken == "" {
		return nil, oidcError("InvalidRequestException", "refreshToken is required for the refresh_token grant")
	}
	rs, ok := h.state.TakeRefresh(req.RefreshToken)
	if !ok {
		return nil, oidcError("InvalidGrantException", "the refresh token is unknown or was already used (refresh tokens rotate on every use)")
	}
	// The directory may have changed since the token was issued (the
	// state is rebuilt on every write): compare by ARN and use the user as
	// the directory has them now (current groups; deleted users fail).
	if rs.App.Arn != app.Arn {
		h.state.PutRefresh(req.RefreshToken, rs)
		return nil, oidcError("InvalidGrantException", "the refresh token was issued to another application")
	}
	if now.Unix() >= rs.Expires {
		return nil, oidcError("InvalidGrantException", "the refresh token has expired; sign in again")
	}
	user := h.state.UserByID(rs.User.UserID)
	if user == nil {
		return nil, oidcError("InvalidGrantException", "the user of the refresh token no longer exists in the identity store")
	}
	if e := checkAssigned(ctx, app, user); e != nil {
		return nil, e
	}
	scopes, e := grantScopes(rs.Scopes, req.Scope)
	if e != nil {
		return nil, e
	}
	return h.issue(app, user, scopes, rs.AuthTime, now)
}

// IssuerURL is the iss of tokens Identity Center issues for this instance.
func (s *State) IssuerURL() string {
	return "https://identitycenter.amazonaws.com/" + s.InstanceArn[strings.LastIndex(s.InstanceArn, "/")+1:]
}

// IdentityStoreArn is the ARN of the instance's identity store.
func (s *State) IdentityStoreArn() string {
	return "arn:aws:identitystore::" + s.AccountID + ":identitystore/" + s.IdentityStoreID
}

// IdentityContext is the person u as an identity-enhanced session carries it for app.
func (s *State) IdentityContext(app *Application, u *User, expires time.Time) *auth.IdentityContext {
	return &auth.IdentityContext{
		Provider: auth.IdentityCenterProvider, UserID: u.UserID, UserName: u.UserName, Email: u.Email,
		IdentityStoreID: s.IdentityStoreID, InstanceArn: s.InstanceArn, ApplicationArn: app.Arn,
		Groups: u.AuthGroups(), ExpiresAt: expires,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// issue mints the token set for user: an id token carrying the sealed
// identity context, an opaque access token and, when the app allows it, a
// rotating refresh token.
func (h *OIDC) issue(app *Application, u *User, scopes []string, authTime int64, now time.Time) (any, *awsproto.Error) {
	s := h.state
	exp := now.Add(TokenTTL)
	sealer := h.env.Sealer
	internal := func() *awsproto.Error {
		return oidcError("InternalServerException", "the sandbox could not sign the tokens")
	}
	identityContext, err := sealer.SealContext(s.IdentityContext(app, u, exp), now)
	if err != nil {
		return nil, internal()
	}
	credentialID := randomHex(16)
	audit, err := sealer.Seal(map[string]any{"typ": "audit_context", "sub": u.UserID, "app": app.Arn,
		"cid": credentialID, "iat": now.Unix()})
	if err != nil {
		return nil, internal()
	}
	iss := s.IssuerURL()
	idToken, err := sealer.Seal(map[string]any{
		"iss": iss, "sub": u.UserID, "aud": app.Arn,
		"sts:identity_context":   identityContext,
		"sts:audit_context":      audit,
		"aws:identity_store_id":  s.IdentityStoreID,
		"aws:identity_store_arn": s.IdentityStoreArn(),
		"aws:instance_arn":       s.InstanceArn,
		"aws:instance_account":   s.AccountID,
		"aws:credential_id":      credentialID,
		"auth_time":              authTime,
		"iat":                    now.Unix(),
		"exp":                    exp.Unix(),
	})
	if err != nil {
		return nil, internal()
	}
	access, err := sealer.Seal(map[string]any{"typ": "access_token", "iss": iss, "sub": u.UserID, "aud": app.Arn,
		"scope": scopes, "jti": credentialID, "iat": now.Unix(), "exp": exp.Unix()})
	if err != nil {
		return nil, internal()
	}
	res := createTokenWithIAMResponse{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int(TokenTTL / time.Second),
		IDToken: idToken, IssuedTokenType: TokenTypeRefreshToken, Scope: scopes,
		AwsAdditionalDetails: &awsAdditionalDetails{IdentityContext: identityContext},
	}
	if app.RefreshTokenGrant {
		res.RefreshToken = auth.RandomToken("aorAAAAAG", 96)
		s.PutRefresh(res.RefreshToken, &RefreshSession{App: app, User: u, Scopes: scopes,
			Expires: now.Add(RefreshTTL).Unix(), AuthTime: authTime})
	}
	return res, nil
}
