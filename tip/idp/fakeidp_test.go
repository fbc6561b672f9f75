package idp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tipctl/tipctl/tip/idp"
)

var (
	fakeKeysOnce sync.Once
	fakeKey      *rsa.PrivateKey
	otherKey     *rsa.PrivateKey
)

func fakeKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	fakeKeysOnce.Do(func() {
		var err error
		if fakeKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	})
	return fakeKey, otherKey
}

// fakeIdP is a minimal OpenID provider written for these tests: it signs
// in at once (no login page), checks PKCE like a real IdP, and mints ID
// tokens with the test key, which tests can spoil with mutate.
type fakeIdP struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	signer *rsa.PrivateKey // signs tokens; key unless a forgery is wanted
	// mutate changes the ID token claims (nonce, aud, ...) before signing.
	mutate func(claims map[string]any)
	// token changes the token endpoint's JSON answer.
	token func(body map[string]any)
	// redirect changes the authorization response.
	redirect func(q url.Values)
	noRevoke bool

	mu        sync.Mutex
	challenge string
	nonce     string
	pkceOK    bool
	form      url.Values
}

func newFakeIdP(t *testing.T) *fakeIdP {
	key, _ := fakeKeys(t)
	f := &fakeIdP{t: t, key: key, signer: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"issuer": f.srv.URL, "authorization_endpoint": f.srv.URL + "/authorize", "token_endpoint": f.srv.URL + "/token",
			"jwks_uri": f.srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
		}
		if !f.noRevoke {
			doc["revocation_endpoint"] = f.srv.URL + "/revoke"
		}
		writeJSONResp(w, 200, doc)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSONResp(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		f.challenge, f.nonce = q.Get("code_challenge"), q.Get("nonce")
		f.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		v := url.Values{"code": {"the-code"}, "state": {q.Get("state")}, "iss": {f.srv.URL}}
		if f.redirect != nil {
			f.redirect(v)
		}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		f.form = r.PostForm
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		f.pkceOK = base64.RawURLEncoding.EncodeToString(sum[:]) == f.challenge && r.Header.Get("Authorization") == ""
		nonce := f.nonce
		f.mu.Unlock()
		if r.PostForm.Get("code") != "the-code" {
			writeJSONResp(w, 400, map[string]any{"error": "invalid_grant", "error_description": "unknown code"})
			return
		}
		now := time.Now()
		claims := map[string]any{"iss": f.srv.URL, "sub": "u-1", "aud": "tipctl", "exp": now.Add(time.Hour).Unix(),
			"iat": now.Unix(), "nonce": nonce, "email": "frank@example.com", "email_verified": "true",
			"cognito:groups": []string{"g1", "g2"}}
		if f.mutate != nil {
			f.mutate(claims)
		}
		body := map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600,
			"refresh_token": "rt-1", "id_token": sign(t, f.signer, claims)}
		if f.token != nil {
			f.token(body)
		}
		writeJSONResp(w, 200, body)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSONResp(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := obj.CompactSerialize()
	return out
}

// browse follows the authorization URL and its redirect to the loopback.
func browse(authURL string) error {
	resp, err := http.Get(authURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func (f *fakeIdP) login(t *testing.T) (*idp.Tokens, error) {
	t.Helper()
	return idp.Login(context.Background(), idp.Config{Issuer: f.srv.URL, ClientID: "tipctl"},
		idp.LoginOptions{Open: browse, Out: io.Discard, Timeout: 30 * time.Second})
}

func TestFakeIdPLogin(t *testing.T) {
	f := newFakeIdP(t)
	toks, err := f.login(t)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	f.mu.Lock()
	pkce, form := f.pkceOK, f.form
	f.mu.Unlock()
	if !pkce {
		t.Errorf("the code_verifier does not match the S256 code_challenge, or a public client sent Authorization")
	}
	if form.Get("client_id") != "tipctl" || form.Get("grant_type") != "authorization_code" || !strings.HasPrefix(form.Get("redirect_uri"), "http://127.0.0.1:") {
		t.Errorf("token request = %v", form)
	}
	c := toks.Claims
	if c.Email != "frank@example.com" || c.EmailVerified == nil || !*c.EmailVerified || strings.Join(c.Groups, ",") != "g1,g2" ||
		toks.AccessToken != "at-1" || toks.RefreshToken != "rt-1" || toks.TokenType != "Bearer" {
		t.Errorf("tokens = %+v", toks)
	}
	// Tokens round-trip through JSON (tip/store keeps them encrypted).
	b, err := json.Marshal(toks)
	if err != nil {
		t.Fatal(err)
	}
	var back idp.Tokens
	if err := json.Unmarshal(b, &back); err != nil || back.IDToken != toks.IDToken || back.RefreshToken != "rt-1" ||
		!back.Expiry.Equal(toks.Expiry) || back.Claims.Email != c.Email || back.Claims.Subject != "u-1" {
		t.Errorf("JSON round trip = %+v, %v", back, err)
	}
	if !strings.Contains(string(b), `"id_token"`) || !strings.Contains(string(b), `"refresh_token"`) || !strings.Contains(string(b), `"expiry"`) {
		t.Errorf("JSON = %s", b)
	}
	if toks.Expired(time.Now(), time.Minute) || !toks.Expired(time.Now().Add(2*time.Hour), 0) {
		t.Errorf("Expired is wrong")
	}
}

// Every ID token defect is caught before tokens are returned.
func TestFakeIdPTokenChecks(t *testing.T) {
	_, other := fakeKeys(t)
	cases := []struct {
		name     string
		setup    func(f *fakeIdP)
		want     string
		sentinel error
	}{
		{"nonce mismatch", func(f *fakeIdP) { f.mutate = func(c map[string]any) { c["nonce"] = "someone-elses-nonce" } }, "nonce", idp.ErrNonceMismatch},
		{"nonce missing", func(f *fakeIdP) { f.mutate = func(c map[string]any) { delete(c, "nonce") } }, "nonce", idp.ErrNonceMismatch},
		{"wrong audience", func(f *fakeIdP) { f.mutate = func(c map[string]any) { c["aud"] = "another-app" } }, "audience", nil},
		{"wrong issuer", func(f *fakeIdP) { f.mutate = func(c map[string]any) { c["iss"] = "https://evil.example.com" } }, "different provider", nil},
		{"expired", func(f *fakeIdP) {
			f.mutate = func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }
		}, "expired", nil},
		{"forged signature", func(f *fakeIdP) { f.signer = other }, "signature", nil},
		{"no id_token", func(f *fakeIdP) { f.token = func(b map[string]any) { delete(b, "id_token") } }, "no id_token", nil},
		{"azp of another client", func(f *fakeIdP) {
			f.mutate = func(c map[string]any) { c["aud"] = []string{"tipctl", "other"}; c["azp"] = "other" }
		}, "azp", nil},
		{"at_hash mismatch", func(f *fakeIdP) {
			f.mutate = func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }
		}, "at_hash", nil},
		{"iss parameter of another IdP", func(f *fakeIdP) { f.redirect = func(q url.Values) { q.Set("iss", "https://evil.example.com") } }, "came from the issuer", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeIdP(t)
			c.setup(f)
			toks, err := f.login(t)
			if err == nil {
				t.Fatalf("Login accepted it: %+v", toks.Claims)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("error %v is not %v", err, c.sentinel)
			}
			if strings.Contains(err.Error(), "rt-1") || strings.Contains(err.Error(), "at-1") || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("the error shows a token: %v", err)
			}
		})
	}
}

func TestRevokeUnsupported(t *testing.T) {
	f := newFakeIdP(t)
	f.noRevoke = true
	err := idp.Revoke(context.Background(), idp.Config{Issuer: f.srv.URL, ClientID: "tipctl"}, "rt-1", idp.HintRefreshToken)
	if !errors.Is(err, idp.ErrRevokeUnsupported) {
		t.Fatalf("Revoke = %v, want ErrRevokeUnsupported", err)
	}
	_, err = idp.DeviceLogin(context.Background(), idp.Config{Issuer: f.srv.URL, ClientID: "tipctl"}, idp.DeviceOptions{Out: io.Discard})
	if !errors.Is(err, idp.ErrDeviceUnsupported) {
		t.Fatalf("DeviceLogin = %v, want ErrDeviceUnsupported", err)
	}
}

// A confidential client authenticates with HTTP Basic, form-encoded
// first (RFC 6749 §2.3.1).
func TestConfidentialClientRevoke(t *testing.T) {
	var user, pass string
	var ok bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok = r.BasicAuth()
		if r.FormValue("client_id") != "" {
			w.WriteHeader(400)
		}
	}))
	defer srv.Close()
	f := newFakeIdP(t)
	cfg := idp.Config{Issuer: f.srv.URL, ClientID: "web app", ClientSecret: "s:c/r+t", Endpoints: idp.Endpoints{RevocationURL: srv.URL}}
	if err := idp.Revoke(context.Background(), cfg, "rt-1", ""); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if !ok || user != "web+app" || pass != "s%3Ac%2Fr%2Bt" {
		t.Errorf("basic auth = %q %q %v", user, pass, ok)
	}
}
