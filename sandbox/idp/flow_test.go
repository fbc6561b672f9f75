package idp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do(mustReq(t, http.MethodGet, h.issuer+"/.well-known/openid-configuration"))
	if resp.StatusCode != 200 {
		t.Fatalf("discovery: HTTP %d", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"issuer": h.issuer, "authorization_endpoint": h.issuer + "/authorize", "token_endpoint": h.issuer + "/token",
		"jwks_uri": h.issuer + "/jwks", "userinfo_endpoint": h.issuer + "/userinfo", "revocation_endpoint": h.issuer + "/revoke",
		"device_authorization_endpoint": h.issuer + "/device_authorization",
	} {
		if body[k] != want {
			t.Errorf("%s = %v, want %s", k, body[k], want)
		}
	}
	for k, want := range map[string][]string{
		"response_types_supported":              {"code"},
		"code_challenge_methods_supported":      {"S256"},
		"id_token_signing_alg_values_supported": {"RS256"},
		"token_endpoint_auth_methods_supported": {"none", "client_secret_basic", "client_secret_post"},
		"grant_types_supported":                 {"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "password"},
	} {
		if got := strs(body[k]); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	for _, c := range []string{"email", "groups", "nonce", "auth_time"} {
		if !slices.Contains(strs(body["claims_supported"]), c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	if !slices.Contains(strs(body["scopes_supported"]), "openid") {
		t.Errorf("scopes_supported lacks openid")
	}

	resp, body = h.do(mustReq(t, http.MethodGet, h.issuer+"/jwks"))
	if resp.StatusCode != 200 {
		t.Fatalf("jwks: HTTP %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	mustJSON(t, body, &set)
	if len(set.Keys) != 1 || set.Keys[0].KeyID != "test-key-1" || set.Keys[0].Algorithm != "RS256" || !set.Keys[0].IsPublic() {
		t.Fatalf("jwks = %+v, want one public RS256 key test-key-1", set.Keys)
	}
	if h.env.Stats.Get("idp:discovery") < 2 || h.env.Stats.Get("idp:jwks") != 1 {
		t.Fatalf("stats = %v", h.env.Stats.Snapshot())
	}
	resp, _ = h.postForm("/jwks", url.Values{})
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /jwks: HTTP %d, want 405", resp.StatusCode)
	}
	resp, _ = h.get(h.issuer + "/nope")
	if resp.StatusCode != 404 {
		t.Fatalf("unknown path: HTTP %d", resp.StatusCode)
	}
}

func TestAuthCodeFlowWithGoOIDC(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	v := oauth2.GenerateVerifier()
	state, nonce := "state-123", "nonce-456"
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(v), oidc.Nonce(nonce))
	loc, err := FollowLogin(h.ctx, nil, authURL, "Alice@Example.com", alicePW)
	if err != nil {
		t.Fatalf("FollowLogin: %v", err)
	}
	if loc.Scheme != "http" || loc.Host != "127.0.0.1:53682" || loc.Path != "/callback" {
		t.Fatalf("redirect = %s, want the loopback redirect URI", loc)
	}
	if loc.Query().Get("state") != state || loc.Query().Get("iss") != h.issuer {
		t.Fatalf("redirect query = %v", loc.Query())
	}
	tok, err := cfg.Exchange(h.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("token = %+v", tok)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := h.verifier("tipctl").Verify(h.ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		Groups        []string `json:"groups"`
		Name          string   `json:"name"`
		AuthTime      int64    `json:"auth_time"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Email != alice || !claims.EmailVerified || !slices.Equal(claims.Groups, []string{"emea-sales", "analysts"}) ||
		claims.Name != "Alice Analyst" || claims.AuthTime == 0 {
		t.Fatalf("claims = %+v", claims)
	}
	if want := h.env.World.IdP.Users[0].Subject; idt.Subject != want {
		t.Fatalf("sub = %q, want %q", idt.Subject, want)
	}
	if exp := idt.Expiry.Sub(idt.IssuedAt); exp != time.Hour {
		t.Fatalf("id_token lifetime = %s, want the world's token_ttl 1h", exp)
	}

	// The access token is a JWT of the same issuer, for this client.
	at, err := h.oidc.VerifierContext(h.ctx, &oidc.Config{ClientID: "tipctl", Now: h.env.Now}).Verify(h.ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("access token is not a verifiable JWT: %v", err)
	}
	var atc struct {
		Scope string `json:"scope"`
	}
	_ = at.Claims(&atc)
	if atc.Scope != "openid email profile groups offline_access" || at.Subject != idt.Subject {
		t.Fatalf("access token claims: scope %q sub %q", atc.Scope, at.Subject)
	}

	ui, err := h.oidc.UserInfo(h.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	if ui.Subject != idt.Subject || ui.Email != alice || !ui.EmailVerified {
		t.Fatalf("userinfo = %+v", ui)
	}
	for _, op := range []string{"idp:authorize", "idp:login", "idp:token", "idp:userinfo", "idp:discovery", "idp:jwks"} {
		if h.env.Stats.Get(op) == 0 {
			t.Errorf("stat %s not counted: %v", op, h.env.Stats.Snapshot())
		}
	}
}

func TestLoginPageIsARealForm(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	v := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("login_hint", "bob@example.com"))
	resp, page := h.get(authURL)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("login page: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`<form method="post" action="/idp/authorize"`, `name="username"`, `value="bob@example.com"`,
		`type="password"`, `name="code_challenge"`, `name="state" value="st"`, `<style>`} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	// Wrong password: the form is shown again with the message, the email kept.
	form := url.Values{}
	for k, vs := range mustParse(t, authURL).Query() {
		form[k] = vs
	}
	form.Set("username", "bob@example.com")
	form.Set("password", "wrong")
	resp, body := h.postForm("/authorize", form)
	html, _ := body["_body"].(string)
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(html, "Incorrect email or password") ||
		!strings.Contains(html, `value="bob@example.com"`) || !strings.Contains(html, `name="password"`) {
		t.Fatalf("wrong password: HTTP %d Location %q page %q", resp.StatusCode, resp.Header.Get("Location"), html)
	}
	// The helper reports the page's message.
	_, err := FollowLogin(h.ctx, nil, authURL, "bob@example.com", "nope")
	var le *LoginError
	if !errors.As(err, &le) || !strings.Contains(le.Message, "Incorrect email or password") {
		t.Fatalf("FollowLogin wrong password: %v", err)
	}
	// An unknown user gets the same message.
	if _, err := FollowLogin(h.ctx, nil, authURL, "mallory@example.com", "x"); err == nil || !strings.Contains(err.Error(), "Incorrect email or password") {
		t.Fatalf("unknown user: %v", err)
	}
	// And the right password still works afterwards, as bob.
	loc, err := FollowLogin(h.ctx, nil, authURL, "bob@example.com", "bob-sandbox-pw")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(h.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := h.verifier("tipctl").Verify(h.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Email string }
	_ = idt.Claims(&c)
	if c.Email != "bob@example.com" || idt.Nonce != "" {
		t.Fatalf("id_token email %q nonce %q", c.Email, idt.Nonce)
	}
	if h.env.Stats.Get("idp:login") != 4 {
		t.Fatalf("idp:login = %d, want 4", h.env.Stats.Get("idp:login"))
	}
}

func TestPKCE(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	v := oauth2.GenerateVerifier()
	code := h.login(cfg, v, "s1", "n1")

	// A wrong verifier is invalid_grant; it does not burn the code.
	_, err := cfg.Exchange(h.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	re := retrieveErr(t, err, "invalid_grant")
	if re.Response.StatusCode != 400 {
		t.Fatalf("HTTP %d", re.Response.StatusCode)
	}
	// No verifier at all.
	_, err = cfg.Exchange(h.ctx, code)
	retrieveErr(t, err, "invalid_grant")
	// A verifier of the wrong shape.
	_, err = cfg.Exchange(h.ctx, code, oauth2.VerifierOption("short"))
	retrieveErr(t, err, "invalid_grant")
	if _, err := cfg.Exchange(h.ctx, code, oauth2.VerifierOption(v)); err != nil {
		t.Fatalf("right verifier after failures: %v", err)
	}

	// A public client without PKCE, or with plain, is sent back with invalid_request.
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"missing":       nil,
		"plain":         {oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
		"implied plain": {oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(v))},
		"bad challenge": {oauth2.SetAuthURLParam("code_challenge", "abc"), oauth2.SetAuthURLParam("code_challenge_method", "S256")},
	} {
		loc, err := FollowLogin(h.ctx, nil, cfg.AuthCodeURL("st-"+name, opts...), alice, alicePW)
		var le *LoginError
		if !errors.As(err, &le) || le.Code != "invalid_request" || loc == nil || loc.Query().Get("state") != "st-"+name ||
			loc.Query().Get("code") != "" || loc.Host != "127.0.0.1:53682" {
			t.Fatalf("%s PKCE: loc %v err %v", name, loc, err)
		}
	}
	// A confidential client may skip PKCE, but then cannot send a verifier.
	wc := h.webappConfig(oauth2.AuthStyleInHeader)
	loc, err := FollowLogin(h.ctx, nil, wc.AuthCodeURL("w"), alice, alicePW)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wc.Exchange(h.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	retrieveErr(t, err, "invalid_grant")
	if _, err := wc.Exchange(h.ctx, loc.Query().Get("code")); err != nil {
		t.Fatalf("confidential without PKCE: %v", err)
	}
	h.alive()
}

func TestReusedCodeRevokesItsTokens(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	v := oauth2.GenerateVerifier()
	code := h.login(cfg, v, "s", "n")
	tok, err := cfg.Exchange(h.ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.oidc.UserInfo(h.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo before reuse: %v", err)
	}
	_, err = cfg.Exchange(h.ctx, code, oauth2.VerifierOption(v))
	retrieveErr(t, err, "invalid_grant")
	// The tokens of the first exchange are dead.
	if _, err := h.oidc.UserInfo(h.ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("userinfo after code reuse: %v, want 401", err)
	}
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	_, err = cfg.TokenSource(h.ctx, &expired).Token()
	retrieveErr(t, err, "invalid_grant")
	h.alive()
}

func TestCodeExpires(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	v := oauth2.GenerateVerifier()
	code := h.login(cfg, v, "s", "n")
	h.env.Advance(61 * time.Second)
	_, err := cfg.Exchange(h.ctx, code, oauth2.VerifierOption(v))
	re := retrieveErr(t, err, "invalid_grant")
	if !strings.Contains(re.ErrorDescription, "expired") {
		t.Fatalf("description %q", re.ErrorDescription)
	}
}

func TestRedirectURIs(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	v := oauth2.GenerateVerifier()
	// Loopback on any port, 127.0.0.1 and localhost (the registered patterns).
	for _, ru := range []string{"http://127.0.0.1:1/callback", "http://127.0.0.1:65535/callback", "http://localhost:8123/callback"} {
		c := *cfg
		c.RedirectURL = ru
		loc, err := FollowLogin(h.ctx, nil, c.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), alice, alicePW)
		if err != nil || !strings.HasPrefix(loc.String(), ru+"?") {
			t.Fatalf("%s: loc %v err %v", ru, loc, err)
		}
		// At the token endpoint the redirect URI must be the same one.
		c2 := c
		c2.RedirectURL = "http://127.0.0.1:2/callback"
		_, err = c2.Exchange(h.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
		retrieveErr(t, err, "invalid_grant")
		if _, err := c.Exchange(h.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v)); err != nil {
			t.Fatalf("%s: exchange: %v", ru, err)
		}
	}
	// Unregistered redirect URIs get an error page, never a redirect.
	for _, ru := range []string{"http://evil.example/callback", "http://127.0.0.1:8080/other", "https://127.0.0.1:8080/callback",
		"http://127.0.0.1:8080/callback#frag", "http://127.0.0.1:99999/callback", "http://127.0.0.1:8080/callback?x=1", "not a url"} {
		c := *cfg
		c.RedirectURL = ru
		authURL := c.AuthCodeURL("s", oauth2.S256ChallengeOption(v))
		resp, page := h.get(authURL)
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "is not registered") {
			t.Fatalf("%s: HTTP %d Location %q", ru, resp.StatusCode, resp.Header.Get("Location"))
		}
		loc, err := FollowLogin(h.ctx, nil, authURL, alice, alicePW)
		if loc != nil || err == nil || !strings.Contains(err.Error(), "is not registered") {
			t.Fatalf("%s: FollowLogin loc %v err %v", ru, loc, err)
		}
		// The login POST is refused the same way.
		q := mustParse(t, authURL).Query()
		q.Set("username", alice)
		q.Set("password", alicePW)
		resp, _ = h.postForm("/authorize", q)
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Fatalf("%s: login POST HTTP %d Location %q", ru, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A confidential client with one exact URI may omit it both times.
	wc := h.webappConfig(oauth2.AuthStyleInParams)
	wc.RedirectURL = ""
	loc, err := FollowLogin(h.ctx, nil, wc.AuthCodeURL("s"), alice, alicePW)
	if err != nil || !strings.HasPrefix(loc.String(), webappRedir+"?") {
		t.Fatalf("default redirect: %v %v", loc, err)
	}
	if _, err := wc.Exchange(h.ctx, loc.Query().Get("code")); err != nil {
		t.Fatal(err)
	}
	h.alive()
}

func TestAuthorizeErrors(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	v := oauth2.GenerateVerifier()
	pk := oauth2.S256ChallengeOption(v)

	// Unknown or missing client: an error page.
	for _, q := range []string{"client_id=nobody&response_type=code&scope=openid&redirect_uri=" + url.QueryEscape(loopback), "response_type=code"} {
		resp, page := h.get(h.issuer + "/authorize?" + q)
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "client_id") {
			t.Fatalf("%s: HTTP %d", q, resp.StatusCode)
		}
	}
	_, err := FollowLogin(h.ctx, nil, h.issuer+"/authorize?client_id=nobody&response_type=code&scope=openid", alice, alicePW)
	if err == nil || !strings.Contains(err.Error(), "unknown client_id") {
		t.Fatalf("unknown client: %v", err)
	}

	cases := []struct {
		name string
		opts []oauth2.AuthCodeOption
		cfg  func(*oauth2.Config)
		code string
	}{
		{"response_type token", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "token")}, nil, "unsupported_response_type"},
		{"no openid", nil, func(c *oauth2.Config) { c.Scopes = []string{"email"} }, "invalid_scope"},
		{"unknown scope", nil, func(c *oauth2.Config) { c.Scopes = []string{"openid", "admin"} }, "invalid_scope"},
		{"prompt none", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none")}, nil, "login_required"},
		{"bad prompt", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "none login")}, nil, "invalid_request"},
		{"response_mode", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_mode", "fragment")}, nil, "invalid_request"},
		{"request object", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("request", "x.y.z")}, nil, "request_not_supported"},
	}
	for _, c := range cases {
		cc := *cfg
		if c.cfg != nil {
			c.cfg(&cc)
		}
		authURL := cc.AuthCodeURL("st-"+c.name, append([]oauth2.AuthCodeOption{pk}, c.opts...)...)
		resp, _ := h.get(authURL)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || err != nil || !strings.HasPrefix(loc.String(), loopback+"?") {
			t.Fatalf("%s: HTTP %d Location %q", c.name, resp.StatusCode, resp.Header.Get("Location"))
		}
		q := loc.Query()
		if q.Get("error") != c.code || q.Get("error_description") == "" || q.Get("state") != "st-"+c.name || q.Get("code") != "" {
			t.Fatalf("%s: redirect %v, want error %s", c.name, q, c.code)
		}
	}
	// A repeated parameter.
	resp, _ := h.get(cfg.AuthCodeURL("s", pk) + "&scope=openid")
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=invalid_request") {
		t.Fatalf("repeated scope: %q", loc)
	}
	// A malformed login POST.
	resp, body := h.post("/authorize", "application/json", `{"username":"alice"}`)
	if resp.StatusCode != 400 || !strings.Contains(body["_body"].(string), "could not be read") {
		t.Fatalf("JSON login POST: HTTP %d", resp.StatusCode)
	}
	resp, _ = h.do(mustReq(t, http.MethodDelete, h.issuer+"/authorize"))
	if resp.StatusCode != 405 {
		t.Fatalf("DELETE /authorize: HTTP %d", resp.StatusCode)
	}
	// Authorization parameters may also be POSTed (OIDC Core 3.1.2.1).
	q := mustParse(t, cfg.AuthCodeURL("s", pk)).Query()
	resp, body = h.postForm("/authorize", q)
	if resp.StatusCode != 200 || !strings.Contains(body["_body"].(string), `name="password"`) {
		t.Fatalf("POSTed authorization request: HTTP %d", resp.StatusCode)
	}
	h.alive()
}

func TestRefreshRotation(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	tok := h.tokens(cfg)
	first := tok.Extra("id_token").(string)

	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := cfg.TokenSource(h.ctx, &stale).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.RefreshToken == tok.RefreshToken || refreshed.RefreshToken == "" || refreshed.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	idt, err := h.verifier("tipctl").Verify(h.ctx, refreshed.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("refreshed id_token: %v", err)
	}
	orig, _ := h.verifier("tipctl").Verify(h.ctx, first)
	if idt.Subject != orig.Subject || idt.Nonce != "" {
		t.Fatalf("refreshed id_token: sub %q nonce %q", idt.Subject, idt.Nonce)
	}
	var a1, a2 struct {
		AuthTime int64 `json:"auth_time"`
	}
	_ = idt.Claims(&a2)
	_ = orig.Claims(&a1)
	if a1.AuthTime != a2.AuthTime {
		t.Fatalf("auth_time changed on refresh: %d → %d", a1.AuthTime, a2.AuthTime)
	}

	// The newest refresh token works while it is the newest.
	stale2 := *refreshed
	stale2.Expiry = time.Now().Add(-time.Minute)
	third, err := cfg.TokenSource(h.ctx, &stale2).Token()
	if err != nil {
		t.Fatalf("second refresh: %v", err)
	}
	// Within the reuse grace window (30 s by default, as Okta's), the
	// first (rotated) refresh token still gets tokens: a client that
	// crashed before saving the successor keeps its login.
	again, err := cfg.TokenSource(h.ctx, &stale).Token()
	if err != nil || again.RefreshToken == "" || again.RefreshToken == tok.RefreshToken {
		t.Fatalf("reuse within the grace window: %v", err)
	}
	// Past the window, reusing it is invalid_grant ...
	h.env.Advance(DefaultRefreshReuseGrace + time.Second)
	_, err = cfg.TokenSource(h.ctx, &stale).Token()
	retrieveErr(t, err, "invalid_grant")
	// ... and revokes every token of this login, the newest included.
	stale3 := *third
	stale3.Expiry = time.Now().Add(-time.Minute)
	_, err = cfg.TokenSource(h.ctx, &stale3).Token()
	retrieveErr(t, err, "invalid_grant")
	if _, err := h.oidc.UserInfo(h.ctx, oauth2.StaticTokenSource(third)); err == nil {
		t.Fatal("userinfo accepted an access token of a revoked login")
	}

	// Narrowing the scope on refresh is allowed; widening is not.
	tok = h.tokens(cfg)
	resp, body := h.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"tipctl"},
		"refresh_token": {tok.RefreshToken}, "scope": {"openid email"}})
	if resp.StatusCode != 200 || body["scope"] != "openid email" {
		t.Fatalf("narrowed refresh: HTTP %d %v", resp.StatusCode, body)
	}
	narrowedRT := body["refresh_token"].(string)
	resp, body = h.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"tipctl"},
		"refresh_token": {narrowedRT}, "scope": {"openid email profile"}})
	h.wantOAuthError(resp, body, 400, "invalid_scope")
	// The refused request did not consume the token.
	resp, body = h.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"tipctl"}, "refresh_token": {narrowedRT}})
	if resp.StatusCode != 200 || body["scope"] != "openid email" {
		t.Fatalf("refresh after a refused widening: HTTP %d %v", resp.StatusCode, body)
	}

	// Refresh tokens expire after the world's refresh_ttl.
	tok = h.tokens(cfg)
	h.env.Advance(721 * time.Hour)
	resp, body = h.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"tipctl"}, "refresh_token": {tok.RefreshToken}})
	h.wantOAuthError(resp, body, 400, "invalid_grant")
	// Another client cannot use them.
	h.env.Advance(-721 * time.Hour)
	tok = h.tokens(cfg)
	resp, body = h.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
		"Authorization", basic(webappID, webappSecret))
	h.wantOAuthError(resp, body, 400, "invalid_grant")
	h.alive()
}

func TestConfidentialClientAuth(t *testing.T) {
	h := newHarness(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		wc := h.webappConfig(style)
		loc, err := FollowLogin(h.ctx, nil, wc.AuthCodeURL("s", oidc.Nonce("n")), alice, alicePW)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := wc.Exchange(h.ctx, loc.Query().Get("code"))
		if err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
		idt, err := h.verifier(webappID).Verify(h.ctx, tok.Extra("id_token").(string))
		if err != nil || idt.Nonce != "n" {
			t.Fatalf("style %d: %v", style, err)
		}
		// Wrong secret, either way, is 401 invalid_client.
		bad := *wc
		bad.ClientSecret = "wrong"
		_, err = bad.Exchange(h.ctx, "whatever")
		re := retrieveErr(t, err, "invalid_client")
		if re.Response.StatusCode != 401 {
			t.Fatalf("wrong secret: HTTP %d", re.Response.StatusCode)
		}
	}
	// No secret at all.
	resp, body := h.postForm("/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {webappID}, "code": {"x"}})
	h.wantOAuthError(resp, body, 401, "invalid_client")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("401 without WWW-Authenticate")
	}
	// Both methods at once.
	resp, body = h.postForm("/token", url.Values{"grant_type": {"authorization_code"}, "client_secret": {webappSecret}, "code": {"x"}},
		"Authorization", basic(webappID, webappSecret))
	h.wantOAuthError(resp, body, 400, "invalid_request")
	// Unknown client, at the token, device and revocation endpoints.
	for _, path := range []string{"/token", "/device_authorization", "/revoke"} {
		resp, body = h.postForm(path, url.Values{"grant_type": {"password"}, "client_id": {"nobody"}, "token": {"t"}})
		h.wantOAuthError(resp, body, 401, "invalid_client")
	}
	h.alive()
}

func TestPasswordGrant(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	tok, err := cfg.PasswordCredentialsToken(h.ctx, alice, alicePW)
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	idt, err := h.verifier("tipctl").Verify(h.ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Subject != h.env.World.IdP.Users[0].Subject {
		t.Fatalf("id_token: %v", err)
	}
	_, err = cfg.PasswordCredentialsToken(h.ctx, alice, "wrong")
	retrieveErr(t, err, "invalid_grant")
	// A client without allow_password_grant is refused, right secret or not.
	_, err = h.webappConfig(oauth2.AuthStyleInParams).PasswordCredentialsToken(h.ctx, alice, alicePW)
	re := retrieveErr(t, err, "unauthorized_client")
	if re.Response.StatusCode != 400 {
		t.Fatalf("HTTP %d", re.Response.StatusCode)
	}
	resp, body := h.postForm("/token", url.Values{"grant_type": {"password"}, "client_id": {"tipctl"}, "username": {alice}})
	h.wantOAuthError(resp, body, 400, "invalid_request")
	h.alive()
}

func TestMalformedTokenRequests(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, ctype, body string
		status            int
		code              string
	}{
		{"json body", "application/json", `{"grant_type":"password"}`, 400, "invalid_request"},
		{"no content type", "", "grant_type=password", 400, "invalid_request"},
		{"bad escape", "application/x-www-form-urlencoded", "grant_type=%zz&client_id=tipctl", 400, "invalid_request"},
		{"repeated", "application/x-www-form-urlencoded", "grant_type=password&grant_type=refresh_token&client_id=tipctl", 400, "invalid_request"},
		{"no grant_type", "application/x-www-form-urlencoded", "client_id=tipctl", 400, "invalid_request"},
		{"unknown grant", "application/x-www-form-urlencoded", "grant_type=implicit&client_id=tipctl", 400, "unsupported_grant_type"},
		{"no client", "application/x-www-form-urlencoded", "grant_type=password", 401, "invalid_client"},
		{"no code", "application/x-www-form-urlencoded", "grant_type=authorization_code&client_id=tipctl", 400, "invalid_request"},
		{"unknown code", "application/x-www-form-urlencoded", "grant_type=authorization_code&client_id=tipctl&code=zzz", 400, "invalid_grant"},
		{"no refresh", "application/x-www-form-urlencoded", "grant_type=refresh_token&client_id=tipctl", 400, "invalid_request"},
		{"unknown refresh", "application/x-www-form-urlencoded", "grant_type=refresh_token&client_id=tipctl&refresh_token=zzz", 400, "invalid_grant"},
		{"no device code", "application/x-www-form-urlencoded", "grant_type=" + url.QueryEscape(grantDeviceCode) + "&client_id=tipctl", 400, "invalid_request"},
		{"huge", "application/x-www-form-urlencoded", "grant_type=password&x=" + strings.Repeat("a", 70<<10), 400, "invalid_request"},
		{"bad basic", "application/x-www-form-urlencoded", "grant_type=password", 401, "invalid_client"},
	}
	for _, c := range cases {
		var hdr []string
		if c.name == "bad basic" {
			hdr = []string{"Authorization", "Basic %%%notbase64"}
		}
		resp, body := h.post("/token", c.ctype, c.body, hdr...)
		if resp.StatusCode != c.status || body["error"] != c.code {
			t.Errorf("%s: HTTP %d %v, want %d %s", c.name, resp.StatusCode, body, c.status, c.code)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: no Cache-Control: no-store", c.name)
		}
	}
	resp, body := h.do(mustReq(t, http.MethodGet, h.issuer+"/token"))
	if resp.StatusCode != 405 || body["error"] != "invalid_request" {
		t.Fatalf("GET /token: HTTP %d", resp.StatusCode)
	}
	h.alive()
}

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceFlow(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	da, err := cfg.DeviceAuth(h.ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if !userCodeRE.MatchString(da.UserCode) || da.VerificationURI != h.issuer+"/device" ||
		da.VerificationURIComplete != h.issuer+"/device?user_code="+da.UserCode || da.Interval < 1 ||
		time.Until(da.Expiry) < 9*time.Minute || da.DeviceCode == "" {
		t.Fatalf("device authorization = %+v", da)
	}
	poll := url.Values{"grant_type": {grantDeviceCode}, "client_id": {"tipctl"}, "device_code": {da.DeviceCode}}
	resp, body := h.postForm("/token", poll)
	h.wantOAuthError(resp, body, 400, "authorization_pending")

	// The page, as a person sees it: the code is prefilled.
	resp, page := h.get(da.VerificationURIComplete)
	if resp.StatusCode != 200 || !strings.Contains(page, `value="`+da.UserCode+`"`) || !strings.Contains(page, `value="approve"`) {
		t.Fatalf("device page: HTTP %d", resp.StatusCode)
	}
	// Wrong password, then a wrong code, are shown on the page.
	err = ApproveDevice(h.ctx, nil, da.VerificationURIComplete, alice, "wrong")
	if err == nil || !strings.Contains(err.Error(), "Incorrect email or password") {
		t.Fatalf("ApproveDevice wrong password: %v", err)
	}
	err = ApproveDevice(h.ctx, nil, h.issuer+"/device?user_code=BBBB-BBBB", alice, alicePW)
	if err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Fatalf("ApproveDevice wrong code: %v", err)
	}
	resp, body = h.postForm("/token", poll)
	h.wantOAuthError(resp, body, 400, "authorization_pending")

	// Lower case and without the dash is accepted, as people type it.
	lower := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
	if err := ApproveDevice(h.ctx, nil, h.issuer+"/device?user_code="+lower, alice, alicePW); err != nil {
		t.Fatalf("ApproveDevice: %v", err)
	}
	// A used code cannot be approved twice.
	if err := ApproveDevice(h.ctx, nil, da.VerificationURIComplete, alice, alicePW); err == nil {
		t.Fatal("approved the same code twice")
	}
	tok, err := cfg.DeviceAccessToken(h.ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	idt, err := h.verifier("tipctl").Verify(h.ctx, tok.Extra("id_token").(string))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("device id_token: %v", err)
	}
	var c struct{ Email string }
	_ = idt.Claims(&c)
	if c.Email != alice {
		t.Fatalf("email = %q", c.Email)
	}
	// The device code is spent.
	resp, body = h.postForm("/token", poll)
	h.wantOAuthError(resp, body, 400, "invalid_grant")
	if h.env.Stats.Get("idp:device_authorization") != 1 {
		t.Fatalf("stats: %v", h.env.Stats.Snapshot())
	}
	h.alive()
}

func TestDeviceSlowDown(t *testing.T) {
	h := newHarness(t)
	h.p.DeviceInterval = time.Minute // make "too fast" independent of machine speed
	resp, da := h.postForm("/device_authorization", url.Values{"client_id": {"tipctl"}, "scope": {"openid email"}})
	if resp.StatusCode != 200 || da["interval"] != float64(60) {
		t.Fatalf("device authorization: HTTP %d %v", resp.StatusCode, da)
	}
	poll := url.Values{"grant_type": {grantDeviceCode}, "client_id": {"tipctl"}, "device_code": {da["device_code"].(string)}}
	// Two requests in a row are tolerated (x/oauth2 retries each poll once).
	for i := 0; i < 2; i++ {
		resp, body := h.postForm("/token", poll)
		h.wantOAuthError(resp, body, 400, "authorization_pending")
	}
	resp, body := h.postForm("/token", poll)
	h.wantOAuthError(resp, body, 400, "slow_down")
	if !strings.Contains(body["error_description"].(string), "65 seconds") {
		t.Fatalf("slow_down does not announce the longer interval: %v", body)
	}
	h.env.Advance(2 * time.Minute)
	resp, body = h.postForm("/token", poll)
	h.wantOAuthError(resp, body, 400, "authorization_pending")
	// Another client cannot poll this device code.
	resp, body = h.postForm("/token", url.Values{"grant_type": {grantDeviceCode}, "device_code": poll["device_code"]},
		"Authorization", basic(webappID, webappSecret))
	h.wantOAuthError(resp, body, 400, "invalid_grant")
	// Scopes must include openid and be known.
	for _, sc := range []string{"email", "openid admin"} {
		resp, body = h.postForm("/device_authorization", url.Values{"client_id": {"tipctl"}, "scope": {sc}})
		h.wantOAuthError(resp, body, 400, "invalid_scope")
	}
	resp, body = h.post("/device_authorization", "text/plain", "client_id=tipctl")
	h.wantOAuthError(resp, body, 400, "invalid_request")
	h.alive()
}

func TestDeviceDenied(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	da, err := cfg.DeviceAuth(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The person presses Deny (no password needed to refuse).
	resp, body := h.postForm("/device", url.Values{"user_code": {da.UserCode}, "action": {"deny"}})
	page, _ := body["_body"].(string)
	if resp.StatusCode != 200 || !strings.Contains(page, `data-outcome="denied"`) {
		t.Fatalf("deny: HTTP %d %s", resp.StatusCode, page)
	}
	_, err = cfg.DeviceAccessToken(h.ctx, da)
	retrieveErr(t, err, "access_denied")
	if err := ApproveDevice(h.ctx, nil, da.VerificationURIComplete, alice, alicePW); err == nil {
		t.Fatal("approved a denied code")
	}
	h.alive()
}

func TestDeviceExpired(t *testing.T) {
	h := newHarness(t)
	resp, da := h.postForm("/device_authorization", url.Values{"client_id": {"tipctl"}})
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	if da["expires_in"] != float64(600) {
		t.Fatalf("expires_in = %v", da["expires_in"])
	}
	h.env.Advance(601 * time.Second)
	err := ApproveDevice(h.ctx, nil, da["verification_uri_complete"].(string), alice, alicePW)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("ApproveDevice after expiry: %v", err)
	}
	resp, body := h.postForm("/token", url.Values{"grant_type": {grantDeviceCode}, "client_id": {"tipctl"},
		"device_code": {da["device_code"].(string)}})
	h.wantOAuthError(resp, body, 400, "expired_token")
	h.alive()
}

func TestUserinfoAndRevocation(t *testing.T) {
	h := newHarness(t)
	cfg := h.publicConfig()
	tok := h.tokens(cfg)
	req := mustReq(t, http.MethodGet, h.issuer+"/userinfo")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, body := h.do(req)
	if resp.StatusCode != 200 || body["email"] != alice || body["sub"] != h.env.World.IdP.Users[0].Subject ||
		!slices.Equal(strs(body["groups"]), []string{"emea-sales", "analysts"}) {
		t.Fatalf("userinfo: HTTP %d %v", resp.StatusCode, body)
	}
	// No token, a garbage token, an id_token, and a token of another issuer.
	other, err := h.p.MintIDToken(alice, "tipctl", time.Hour, map[string]any{"jti": "x", "scope": "openid"})
	if err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]string{"none": "", "garbage": "Bearer abc.def.ghi", "basic": "Basic dGlwY3RsOg==",
		"id token": "Bearer " + tok.Extra("id_token").(string), "unrecorded jti": "Bearer " + other} {
		req := mustReq(t, http.MethodGet, h.issuer+"/userinfo")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, _ := h.do(req)
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("userinfo %s: HTTP %d %q", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Access tokens expire with the sandbox clock.
	h.env.Advance(61 * time.Minute)
	resp, body = h.do(req)
	if resp.StatusCode != 401 || !strings.Contains(body["error_description"].(string), "expired") {
		t.Fatalf("expired access token: HTTP %d %v", resp.StatusCode, body)
	}
	h.env.Advance(-61 * time.Minute)

	// Revoking an access token kills only it.
	resp, _ = h.postForm("/revoke", url.Values{"client_id": {"tipctl"}, "token": {tok.AccessToken}, "token_type_hint": {"access_token"}})
	if resp.StatusCode != 200 {
		t.Fatalf("revoke access token: HTTP %d", resp.StatusCode)
	}
	if _, err := h.oidc.UserInfo(h.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo accepted a revoked access token")
	}
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(h.ctx, &stale).Token()
	if err != nil {
		t.Fatalf("refresh after access-token revocation: %v", err)
	}
	// Revoking the refresh token kills it and the access tokens of its login.
	resp, _ = h.postForm("/revoke", url.Values{"client_id": {"tipctl"}, "token": {fresh.RefreshToken}, "token_type_hint": {"refresh_token"}})
	if resp.StatusCode != 200 {
		t.Fatalf("revoke refresh token: HTTP %d", resp.StatusCode)
	}
	stale = *fresh
	stale.Expiry = time.Now().Add(-time.Minute)
	_, err = cfg.TokenSource(h.ctx, &stale).Token()
	retrieveErr(t, err, "invalid_grant")
	if _, err := h.oidc.UserInfo(h.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Fatal("userinfo accepted an access token of a revoked refresh token")
	}
	// Unknown tokens: 200 all the same. A missing token is invalid_request.
	resp, _ = h.postForm("/revoke", url.Values{"client_id": {"tipctl"}, "token": {"never-issued"}})
	if resp.StatusCode != 200 {
		t.Fatalf("revoke unknown: HTTP %d", resp.StatusCode)
	}
	resp, body = h.postForm("/revoke", url.Values{"client_id": {"tipctl"}})
	h.wantOAuthError(resp, body, 400, "invalid_request")
	// Another client cannot revoke tipctl's tokens.
	tok = h.tokens(cfg)
	h.postForm("/revoke", url.Values{"token": {tok.RefreshToken}}, "Authorization", basic(webappID, webappSecret))
	stale = *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	if _, err := cfg.TokenSource(h.ctx, &stale).Token(); err != nil {
		t.Fatalf("another client revoked tipctl's token: %v", err)
	}
	if h.env.Stats.Get("idp:revoke") < 5 {
		t.Fatalf("stats: %v", h.env.Stats.Snapshot())
	}
	h.alive()
}

func TestMintIDToken(t *testing.T) {
	h := newHarness(t)
	tok, err := h.p.MintIDToken(alice, "tipctl", 10*time.Minute, map[string]any{"custom": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	idt, err := h.verifier("tipctl").Verify(h.ctx, tok)
	if err != nil {
		t.Fatalf("minted token: %v", err)
	}
	var c struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
		Custom string   `json:"custom"`
	}
	_ = idt.Claims(&c)
	if c.Email != alice || len(c.Groups) != 2 || c.Custom != "yes" || idt.Expiry.Sub(h.env.Now()) > 10*time.Minute {
		t.Fatalf("claims %+v exp %s", c, idt.Expiry)
	}
	expired, err := h.p.MintIDToken(alice, "tipctl", -time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.verifier("tipctl").Verify(h.ctx, expired)
	var te *oidc.TokenExpiredError
	if !errors.As(err, &te) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := h.p.MintIDToken("nobody@example.com", "tipctl", time.Hour, nil); err == nil {
		t.Fatal("minted a token for an unknown user")
	}
	forged, _ := h.p.MintIDToken(alice, "tipctl", time.Hour, map[string]any{"iss": "https://elsewhere.example"})
	if _, err := h.verifier("tipctl").Verify(h.ctx, forged); err == nil {
		t.Fatal("a token with another iss verified")
	}
	if _, err := h.verifier("other-client").Verify(h.ctx, tok); err == nil {
		t.Fatal("a token for tipctl verified for another audience")
	}
}

func TestEndSession(t *testing.T) {
	h := newHarness(t)
	resp, page := h.get(h.issuer + "/logout")
	if resp.StatusCode != 200 || !strings.Contains(page, "signed out") {
		t.Fatalf("logout page: HTTP %d", resp.StatusCode)
	}
	resp, _ = h.get(h.issuer + "/logout?client_id=tipctl&state=x&post_logout_redirect_uri=" + url.QueryEscape(loopback))
	if resp.StatusCode != 302 || resp.Header.Get("Location") != loopback+"?state=x" {
		t.Fatalf("logout redirect: HTTP %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = h.get(h.issuer + "/logout?client_id=tipctl&post_logout_redirect_uri=" + url.QueryEscape("http://evil.example/"))
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
		t.Fatalf("logout to an unregistered URI: HTTP %d", resp.StatusCode)
	}
}

func TestSigningKeysFromWorld(t *testing.T) {
	for name, pemText := range map[string]string{
		"garbage":    "not a key",
		"wrong type": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"bad der":    "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
	} {
		if _, err := parseKey(pemText); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	k, err := parseKey(testKeyPEM(t))
	if err != nil || k.N.BitLen() != 2048 {
		t.Fatalf("PKCS#8 key: %v", err)
	}
}

// --- helpers ---

func mustReq(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func mustParse(t *testing.T, u string) *url.URL {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

func mustJSON(t *testing.T, m map[string]any, out any) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}
