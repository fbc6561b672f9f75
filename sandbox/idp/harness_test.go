package idp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/world"
)

const (
	alice       = "alice@example.com"
	alicePW     = "alice-sandbox-pw"
	loopback    = "http://127.0.0.1:53682/callback"
	webappID    = "webapp"
	webappRedir = "https://app.example.com/cb"
	// The secret has characters that client_secret_basic must form-encode.
	webappSecret = "s3cr:t/+&= x"
)

var (
	keyOnce sync.Once
	keyPEM  string
)

// testKeyPEM is one RSA key shared by the tests (it also exercises the
// world's signing_keys path); sandbox_test covers the generated key.
func testKeyPEM(t testing.TB) string {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	})
	return keyPEM
}

// harness is the IdP served by an httptest server at its issuer path.
type harness struct {
	t      testing.TB
	srv    *httptest.Server
	env    *env.Env
	p      *Provider
	issuer string
	ctx    context.Context
	oidc   *oidc.Provider
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	endpoint := "http://" + srv.Listener.Addr().String()
	w, err := world.Default(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	w.IdP.SigningKeys = []world.SigningKey{{KID: "test-key-1", PEM: testKeyPEM(t)}}
	w.IdP.Clients = append(w.IdP.Clients, world.IdPClient{ClientID: webappID, ClientSecret: webappSecret,
		RedirectURIs: []string{webappRedir}})
	e, err := env.New(w)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(e)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)
	h := &harness{t: t, srv: srv, env: e, p: p, issuer: w.IdP.Issuer, ctx: context.Background()}
	h.oidc, err = oidc.NewProvider(h.ctx, h.issuer)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	return h
}

// publicConfig is the tipctl public client as golang.org/x/oauth2 sees it.
func (h *harness) publicConfig() *oauth2.Config {
	return &oauth2.Config{ClientID: "tipctl", Endpoint: h.oidc.Endpoint(), RedirectURL: loopback,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile", "groups", oidc.ScopeOfflineAccess}}
}

func (h *harness) webappConfig(style oauth2.AuthStyle) *oauth2.Config {
	ep := h.oidc.Endpoint()
	ep.AuthStyle = style
	return &oauth2.Config{ClientID: webappID, ClientSecret: webappSecret, Endpoint: ep, RedirectURL: webappRedir,
		Scopes: []string{oidc.ScopeOpenID, "email"}}
}

func (h *harness) verifier(clientID string) *oidc.IDTokenVerifier {
	return h.oidc.Verifier(&oidc.Config{ClientID: clientID, Now: h.env.Now})
}

// login runs the browser part of the code flow for the public client and
// returns the code.
func (h *harness) login(cfg *oauth2.Config, pkceVerifier, state, nonce string) string {
	h.t.Helper()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(pkceVerifier), oidc.Nonce(nonce))
	loc, err := FollowLogin(h.ctx, nil, authURL, alice, alicePW)
	if err != nil {
		h.t.Fatalf("FollowLogin: %v", err)
	}
	if got := loc.Query().Get("state"); got != state {
		h.t.Fatalf("state = %q, want %q", got, state)
	}
	code := loc.Query().Get("code")
	if code == "" {
		h.t.Fatalf("no code in %s", loc)
	}
	return code
}

// tokens runs the whole code flow for the public client.
func (h *harness) tokens(cfg *oauth2.Config) *oauth2.Token {
	h.t.Helper()
	v := oauth2.GenerateVerifier()
	code := h.login(cfg, v, "st-"+oauth2.GenerateVerifier()[:8], "n-"+oauth2.GenerateVerifier()[:8])
	tok, err := cfg.Exchange(h.ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		h.t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// post sends a form to an IdP path and decodes a JSON answer.
func (h *harness) post(path, contentType, body string, hdr ...string) (*http.Response, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.issuer+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return h.do(req)
}

func (h *harness) postForm(path string, v url.Values, hdr ...string) (*http.Response, map[string]any) {
	h.t.Helper()
	return h.post(path, "application/x-www-form-urlencoded", v.Encode(), hdr...)
}

func (h *harness) do(req *http.Request) (*http.Response, map[string]any) {
	h.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(b, &out); err != nil {
			h.t.Fatalf("%s: bad JSON %q", req.URL.Path, b)
		}
	} else {
		out["_body"] = string(b)
	}
	return resp, out
}

func (h *harness) get(rawURL string) (*http.Response, string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	resp, m := h.do(req)
	if s, ok := m["_body"].(string); ok {
		return resp, s
	}
	b, _ := json.Marshal(m)
	return resp, string(b)
}

// wantOAuthError checks an error JSON answer.
func (h *harness) wantOAuthError(resp *http.Response, body map[string]any, status int, code string) {
	h.t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		h.t.Fatalf("got HTTP %d %v, want HTTP %d error %q", resp.StatusCode, body, status, code)
	}
	if d, _ := body["error_description"].(string); d == "" {
		h.t.Fatalf("error %q has no error_description", code)
	}
}

// alive checks the IdP still serves after bad input.
func (h *harness) alive() {
	h.t.Helper()
	resp, _ := h.get(h.issuer + "/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("discovery after bad input: HTTP %d", resp.StatusCode)
	}
}

func retrieveErr(t *testing.T, err error, code string) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want an oauth2.RetrieveError %q", err, code)
	}
	if re.ErrorCode != code {
		t.Fatalf("error code = %q (%s), want %q", re.ErrorCode, re.ErrorDescription, code)
	}
	return re
}
