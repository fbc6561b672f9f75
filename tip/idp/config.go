// Package idp is tipctl's OpenID Connect client: discovery, the
// authorization code flow with PKCE on a loopback redirect, the device
// flow (RFC 8628), refresh with rotation, and revocation. It works with any
// OpenID provider (Okta, Entra ID, Cognito, Keycloak, the tipctl sandbox)
// and verifies every ID token it returns.
//
// A command-line login is:
//
//	cfg := idp.Config{Issuer: iss, ClientID: "tipctl"}
//	if device, why := idp.PreferDevice(os.Getenv); device {
//		fmt.Fprintln(os.Stderr, "using the device flow:", why)
//		toks, err = idp.DeviceLogin(ctx, cfg, idp.DeviceOptions{Out: os.Stderr})
//	} else {
//		toks, err = idp.Login(ctx, cfg, idp.LoginOptions{Out: os.Stderr})
//	}
//
// and later idp.Refresh(ctx, cfg, toks.RefreshToken). Errors are typed:
// ErrLoginRequired (errors.Is) when the refresh token is no longer
// accepted, *UnreachableError / *TLSError for network trouble,
// *DiscoveryError, *OAuthError for the IdP's own answers, *TokenError when
// an ID token fails verification. No error text ever contains a token.
package idp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// DefaultScopes are asked for when Config.Scopes is empty.
var DefaultScopes = []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}

// DefaultHTTPTimeout bounds each request to the IdP when Config.HTTPClient is nil.
const DefaultHTTPTimeout = 30 * time.Second

// Config describes one OpenID provider and tipctl's client there.
type Config struct {
	// Issuer is the OpenID issuer URL, exactly as in the ID token's iss
	// claim; discovery reads Issuer + "/.well-known/openid-configuration"
	// and the document's issuer must equal it.
	Issuer string
	// ClientID is the OAuth client id at the IdP.
	ClientID string
	// ClientSecret is set for confidential clients only; public clients
	// (the normal case for a CLI) send client_id in the form instead.
	ClientSecret string
	// Scopes default to DefaultScopes; openid is added when missing.
	Scopes []string
	// RedirectPort is the loopback port of the browser login; 0 picks a
	// random free port (the IdP must then allow any loopback port, as
	// RFC 8252 §7.3 asks).
	RedirectPort int
	// Endpoints override what discovery says (or fill in what it lacks).
	Endpoints Endpoints
	// DiscoveryURL, when set, is where the discovery document is read
	// instead of Issuer + "/.well-known/openid-configuration" (a proxy, a
	// private endpoint, a test IdP serving a production issuer name); the
	// document must still name Issuer exactly.
	DiscoveryURL string
	// AuthParams are extra authorization request parameters, e.g.
	// prompt=consent (some IdPs grant offline_access only with it) or
	// login_hint.
	AuthParams map[string]string
	// HTTPClient is used for every request to the IdP (discovery, JWKS,
	// token, revocation). Nil means a client with DefaultHTTPTimeout.
	HTTPClient *http.Client
	// Cache, when set, keeps the discovery document and signing keys between
	// processes (DirCache), so a refresh makes one request to the IdP.
	Cache Cache
}

// Endpoints are IdP endpoint URLs. Empty fields come from discovery.
type Endpoints struct {
	AuthURL       string `json:"authorization_endpoint,omitempty"`
	TokenURL      string `json:"token_endpoint,omitempty"`
	DeviceAuthURL string `json:"device_authorization_endpoint,omitempty"`
	RevocationURL string `json:"revocation_endpoint,omitempty"`
	UserInfoURL   string `json:"userinfo_endpoint,omitempty"`
	JWKSURL       string `json:"jwks_uri,omitempty"`
}

func (e Endpoints) merge(over Endpoints) Endpoints {
	pick := func(a, b string) string {
		if b != "" {
			return b
		}
		return a
	}
	return Endpoints{
		AuthURL:       pick(e.AuthURL, over.AuthURL),
		TokenURL:      pick(e.TokenURL, over.TokenURL),
		DeviceAuthURL: pick(e.DeviceAuthURL, over.DeviceAuthURL),
		RevocationURL: pick(e.RevocationURL, over.RevocationURL),
		UserInfoURL:   pick(e.UserInfoURL, over.UserInfoURL),
		JWKSURL:       pick(e.JWKSURL, over.JWKSURL),
	}
}

// Provider is a discovered IdP, ready for logins. It is cheap to make
// (one discovery request) and safe for concurrent use.
type Provider struct {
	cfg       Config
	client    *http.Client
	endpoints Endpoints
	oidc      *oidc.Provider
	verifier  *oidc.IDTokenVerifier
	// issParam: discovery announced authorization_response_iss_parameter_supported
	// (RFC 9207), so a sign-in response without iss is refused.
	issParam bool
}

// Discover reads the IdP's discovery document, checks that its issuer is
// cfg.Issuer, and applies cfg.Endpoints overrides.
func Discover(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Cache != nil {
		if p, ok := fromCache(cfg, client); ok {
			return p, nil
		}
	}
	octx := oidc.ClientContext(ctx, client)
	wellKnown := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	base := cfg.Issuer
	if cfg.DiscoveryURL != "" {
		// go-oidc reads BASE/.well-known/openid-configuration and, told the
		// issuer this way, skips its own issuer comparison: made below.
		wellKnown = cfg.DiscoveryURL
		base = strings.TrimSuffix(strings.TrimSuffix(cfg.DiscoveryURL, "/"), "/.well-known/openid-configuration")
		octx = oidc.InsecureIssuerURLContext(octx, cfg.Issuer)
	}
	op, err := oidc.NewProvider(octx, base)
	if err != nil {
		return nil, discoveryError(cfg.Issuer, wellKnown, err)
	}
	if cfg.DiscoveryURL != "" {
		var named struct {
			Issuer string `json:"issuer"`
		}
		if err := op.Claims(&named); err != nil || named.Issuer != cfg.Issuer {
			return nil, &DiscoveryError{Issuer: cfg.Issuer, Reason: fmt.Sprintf(
				"the discovery document at %s names the issuer %q, not %q; set the profile's issuer to exactly the IdP's issuer (trailing slashes matter)",
				cfg.DiscoveryURL, named.Issuer, cfg.Issuer)}
		}
	}
	var found Endpoints
	if err := op.Claims(&found); err != nil {
		return nil, &DiscoveryError{Issuer: cfg.Issuer, Reason: "the discovery document could not be read", Err: err}
	}
	var algs struct {
		Algorithms []string `json:"id_token_signing_alg_values_supported"`
		IssParam   bool     `json:"authorization_response_iss_parameter_supported"`
	}
	_ = op.Claims(&algs)
	eps := found.merge(cfg.Endpoints)
	for _, e := range []struct {
		name, url string
		required  bool
	}{
		{"authorization_endpoint", eps.AuthURL, true}, {"token_endpoint", eps.TokenURL, true}, {"jwks_uri", eps.JWKSURL, true},
		{"device_authorization_endpoint", eps.DeviceAuthURL, false}, {"revocation_endpoint", eps.RevocationURL, false},
		{"userinfo_endpoint", eps.UserInfoURL, false},
	} {
		if e.url == "" {
			if e.required {
				return nil, &DiscoveryError{Issuer: cfg.Issuer, Reason: "the discovery document has no " + e.name + " (set it in the profile's idp_endpoints)"}
			}
			continue
		}
		if err := checkURL(e.url); err != nil {
			return nil, &DiscoveryError{Issuer: cfg.Issuer, Reason: fmt.Sprintf("the %s %q is not usable: %v", e.name, e.url, err)}
		}
	}
	if !cfg.Endpoints.isZero() {
		pc := oidc.ProviderConfig{IssuerURL: cfg.Issuer, AuthURL: eps.AuthURL, TokenURL: eps.TokenURL,
			DeviceAuthURL: eps.DeviceAuthURL, UserInfoURL: eps.UserInfoURL, JWKSURL: eps.JWKSURL,
			Algorithms: supportedAlgs(algs.Algorithms)}
		op = pc.NewProvider(octx)
	}
	p := &Provider{cfg: cfg, client: client, endpoints: eps, oidc: op, issParam: algs.IssParam}
	// The key set lives as long as the Provider, not the caller's context.
	p.verifier = op.VerifierContext(oidc.ClientContext(context.Background(), client), &oidc.Config{ClientID: cfg.ClientID})
	if cfg.Cache != nil {
		toCache(cfg, found, algs.Algorithms, algs.IssParam)
		p.verifier = oidc.NewVerifier(cfg.Issuer, newCachedKeySet(cfg, client, eps.JWKSURL),
			&oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: supportedAlgs(algs.Algorithms)})
	}
	return p, nil
}

func (e Endpoints) isZero() bool { return e == Endpoints{} }

func supportedAlgs(in []string) []string {
	var out []string
	for _, a := range in {
		switch a {
		case oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA:
			out = append(out, a)
		}
	}
	return out
}

func discoveryError(issuer, wellKnown string, err error) error {
	var mismatch *oidc.IssuerMismatchError
	if errors.As(err, &mismatch) {
		return &DiscoveryError{Issuer: issuer, Err: err, Reason: fmt.Sprintf(
			"the discovery document names the issuer %q, not %q; set the profile's issuer to exactly the IdP's issuer (trailing slashes matter)",
			mismatch.Discovered, mismatch.Provided)}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	c := classify("discovery", wellKnown, err)
	var ue *UnreachableError
	var te *TLSError
	if errors.As(c, &ue) || errors.As(c, &te) {
		return c
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return &DiscoveryError{Issuer: issuer, Err: err, Reason: "GET " + wellKnown + ": " + msg}
}

func (c Config) validate() error {
	if c.Issuer == "" {
		return errors.New("the IdP issuer is not set")
	}
	if err := checkURL(c.Issuer); err != nil {
		return fmt.Errorf("the issuer %q is not usable: %v", c.Issuer, err)
	}
	if c.DiscoveryURL != "" {
		if err := checkURL(c.DiscoveryURL); err != nil {
			return fmt.Errorf("the discovery URL %q is not usable: %v", c.DiscoveryURL, err)
		}
		if !strings.HasSuffix(c.DiscoveryURL, "/.well-known/openid-configuration") {
			return fmt.Errorf("the discovery URL %q does not end with /.well-known/openid-configuration", c.DiscoveryURL)
		}
	}
	if c.ClientID == "" {
		return errors.New("the IdP client id is not set")
	}
	if c.RedirectPort < 0 || c.RedirectPort > 65535 {
		return fmt.Errorf("the redirect port %d is not a TCP port (0-65535; 0 = random)", c.RedirectPort)
	}
	return nil
}

// checkURL accepts https URLs, and http URLs of loopback hosts only (a
// local IdP such as the sandbox); anything else would send codes and
// tokens in the clear or hand the browser a non-web URL.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return errors.New("http is allowed only for 127.0.0.1, ::1 and localhost; use https")
	}
	return fmt.Errorf("the scheme %q is not http(s)", u.Scheme)
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Endpoints returns the endpoints in use (discovered, then overridden).
func (p *Provider) Endpoints() Endpoints { return p.endpoints }

// Issuer returns the verified issuer.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

func (p *Provider) scopes() []string {
	s := p.cfg.Scopes
	if len(s) == 0 {
		s = DefaultScopes
	}
	if !slices.Contains(s, oidc.ScopeOpenID) {
		s = append([]string{oidc.ScopeOpenID}, s...)
	}
	return s
}

func (p *Provider) public() bool { return p.cfg.ClientSecret == "" }

// oauth2Config is the x/oauth2 view of the client. Public clients send
// client_id in the form (AuthStyleInParams): auto-detection would first
// try HTTP Basic with an empty secret, which several IdPs reject.
func (p *Provider) oauth2Config(redirectURL string) *oauth2.Config {
	style := oauth2.AuthStyleAutoDetect
	if p.public() {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		RedirectURL:  redirectURL,
		Scopes:       p.scopes(),
		Endpoint: oauth2.Endpoint{AuthURL: p.endpoints.AuthURL, TokenURL: p.endpoints.TokenURL,
			DeviceAuthURL: p.endpoints.DeviceAuthURL, AuthStyle: style},
	}
}

// ctx returns ctx carrying the HTTP client for x/oauth2.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, p.client)
}
