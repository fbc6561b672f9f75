package idp

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tipctl/tipctl/sandbox/htmlpage"
	"github.com/tipctl/tipctl/sandbox/pkce"
	"github.com/tipctl/tipctl/sandbox/world"
)

//go:embed page.html
var pageHTML string

// maxForm bounds the body of form requests.
const maxForm = 64 << 10

// ServeHTTP serves every endpoint under the issuer's path.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, p.basePath)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "not an IdP path"})
		return
	}
	switch path {
	case pathDiscovery, pathOAuthMeta:
		p.handleDiscovery(w, r)
	case pathJWKS:
		p.handleJWKS(w, r)
	case pathAuthorize:
		p.handleAuthorize(w, r)
	case pathToken:
		p.handleToken(w, r)
	case pathUserinfo:
		p.handleUserinfo(w, r)
	case pathRevoke:
		p.handleRevoke(w, r)
	case pathDeviceAuth:
		p.handleDeviceAuthorization(w, r)
	case pathDevice:
		p.handleDevicePage(w, r)
	case pathEndSession:
		p.handleEndSession(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found",
			"error_description": "no such IdP endpoint; see " + p.endpoint(pathDiscovery)})
	}
}

// --- JSON and errors ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="idp", charset="UTF-8"`)
	}
	writeJSON(w, e.Status, map[string]string{"error": e.Code, "error_description": e.Description})
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request",
		"error_description": "use " + allow})
}

// readForm reads an application/x-www-form-urlencoded body, refusing
// other content types, oversize bodies, malformed encodings and repeated
// parameters (RFC 6749 §3.1).
func readForm(r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oerr(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxForm+1))
	if err != nil {
		return nil, oerr(400, "invalid_request", "the request body could not be read")
	}
	if len(body) > maxForm {
		return nil, oerr(400, "invalid_request", "the request body is larger than %d bytes", maxForm)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oerr(400, "invalid_request", "the request body is not valid form encoding")
	}
	if e := noRepeats(form); e != nil {
		return nil, e
	}
	return form, nil
}

func noRepeats(v url.Values) *oauthError {
	for k, vs := range v {
		if len(vs) > 1 {
			return oerr(400, "invalid_request", "the parameter %q is repeated", k)
		}
	}
	return nil
}

// authenticateClient identifies the client of a token, device or revocation
// request: client_secret_basic, client_secret_post, or none (public
// clients, client_id only).
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (*world.IdPClient, *oauthError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, oerr(401, "invalid_client", "the Basic credentials are not form-encoded correctly")
		}
		if form.Has("client_secret") {
			return nil, oerr(400, "invalid_request", "use only one client authentication method (Basic or client_secret, not both)")
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return nil, oerr(400, "invalid_request", "client_id in the body differs from the Basic credentials")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
		if id == "" {
			return nil, oerr(401, "invalid_client", "client authentication is required (client_id)")
		}
	}
	c, ok := p.client(id)
	if !ok {
		return nil, oerr(401, "invalid_client", "unknown client")
	}
	if c.Public {
		return c, nil
	}
	if secret == "" {
		return nil, oerr(401, "invalid_client", "a confidential client must authenticate with client_secret_basic or client_secret_post")
	}
	if !constantEqual(secret, c.ClientSecret) {
		return nil, oerr(401, "invalid_client", "client authentication failed")
	}
	return c, nil
}

// --- discovery and keys ---

func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	p.env.Stats.Inc("idp:discovery")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET")
		return
	}
	writeJSON(w, http.StatusOK, p.Discovery())
}

// Discovery is the OpenID Provider metadata document.
func (p *Provider) Discovery() map[string]any {
	return map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.endpoint(pathAuthorize),
		"token_endpoint":                        p.endpoint(pathToken),
		"jwks_uri":                              p.endpoint(pathJWKS),
		"userinfo_endpoint":                     p.endpoint(pathUserinfo),
		"revocation_endpoint":                   p.endpoint(pathRevoke),
		"device_authorization_endpoint":         p.endpoint(pathDeviceAuth),
		"end_session_endpoint":                  p.endpoint(pathEndSession),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", grantDeviceCode, "password"},
		"code_challenge_methods_supported":      []string{"S256"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      SupportedScopes,
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
			"email", "email_verified", "name", "preferred_username", "groups"},
		"token_endpoint_auth_methods_supported":          []string{"none", "client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":     []string{"none", "client_secret_basic", "client_secret_post"},
		"prompt_values_supported":                        []string{"none", "login", "consent", "select_account"},
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"claims_parameter_supported":                     false,
	}
}

func (p *Provider) handleJWKS(w http.ResponseWriter, r *http.Request) {
	p.env.Stats.Inc("idp:jwks")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET")
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(p.PublicKeys())
}

// --- HTML pages ---

type field struct{ Name, Value string }

type page struct {
	Kind     string // login, device or message
	Title    string
	Error    string
	Message  string
	Outcome  string // approved, denied, failed, signed-out
	Action   string
	Hidden   []field
	Username string
	UserCode string
	ClientID string
	Issuer   string
}

func (p *Provider) render(w http.ResponseWriter, status int, pg page) {
	pg.Issuer = p.issuer
	htmlpage.Render(w, status, p.tmpl, pg)
}

func (p *Provider) errorPage(w http.ResponseWriter, status int, title, msg string) {
	p.render(w, status, page{Kind: "message", Title: title, Error: msg, Outcome: "failed"})
}

// --- authorization endpoint ---

// authRequest is a validated authorization request.
type authRequest struct {
	client      *world.IdPClient
	redirectURI string // as sent ("" when omitted)
	redirectTo  string // where to send the answer
	scopes      []string
	state       string
	nonce       string
	challenge   string
	prompt      []string
	loginHint   string
	params      url.Values
}

// parseAuthRequest validates an authorization request. A *page error means
// the client or redirect URI cannot be trusted: the answer is an error
// page, never a redirect. A *redirect error goes back to the client.
func (p *Provider) parseAuthRequest(params url.Values) (*authRequest, string, *oauthError) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(params[k]) > 1 {
			return nil, "The parameter " + k + " is repeated.", nil
		}
	}
	cid := params.Get("client_id")
	if cid == "" {
		return nil, "The request has no client_id.", nil
	}
	c, ok := p.client(cid)
	if !ok {
		return nil, "The application " + quote(cid) + " is not registered with this identity provider (unknown client_id).", nil
	}
	ar := &authRequest{client: c, redirectURI: params.Get("redirect_uri"), params: params,
		state: params.Get("state"), nonce: params.Get("nonce"), loginHint: params.Get("login_hint")}
	ar.redirectTo = ar.redirectURI
	if ar.redirectURI == "" {
		if ar.redirectTo = defaultRedirect(c); ar.redirectTo == "" {
			return nil, "The request has no redirect_uri and the client has no single default.", nil
		}
	} else if !redirectAllowed(c, ar.redirectURI) {
		return nil, "The redirect_uri " + quote(ar.redirectURI) + " is not registered for the client " + quote(cid) + ".", nil
	}
	if e := noRepeats(params); e != nil {
		return ar, "", e
	}
	if params.Has("request") {
		return ar, "", oerr(400, "request_not_supported", "the request parameter is not supported")
	}
	if params.Has("request_uri") {
		return ar, "", oerr(400, "request_uri_not_supported", "the request_uri parameter is not supported")
	}
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		return ar, "", oerr(400, "invalid_request", "response_type is required (code)")
	default:
		return ar, "", oerr(400, "unsupported_response_type", "only response_type=code is supported")
	}
	if rm := params.Get("response_mode"); rm != "" && rm != "query" {
		return ar, "", oerr(400, "invalid_request", "only response_mode=query is supported")
	}
	scopes, err := parseScopes(params.Get("scope"))
	if err != nil {
		return ar, "", oerr(400, "invalid_scope", "%s", err.Error())
	}
	if !slices.Contains(scopes, "openid") {
		return ar, "", oerr(400, "invalid_scope", "the scope must include openid")
	}
	ar.scopes = scopes
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return ar, "", oerr(400, "invalid_request", "code_challenge_method was sent without code_challenge")
	case challenge == "" && c.Public:
		return ar, "", oerr(400, "invalid_request", "PKCE is required for public clients: send code_challenge with code_challenge_method=S256")
	case challenge != "" && (method == "" || method == "plain"):
		return ar, "", oerr(400, "invalid_request", "code_challenge_method must be S256 (plain is not accepted)")
	case challenge != "" && method != "S256":
		return ar, "", oerr(400, "invalid_request", "code_challenge_method %s is not supported; use S256", quote(method))
	case challenge != "" && !pkce.ValidChallenge(challenge):
		return ar, "", oerr(400, "invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the verifier")
	}
	ar.challenge = challenge
	if len(ar.state) > 2048 || len(ar.nonce) > 2048 || len(ar.loginHint) > 512 {
		return ar, "", oerr(400, "invalid_request", "state, nonce or login_hint is too long")
	}
	ar.prompt = strings.Fields(params.Get("prompt"))
	for _, pr := range ar.prompt {
		if !slices.Contains([]string{"none", "login", "consent", "select_account"}, pr) {
			return ar, "", oerr(400, "invalid_request", "prompt value %s is not supported", quote(pr))
		}
	}
	if slices.Contains(ar.prompt, "none") && len(ar.prompt) > 1 {
		return ar, "", oerr(400, "invalid_request", "prompt=none cannot be combined with other values")
	}
	return ar, "", nil
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + s + `"`
}

// redirectBack sends the authorization response to the client.
func (p *Provider) redirectBack(w http.ResponseWriter, r *http.Request, ar *authRequest, v url.Values) {
	u, err := url.Parse(ar.redirectTo)
	if err != nil {
		p.errorPage(w, http.StatusBadRequest, "Sign-in failed", "The redirect URI is not valid.")
		return
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	q.Set("iss", p.issuer)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, e *oauthError) {
	p.redirectBack(w, r, ar, url.Values{"error": {e.Code}, "error_description": {e.Description}})
}

func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	login := false
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		params = r.URL.Query()
	case http.MethodPost:
		form, e := readForm(r)
		if e != nil {
			p.env.Stats.Inc("idp:authorize")
			p.errorPage(w, http.StatusBadRequest, "Sign-in failed", "The form could not be read: "+e.Description+".")
			return
		}
		params = form
		login = form.Has("username") || form.Has("password")
	default:
		w.Header().Set("Allow", "GET, POST")
		p.errorPage(w, http.StatusMethodNotAllowed, "Sign-in failed", "Use GET or POST.")
		return
	}
	if login {
		p.env.Stats.Inc("idp:login")
	} else {
		p.env.Stats.Inc("idp:authorize")
	}
	username, password := params.Get("username"), params.Get("password")
	params.Del("username")
	params.Del("password")
	ar, pageErr, e := p.parseAuthRequest(params)
	if pageErr != "" {
		p.errorPage(w, http.StatusBadRequest, "Sign-in failed", pageErr)
		return
	}
	if e != nil {
		p.redirectError(w, r, ar, e)
		return
	}
	if !login {
		if slices.Contains(ar.prompt, "none") {
			p.redirectError(w, r, ar, oerr(400, "login_required", "the user is not signed in at the identity provider"))
			return
		}
		p.loginPage(w, ar, ar.loginHint, "")
		return
	}
	user, ok := p.checkPassword(username, password)
	if !ok {
		p.loginPage(w, ar, username, "Incorrect email or password.")
		return
	}
	code := p.issueCode(&authCode{clientID: ar.client.ClientID, redirectURI: ar.redirectURI, user: user,
		scopes: ar.scopes, nonce: ar.nonce, challenge: ar.challenge, authTime: p.now()})
	p.redirectBack(w, r, ar, url.Values{"code": {code}})
}

// loginPage shows the sign-in form; the authorization request travels in
// hidden fields and the form posts back to the authorization endpoint.
func (p *Provider) loginPage(w http.ResponseWriter, ar *authRequest, username, errMsg string) {
	keys := make([]string, 0, len(ar.params))
	for k := range ar.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pg := page{Kind: "login", Title: "Sign in", Action: p.basePath + pathAuthorize, ClientID: ar.client.ClientID,
		Username: username, Error: errMsg}
	for _, k := range keys {
		pg.Hidden = append(pg.Hidden, field{Name: k, Value: ar.params.Get(k)})
	}
	p.render(w, http.StatusOK, pg)
}

// --- token endpoint ---

func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	p.env.Stats.Inc("idp:token")
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	form, e := readForm(r)
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	gt := form.Get("grant_type")
	if gt == "" {
		writeOAuthError(w, oerr(400, "invalid_request", "grant_type is required"))
		return
	}
	client, e := p.authenticateClient(r, form)
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	var ts *tokenSet
	switch gt {
	case "authorization_code":
		ts, e = p.grantAuthorizationCode(form, client)
	case "refresh_token":
		ts, e = p.grantRefresh(form, client)
	case grantDeviceCode:
		ts, e = p.grantDevice(form, client)
	case "password":
		ts, e = p.grantPassword(form, client)
	default:
		e = oerr(400, "unsupported_grant_type", "grant_type %s is not supported", quote(gt))
	}
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

func (p *Provider) issue(g grantInfo) (*tokenSet, *oauthError) {
	ts, err := p.issueTokens(g)
	if err != nil {
		if oe, ok := err.(*oauthError); ok {
			return nil, oe
		}
		return nil, oerr(500, "server_error", "the tokens could not be issued")
	}
	return ts, nil
}

func (p *Provider) grantAuthorizationCode(form url.Values, client *world.IdPClient) (*tokenSet, *oauthError) {
	code := form.Get("code")
	if code == "" {
		return nil, oerr(400, "invalid_request", "code is required")
	}
	ac, e := p.redeemCode(code, client, form.Get("redirect_uri"), form.Get("code_verifier"))
	if e != nil {
		return nil, e
	}
	return p.issue(grantInfo{client: client, user: ac.user, scopes: ac.scopes, nonce: ac.nonce, authTime: ac.authTime, grant: ac.grant})
}

func (p *Provider) grantRefresh(form url.Values, client *world.IdPClient) (*tokenSet, *oauthError) {
	token := form.Get("refresh_token")
	if token == "" {
		return nil, oerr(400, "invalid_request", "refresh_token is required")
	}
	var narrowed []string
	if form.Has("scope") {
		s, err := parseScopes(form.Get("scope"))
		if err != nil {
			return nil, oerr(400, "invalid_scope", "%s", err.Error())
		}
		narrowed = s
	}
	rt, e := p.rotateRefresh(token, client, narrowed)
	if e != nil {
		return nil, e
	}
	scopes := rt.scopes
	if narrowed != nil {
		scopes = narrowed
	}
	return p.issue(grantInfo{client: client, user: rt.user, scopes: scopes, authTime: rt.authTime, grant: rt.grant})
}

func (p *Provider) grantDevice(form url.Values, client *world.IdPClient) (*tokenSet, *oauthError) {
	code := form.Get("device_code")
	if code == "" {
		return nil, oerr(400, "invalid_request", "device_code is required")
	}
	d, e := p.pollDevice(code, client)
	if e != nil {
		return nil, e
	}
	return p.issue(grantInfo{client: client, user: d.user, scopes: d.scopes, authTime: d.authTime, grant: randomToken()})
}

func (p *Provider) grantPassword(form url.Values, client *world.IdPClient) (*tokenSet, *oauthError) {
	if !client.AllowPasswordGrant {
		return nil, oerr(400, "unauthorized_client", "the client is not allowed to use the password grant")
	}
	username, password := form.Get("username"), form.Get("password")
	if username == "" || password == "" {
		return nil, oerr(400, "invalid_request", "username and password are required")
	}
	scopes := []string{"openid", "profile", "email"}
	if form.Has("scope") {
		s, err := parseScopes(form.Get("scope"))
		if err != nil {
			return nil, oerr(400, "invalid_scope", "%s", err.Error())
		}
		scopes = s
	}
	user, ok := p.checkPassword(username, password)
	if !ok {
		return nil, invalidGrant("incorrect username or password")
	}
	return p.issue(grantInfo{client: client, user: user, scopes: scopes, authTime: p.now(), grant: randomToken()})
}

// clientPost counts op and reads a POSTed form from an authenticated
// client; it has answered the request when ok is false.
func (p *Provider) clientPost(w http.ResponseWriter, r *http.Request, op string) (url.Values, *world.IdPClient, bool) {
	p.env.Stats.Inc(op)
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return nil, nil, false
	}
	form, e := readForm(r)
	if e != nil {
		writeOAuthError(w, e)
		return nil, nil, false
	}
	client, e := p.authenticateClient(r, form)
	if e != nil {
		writeOAuthError(w, e)
		return nil, nil, false
	}
	return form, client, true
}

// --- device authorization ---

func (p *Provider) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, client, ok := p.clientPost(w, r, "idp:device_authorization")
	if !ok {
		return
	}
	scopes := []string{"openid"}
	if form.Has("scope") {
		s, err := parseScopes(form.Get("scope"))
		if err != nil {
			writeOAuthError(w, oerr(400, "invalid_scope", "%s", err.Error()))
			return
		}
		if !slices.Contains(s, "openid") {
			writeOAuthError(w, oerr(400, "invalid_scope", "the scope must include openid"))
			return
		}
		scopes = s
	}
	d := p.startDevice(client, scopes)
	verify := p.endpoint(pathDevice)
	interval := int64(d.interval / time.Second)
	if interval < 1 {
		interval = 1
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               d.deviceCode,
		"user_code":                 d.userCode,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(d.userCode),
		"expires_in":                int64(p.DeviceTTL / time.Second),
		"interval":                  interval,
	})
}

// handleDevicePage is the verification page where a person enters the
// user code and signs in to approve (or deny) the device.
func (p *Provider) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	p.env.Stats.Inc("idp:device_verify")
	pg := page{Kind: "device", Title: "Connect a device", Action: p.basePath + pathDevice}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		pg.UserCode = r.URL.Query().Get("user_code")
		if len(pg.UserCode) > 32 {
			pg.UserCode = ""
		}
		p.render(w, http.StatusOK, pg)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		p.errorPage(w, http.StatusMethodNotAllowed, "Device sign-in failed", "Use GET or POST.")
		return
	}
	form, e := readForm(r)
	if e != nil {
		p.errorPage(w, http.StatusBadRequest, "Device sign-in failed", "The form could not be read: "+e.Description+".")
		return
	}
	pg.UserCode, pg.Username = form.Get("user_code"), form.Get("username")
	if len(pg.UserCode) > 32 {
		pg.UserCode = ""
	}
	d, err := p.deviceByUserCode(form.Get("user_code"))
	if err != nil {
		pg.Error = err.Error()
		p.render(w, http.StatusOK, pg)
		return
	}
	if form.Get("action") == "deny" {
		if err := p.decideDevice(d, nil, false); err != nil {
			pg.Error = err.Error()
			p.render(w, http.StatusOK, pg)
			return
		}
		p.render(w, http.StatusOK, page{Kind: "message", Title: "Device denied", Outcome: "denied",
			Message: "You denied access. The device will not be signed in."})
		return
	}
	user, ok := p.checkPassword(form.Get("username"), form.Get("password"))
	if !ok {
		pg.Error = "Incorrect email or password."
		p.render(w, http.StatusOK, pg)
		return
	}
	if err := p.decideDevice(d, user, true); err != nil {
		pg.Error = err.Error()
		p.render(w, http.StatusOK, pg)
		return
	}
	p.render(w, http.StatusOK, page{Kind: "message", Title: "Device connected", Outcome: "approved",
		Message: "You are signed in as " + user.Email + ". You can return to your device."})
}

// --- userinfo and revocation ---

func (p *Provider) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	p.env.Stats.Inc("idp:userinfo")
	var token string
	switch r.Method {
	case http.MethodGet, http.MethodPost:
	default:
		methodNotAllowed(w, "GET, POST")
		return
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			bearerError(w, http.StatusUnauthorized, "invalid_request", "use the Bearer authorization scheme")
			return
		}
		token = strings.TrimSpace(rest)
	} else if r.Method == http.MethodPost {
		if form, e := readForm(r); e == nil {
			token = form.Get("access_token")
		}
	}
	if token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="idp"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "an access token is required"})
		return
	}
	claims, err := p.verifyAccessToken(token)
	if err != nil {
		bearerError(w, http.StatusUnauthorized, "invalid_token", err.Error())
		return
	}
	scope, _ := claims["scope"].(string)
	if !slices.Contains(strings.Fields(scope), "openid") {
		bearerError(w, http.StatusForbidden, "insufficient_scope", "the access token lacks the openid scope")
		return
	}
	sub, _ := claims["sub"].(string)
	u, ok := p.subjects[sub]
	if !ok {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "the token's user no longer exists")
		return
	}
	writeJSON(w, http.StatusOK, p.userClaims(u))
}

func bearerError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="idp", error="`+code+`", error_description="`+strings.ReplaceAll(desc, `"`, "'")+`"`)
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, client, ok := p.clientPost(w, r, "idp:revoke")
	if !ok {
		return
	}
	token := form.Get("token")
	if token == "" {
		writeOAuthError(w, oerr(400, "invalid_request", "token is required"))
		return
	}
	p.revoke(token, form.Get("token_type_hint"), client)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// --- end session ---

// handleEndSession is RP-initiated logout. The provider keeps no browser
// session, so it only redirects to a registered post_logout_redirect_uri
// (with state) or shows a signed-out page.
func (p *Provider) handleEndSession(w http.ResponseWriter, r *http.Request) {
	p.env.Stats.Inc("idp:end_session")
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		if form, e := readForm(r); e == nil {
			params = form
		}
	}
	target := params.Get("post_logout_redirect_uri")
	cid := params.Get("client_id")
	if cid == "" {
		if hint := params.Get("id_token_hint"); hint != "" {
			cid = audienceOf(hint)
		}
	}
	if c, ok := p.client(cid); ok && target != "" && redirectAllowed(c, target) {
		u, _ := url.Parse(target)
		if st := params.Get("state"); st != "" {
			q := u.Query()
			q.Set("state", st)
			u.RawQuery = q.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	p.render(w, http.StatusOK, page{Kind: "message", Title: "Signed out", Outcome: "signed-out",
		Message: "You are signed out of the sandbox identity provider."})
}

// audienceOf reads the aud of a JWT without verifying it (only used to
// pick a client for a logout redirect that must be registered anyway).
func audienceOf(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Aud any `json:"aud"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	switch a := c.Aud.(type) {
	case string:
		return a
	case []any:
		if len(a) == 1 {
			s, _ := a[0].(string)
			return s
		}
	}
	return ""
}
