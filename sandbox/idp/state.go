// Package idp is the sandbox's OpenID Connect identity provider: discovery,
// JWKS, the authorization endpoint with a real login page (code flow, PKCE
// S256), the token endpoint (authorization_code, rotating refresh_token,
// device_code, password), device authorization with its verification page,
// userinfo and revocation.
//
// state.go holds the model: signing keys, clients, users, authorization
// codes, refresh tokens, device grants and revocations. handlers.go is the
// wire.
package idp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/pkce"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Defaults of the provider's tunables.
const (
	DefaultCodeTTL        = 60 * time.Second
	DefaultDeviceTTL      = 10 * time.Minute
	DefaultDeviceInterval = 1 * time.Second
)

// SupportedScopes are the scopes the provider knows; others are invalid_scope.
var SupportedScopes = []string{"openid", "profile", "email", "groups", "offline_access"}

// Provider is one running identity provider. It serves HTTP (ServeHTTP)
// under the issuer's path.
type Provider struct {
	// CodeTTL is the lifetime of authorization codes.
	CodeTTL time.Duration
	// DeviceTTL is the lifetime of device codes.
	DeviceTTL time.Duration
	// DeviceInterval is the polling interval announced to device clients.
	DeviceInterval time.Duration

	env        *env.Env
	issuer     string
	basePath   string
	tokenTTL   time.Duration
	refreshTTL time.Duration
	reuseGrace time.Duration // a rotated refresh token may be reused this long

	keys      []*signingKey
	idSigner  jose.Signer
	atSigner  jose.Signer
	publicSet jose.JSONWebKeySet

	clients  map[string]*world.IdPClient
	users    map[string]*world.IdPUser // by lower-case email
	subjects map[string]*world.IdPUser // by sub
	tmpl     *template.Template

	mu        sync.Mutex
	codes     map[string]*authCode
	refresh   map[string]*refreshToken
	access    map[string]*accessToken // by jti
	devices   map[string]*deviceGrant // by device_code
	userCodes map[string]*deviceGrant // by normalized user code
	revoked   map[string]time.Time    // grant id → when its tokens stop mattering
	lastGC    time.Time
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// authCode is an issued authorization code.
type authCode struct {
	clientID    string
	redirectURI string // as sent to the authorization endpoint ("" when omitted)
	user        *world.IdPUser
	scopes      []string
	nonce       string
	challenge   string
	authTime    time.Time
	expires     time.Time
	used        bool
	grant       string
}

// Refresh token reuse grace window (see world.IdP.RefreshReuseGrace).
const (
	DefaultRefreshReuseGrace = 30 * time.Second
	MaxRefreshReuseGrace     = 60 * time.Second
)

// refreshToken is an issued refresh token. A rotated token stays known (used)
// until it expires, so that its reuse is detected.
type refreshToken struct {
	clientID string
	user     *world.IdPUser
	scopes   []string
	authTime time.Time
	expires  time.Time
	grant    string
	used     bool
	usedAt   time.Time
}

// accessToken records an issued access token (a JWT) by its jti.
type accessToken struct {
	grant   string
	expires time.Time
	revoked bool
}

// deviceStatus is the state of a device authorization.
type deviceStatus int

const (
	devicePending deviceStatus = iota
	deviceApproved
	deviceDenied
)

type deviceGrant struct {
	clientID   string
	deviceCode string
	userCode   string
	scopes     []string
	expires    time.Time
	interval   time.Duration
	polls      []time.Time
	status     deviceStatus
	user       *world.IdPUser
	authTime   time.Time
}

// New builds the provider of e.World.IdP: it loads or generates the signing
// keys and indexes clients and users.
func New(e *env.Env) (*Provider, error) {
	w := e.World
	u, err := url.Parse(w.IdP.Issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("idp: issuer %q is not a URL", w.IdP.Issuer)
	}
	p := &Provider{
		CodeTTL: DefaultCodeTTL, DeviceTTL: DefaultDeviceTTL, DeviceInterval: DefaultDeviceInterval,
		env: e, issuer: strings.TrimSuffix(w.IdP.Issuer, "/"), basePath: strings.TrimSuffix(u.Path, "/"),
		tokenTTL: w.IdP.TokenTTL.D(), refreshTTL: w.IdP.RefreshTTL.D(),
		clients: map[string]*world.IdPClient{}, users: map[string]*world.IdPUser{}, subjects: map[string]*world.IdPUser{},
		codes: map[string]*authCode{}, refresh: map[string]*refreshToken{}, access: map[string]*accessToken{},
		devices: map[string]*deviceGrant{}, userCodes: map[string]*deviceGrant{}, revoked: map[string]time.Time{},
	}
	if p.tokenTTL <= 0 {
		p.tokenTTL = time.Hour
	}
	if p.refreshTTL <= 0 {
		p.refreshTTL = 720 * time.Hour
	}
	p.reuseGrace = DefaultRefreshReuseGrace
	if g := w.IdP.RefreshReuseGrace; g != nil {
		if g.D() < 0 || g.D() > MaxRefreshReuseGrace {
			return nil, fmt.Errorf("idp: refresh_reuse_grace %s is outside 0s-%s", g.D(), MaxRefreshReuseGrace)
		}
		p.reuseGrace = g.D()
	}
	for i := range w.IdP.Clients {
		c := &w.IdP.Clients[i]
		p.clients[c.ClientID] = c
	}
	for i := range w.IdP.Users {
		usr := &w.IdP.Users[i]
		p.users[strings.ToLower(usr.Email)] = usr
		p.subjects[usr.Subject] = usr
	}
	for i, sk := range w.IdP.SigningKeys {
		k, err := parseKey(sk.PEM)
		if err != nil {
			return nil, fmt.Errorf("idp.signing_keys[%d]: %v", i, err)
		}
		kid := sk.KID
		if kid == "" {
			kid = thumbprintKID(k)
		}
		p.keys = append(p.keys, &signingKey{kid: kid, key: k})
	}
	if len(p.keys) == 0 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("idp: cannot generate a signing key: %v", err)
		}
		p.keys = append(p.keys, &signingKey{kid: thumbprintKID(k), key: k})
	}
	active := p.keys[0]
	jwk := jose.JSONWebKey{Key: active.key, KeyID: active.kid, Algorithm: string(jose.RS256), Use: "sig"}
	if p.idSigner, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT")); err != nil {
		return nil, fmt.Errorf("idp: %v", err)
	}
	if p.atSigner, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType("at+jwt")); err != nil {
		return nil, fmt.Errorf("idp: %v", err)
	}
	for _, k := range p.keys {
		p.publicSet.Keys = append(p.publicSet.Keys, jose.JSONWebKey{Key: &k.key.PublicKey, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig"})
	}
	if p.tmpl, err = template.New("page").Parse(pageHTML); err != nil {
		return nil, fmt.Errorf("idp: page template: %v", err)
	}
	return p, nil
}

func parseKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("pem: no PEM block found")
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("pem: not a valid PKCS#1 RSA private key")
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("pem: not a valid PKCS#8 private key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("pem: the key is not an RSA key (RS256 needs RSA)")
		}
		key = rk
	default:
		return nil, fmt.Errorf("pem: block type %q is not an RSA private key", block.Type)
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("pem: the RSA key has %d bits; at least 2048 are needed", key.N.BitLen())
	}
	return key, nil
}

func thumbprintKID(k *rsa.PrivateKey) string {
	tp, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "sandbox-key"
	}
	return base64.RawURLEncoding.EncodeToString(tp[:12])
}

// Issuer is the provider's issuer URL (no trailing slash).
func (p *Provider) Issuer() string { return p.issuer }

// PublicKeys is the JWKS: the public halves of the signing keys.
func (p *Provider) PublicKeys() *jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: slices.Clone(p.publicSet.Keys)}
	return &set
}

func (p *Provider) now() time.Time { return p.env.Now() }

// Endpoint URLs.
func (p *Provider) endpoint(path string) string { return p.issuer + path }

const (
	pathDiscovery   = "/.well-known/openid-configuration"
	pathOAuthMeta   = "/.well-known/oauth-authorization-server"
	pathJWKS        = "/jwks"
	pathAuthorize   = "/authorize"
	pathToken       = "/token"
	pathUserinfo    = "/userinfo"
	pathRevoke      = "/revoke"
	pathDeviceAuth  = "/device_authorization"
	pathDevice      = "/device"
	pathEndSession  = "/logout"
	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// --- clients and users ---

func (p *Provider) client(id string) (*world.IdPClient, bool) {
	c, ok := p.clients[id]
	return c, ok
}

// checkPassword returns the user when email and password match.
func (p *Provider) checkPassword(email, password string) (*world.IdPUser, bool) {
	u, ok := p.users[strings.ToLower(strings.TrimSpace(email))]
	if !ok {
		// Spend comparable time on unknown users.
		subtle.ConstantTimeCompare([]byte(password), []byte(password))
		return nil, false
	}
	if subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		return nil, false
	}
	return u, true
}

// redirectAllowed reports whether uri is one of the client's redirect URIs.
// A pattern's "*" port matches any port; a registered loopback IP literal
// matches any port too (RFC 8252 §7.3).
func redirectAllowed(c *world.IdPClient, uri string) bool {
	got, err := url.Parse(uri)
	if err != nil || got.Scheme == "" || got.Host == "" || got.Fragment != "" || strings.Contains(uri, "#") || got.User != nil {
		return false
	}
	for _, pattern := range c.RedirectURIs {
		if pattern == uri {
			return true
		}
		anyPort := false
		pat := pattern
		if strings.Contains(pat, ":*") {
			anyPort = true
			pat = strings.Replace(pat, ":*", "", 1)
		}
		want, err := url.Parse(pat)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(want.Hostname()); ip != nil && ip.IsLoopback() && want.Scheme == "http" {
			anyPort = true
		}
		if !anyPort {
			continue
		}
		if got.Scheme == want.Scheme && strings.EqualFold(got.Hostname(), want.Hostname()) &&
			got.EscapedPath() == want.EscapedPath() && got.RawQuery == want.RawQuery && validPort(got.Port()) {
			return true
		}
	}
	return false
}

func validPort(s string) bool {
	if s == "" {
		return true
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
		if n > 65535 {
			return false
		}
	}
	return n > 0
}

// defaultRedirect is the client's only redirect URI when it has exactly one
// concrete (pattern-free) URI.
func defaultRedirect(c *world.IdPClient) string {
	if len(c.RedirectURIs) == 1 && !strings.Contains(c.RedirectURIs[0], ":*") {
		return c.RedirectURIs[0]
	}
	return ""
}

// parseScopes splits a scope string, rejecting unknown scopes.
func parseScopes(s string) ([]string, error) {
	var out []string
	for _, sc := range strings.Fields(s) {
		if !slices.Contains(SupportedScopes, sc) {
			return nil, fmt.Errorf("the scope %q is not supported (supported: %s)", sc, strings.Join(SupportedScopes, " "))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// --- random values ---

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCodeAlphabet has no vowels and no look-alike characters (RFC 8628 §6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func randomUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, userCodeAlphabet[int(c)%len(userCodeAlphabet)])
	}
	return string(out)
}

// normalizeUserCode uppercases and drops separators.
func normalizeUserCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// --- codes ---

// issueCode records a new authorization code.
func (p *Provider) issueCode(ac *authCode) string {
	code := randomToken()
	now := p.now()
	ac.expires = now.Add(p.CodeTTL)
	ac.grant = randomToken()
	p.mu.Lock()
	p.gcLocked(now)
	p.codes[code] = ac
	p.mu.Unlock()
	return code
}

// oauthError is an OAuth 2.0 error response.
type oauthError struct {
	Status      int
	Code        string
	Description string
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oerr(status int, code, format string, a ...any) *oauthError {
	return &oauthError{Status: status, Code: code, Description: fmt.Sprintf(format, a...)}
}

func invalidGrant(format string, a ...any) *oauthError {
	return oerr(400, "invalid_grant", format, a...)
}

// redeemCode checks and consumes an authorization code. A code presented a
// second time is refused and every token issued from it is revoked.
// Failed checks (client, redirect URI, PKCE) do not consume the code.
func (p *Provider) redeemCode(code string, client *world.IdPClient, redirectURI, verifier string) (*authCode, *oauthError) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	ac, ok := p.codes[code]
	if !ok || code == "" {
		return nil, invalidGrant("the authorization code is unknown or expired")
	}
	if ac.clientID != client.ClientID {
		return nil, invalidGrant("the authorization code was issued to another client")
	}
	if ac.used {
		p.revokeGrantLocked(ac.grant, now)
		return nil, invalidGrant("the authorization code was already used; the tokens issued from it are revoked")
	}
	if now.After(ac.expires) {
		return nil, invalidGrant("the authorization code expired")
	}
	want := ac.redirectURI
	if redirectURI != want {
		return nil, invalidGrant("redirect_uri does not match the one of the authorization request")
	}
	switch {
	case ac.challenge != "" && verifier == "":
		return nil, invalidGrant("code_verifier is required (PKCE)")
	case ac.challenge == "" && verifier != "":
		return nil, invalidGrant("code_verifier was sent but the authorization request had no code_challenge")
	case ac.challenge != "" && !pkce.ValidVerifier(verifier):
		return nil, invalidGrant("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
	case ac.challenge != "" && !pkce.Matches(verifier, ac.challenge):
		return nil, invalidGrant("code_verifier does not match the code_challenge (PKCE S256)")
	}
	ac.used = true
	return ac, nil
}

// --- grants, refresh and access tokens ---

func (p *Provider) revokeGrantLocked(grant string, now time.Time) {
	p.revoked[grant] = now.Add(p.refreshTTL + p.tokenTTL)
	for _, rt := range p.refresh {
		if rt.grant == grant {
			rt.used = true
		}
	}
	for _, at := range p.access {
		if at.grant == grant {
			at.revoked = true
		}
	}
}

func (p *Provider) grantRevokedLocked(grant string) bool {
	_, ok := p.revoked[grant]
	return ok
}

// rotateRefresh consumes a refresh token. Reusing a rotated token is
// invalid_grant and revokes the whole grant (every token descending from
// the same login), as OAuth 2.0 security best practice (RFC 9700 §4.14.2)
// advises.
// narrowed, when not nil, is the scope asked for; it must be a subset of
// the granted one (checked before the token is consumed).
func (p *Provider) rotateRefresh(token string, client *world.IdPClient, narrowed []string) (*refreshToken, *oauthError) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	rt, ok := p.refresh[token]
	if !ok || token == "" {
		return nil, invalidGrant("the refresh token is unknown, expired or revoked")
	}
	if rt.clientID != client.ClientID {
		return nil, invalidGrant("the refresh token was issued to another client")
	}
	if now.After(rt.expires) {
		delete(p.refresh, token)
		return nil, invalidGrant("the refresh token expired")
	}
	if p.grantRevokedLocked(rt.grant) {
		return nil, invalidGrant("the refresh token was revoked")
	}
	if rt.used && now.Sub(rt.usedAt) > p.reuseGrace {
		p.revokeGrantLocked(rt.grant, now)
		return nil, invalidGrant("the refresh token was already used (tokens rotate on every refresh); every token of this login is now revoked")
	}
	for _, sc := range narrowed {
		if !slices.Contains(rt.scopes, sc) {
			return nil, oerr(400, "invalid_scope", "the scope %s was not granted originally", quote(sc))
		}
	}
	// Within the grace window a reuse gets new tokens, as Okta and Cognito
	// allow for a client that lost the answer; the window counts from the
	// first use.
	if !rt.used {
		rt.used, rt.usedAt = true, now
	}
	return rt, nil
}

// tokenSet is what the token endpoint returns.
type tokenSet struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// grantInfo describes the login behind a set of tokens.
type grantInfo struct {
	client   *world.IdPClient
	user     *world.IdPUser
	scopes   []string
	nonce    string
	authTime time.Time
	grant    string
}

// issueTokens mints an access token, an id_token (when openid was asked)
// and a refresh token.
func (p *Provider) issueTokens(g grantInfo) (*tokenSet, error) {
	now := p.now()
	exp := now.Add(p.tokenTTL)
	jti := randomToken()[:22]
	scope := strings.Join(g.scopes, " ")
	at, err := p.sign(p.atSigner, map[string]any{
		"iss": p.issuer, "sub": g.user.Subject, "aud": g.client.ClientID, "client_id": g.client.ClientID,
		"scope": scope, "email": g.user.Email, "iat": now.Unix(), "exp": exp.Unix(),
		"auth_time": g.authTime.Unix(), "jti": jti,
	})
	if err != nil {
		return nil, err
	}
	ts := &tokenSet{AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(p.tokenTTL / time.Second), Scope: scope}
	if slices.Contains(g.scopes, "openid") {
		claims := p.userClaims(g.user)
		claims["iss"] = p.issuer
		claims["aud"] = g.client.ClientID
		claims["iat"] = now.Unix()
		claims["exp"] = exp.Unix()
		claims["auth_time"] = g.authTime.Unix()
		claims["at_hash"] = atHash(at)
		if g.nonce != "" {
			claims["nonce"] = g.nonce
		}
		if ts.IDToken, err = p.sign(p.idSigner, claims); err != nil {
			return nil, err
		}
	}
	rt := randomToken()
	ts.RefreshToken = rt
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.grantRevokedLocked(g.grant) {
		return nil, invalidGrant("the grant was revoked")
	}
	p.gcLocked(now)
	p.access[jti] = &accessToken{grant: g.grant, expires: exp}
	p.refresh[rt] = &refreshToken{clientID: g.client.ClientID, user: g.user, scopes: slices.Clone(g.scopes),
		authTime: g.authTime, expires: now.Add(p.refreshTTL), grant: g.grant}
	return ts, nil
}

// userClaims are the identity claims of u (id_token and userinfo).
func (p *Provider) userClaims(u *world.IdPUser) map[string]any {
	claims := map[string]any{}
	for k, v := range u.Attributes {
		claims[k] = v
	}
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	claims["sub"] = u.Subject
	claims["email"] = u.Email
	claims["email_verified"] = true
	claims["name"] = u.Name
	claims["preferred_username"] = u.Email
	claims["groups"] = slices.Clone(groups)
	return claims
}

func atHash(accessToken string) string {
	h := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(h[:len(h)/2])
}

func (p *Provider) sign(s jose.Signer, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("idp: claims: %v", err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("idp: signing: %v", err)
	}
	return obj.CompactSerialize()
}

// MintIDToken returns a validly signed id_token for the world user email
// with audience aud, valid for ttl from now on the sandbox clock (a negative
// ttl makes an already expired token). extra claims are added last and win
// over the standard ones (so tests can forge a wrong iss or aud).
func (p *Provider) MintIDToken(email, audience string, ttl time.Duration, extra map[string]any) (string, error) {
	u, ok := p.users[strings.ToLower(email)]
	if !ok {
		return "", fmt.Errorf("idp: no user %q in the world", email)
	}
	now := p.now()
	claims := p.userClaims(u)
	claims["iss"] = p.issuer
	claims["aud"] = audience
	iat := now
	if ttl < 0 {
		iat = now.Add(ttl).Add(-time.Minute)
	}
	claims["iat"] = iat.Unix()
	claims["auth_time"] = iat.Unix()
	claims["exp"] = now.Add(ttl).Unix()
	for k, v := range extra {
		claims[k] = v
	}
	return p.sign(p.idSigner, claims)
}

// verifyAccessToken checks an access token's signature, issuer, expiry and
// revocation, returning its claims.
func (p *Provider) verifyAccessToken(token string) (map[string]any, error) {
	obj, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, errors.New("the access token is not a valid JWS")
	}
	var payload []byte
	for _, k := range p.keys {
		if payload, err = obj.Verify(&k.key.PublicKey); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("the access token signature is not valid")
	}
	claims := map[string]any{}
	if json.Unmarshal(payload, &claims) != nil {
		return nil, errors.New("the access token payload is not JSON")
	}
	if iss, _ := claims["iss"].(string); iss != p.issuer {
		return nil, errors.New("the access token was not issued here")
	}
	jti, _ := claims["jti"].(string)
	exp, _ := claims["exp"].(float64)
	if jti == "" || exp == 0 {
		return nil, errors.New("the token is not an access token")
	}
	if p.now().Unix() >= int64(exp) {
		return nil, errors.New("the access token expired")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.access[jti]
	if !ok || at.revoked || p.grantRevokedLocked(at.grant) {
		return nil, errors.New("the access token was revoked")
	}
	return claims, nil
}

// revoke implements RFC 7009 for client: a refresh token revokes its whole
// grant; an access token only itself. Unknown tokens and tokens of other
// clients are silently ignored.
func (p *Provider) revoke(token, hint string, client *world.IdPClient) {
	now := p.now()
	p.mu.Lock()
	rt, ok := p.refresh[token]
	if ok && rt.clientID == client.ClientID {
		p.revokeGrantLocked(rt.grant, now)
		delete(p.refresh, token)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = hint // both token types are looked up whatever the hint says
	claims, err := p.verifyAccessToken(token)
	if err != nil {
		return
	}
	if aud, _ := claims["client_id"].(string); aud != client.ClientID {
		return
	}
	jti, _ := claims["jti"].(string)
	p.mu.Lock()
	if at, ok := p.access[jti]; ok {
		at.revoked = true
	}
	p.mu.Unlock()
}

// --- device grants ---

// startDevice records a device authorization.
func (p *Provider) startDevice(client *world.IdPClient, scopes []string) *deviceGrant {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gcLocked(now)
	d := &deviceGrant{clientID: client.ClientID, deviceCode: randomToken(), scopes: scopes,
		expires: now.Add(p.DeviceTTL), interval: p.DeviceInterval}
	for {
		d.userCode = randomUserCode()
		if _, taken := p.userCodes[normalizeUserCode(d.userCode)]; !taken {
			break
		}
	}
	p.devices[d.deviceCode] = d
	p.userCodes[normalizeUserCode(d.userCode)] = d
	return d
}

// deviceByUserCode finds a pending, unexpired device authorization.
func (p *Provider) deviceByUserCode(code string) (*deviceGrant, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.userCodes[normalizeUserCode(code)]
	switch {
	case !ok:
		return nil, errors.New("That code is not valid. Check the code shown on your device.")
	case now.After(d.expires):
		return nil, errors.New("That code has expired. Start again on your device.")
	case d.status != devicePending:
		return nil, errors.New("That code was already used.")
	}
	return d, nil
}

// decideDevice approves (user != nil) or denies a pending device authorization.
func (p *Provider) decideDevice(d *deviceGrant, user *world.IdPUser, approve bool) error {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.status != devicePending {
		return errors.New("That code was already used.")
	}
	if now.After(d.expires) {
		return errors.New("That code has expired. Start again on your device.")
	}
	if approve {
		d.status, d.user, d.authTime = deviceApproved, user, now
	} else {
		d.status = deviceDenied
	}
	return nil
}

// pollDevice answers one token request with a device code (RFC 8628 §3.5).
// A client polling faster than the interval gets slow_down and the
// interval grows by 5 s. Two requests in a row are tolerated, because
// golang.org/x/oauth2 retries each poll once with another client
// authentication style.
func (p *Provider) pollDevice(code string, client *world.IdPClient) (*deviceGrant, *oauthError) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.devices[code]
	if !ok || code == "" {
		return nil, invalidGrant("the device code is unknown")
	}
	if d.clientID != client.ClientID {
		return nil, invalidGrant("the device code was issued to another client")
	}
	if now.After(d.expires) {
		return nil, oerr(400, "expired_token", "the device code expired; start a new device authorization")
	}
	switch d.status {
	case deviceDenied:
		return nil, oerr(400, "access_denied", "the user denied the authorization request")
	case deviceApproved:
		delete(p.devices, code)
		delete(p.userCodes, normalizeUserCode(d.userCode))
		return d, nil
	}
	window := d.interval * 3 / 4
	recent := 0
	kept := d.polls[:0]
	for _, t := range d.polls {
		if now.Sub(t) < d.interval+5*time.Second {
			kept = append(kept, t)
		}
		if now.Sub(t) < window {
			recent++
		}
	}
	d.polls = append(kept, now)
	if recent >= 2 {
		d.interval += 5 * time.Second
		return nil, oerr(400, "slow_down", "polling too fast; wait at least %d seconds between requests", int(d.interval/time.Second))
	}
	return nil, oerr(400, "authorization_pending", "the user has not yet approved this device")
}

// gcLocked drops expired state about once a minute.
func (p *Provider) gcLocked(now time.Time) {
	if now.Sub(p.lastGC) < time.Minute {
		return
	}
	p.lastGC = now
	for k, c := range p.codes {
		if now.After(c.expires.Add(10 * time.Minute)) {
			delete(p.codes, k)
		}
	}
	for k, r := range p.refresh {
		if now.After(r.expires) {
			delete(p.refresh, k)
		}
	}
	for k, a := range p.access {
		if now.After(a.expires) {
			delete(p.access, k)
		}
	}
	for k, d := range p.devices {
		if now.After(d.expires.Add(10 * time.Minute)) {
			delete(p.devices, k)
			delete(p.userCodes, normalizeUserCode(d.userCode))
		}
	}
	for k, until := range p.revoked {
		if now.After(until) {
			delete(p.revoked, k)
		}
	}
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
