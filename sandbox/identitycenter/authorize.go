package identitycenter

import (
	_ "embed"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/htmlpage"
	"github.com/tipctl/tipctl/sandbox/pkce"
)

// PathAuthorize is the authorization endpoint of the Identity Center OIDC
// service (the sign-in page of the authorization_code grant).
const PathAuthorize = "/authorize"

// maxAuthorizeForm bounds the body of the sign-in form.
const maxAuthorizeForm = 64 << 10

//go:embed authorize.html
var authorizeHTML string

var authorizeTmpl = template.Must(template.New("authorize").Parse(authorizeHTML))

// SignIn checks a person's email and password at the identity provider the
// instance's directory is provisioned from, and returns the email it knows
// them by.
type SignIn func(email, password string) (string, bool)

// SetSignIn installs the sign-in check of the authorization endpoint;
// without one the endpoint refuses every sign-in.
func (h *OIDC) SetSignIn(f SignIn) { h.signIn = f }

type hiddenField struct{ Name, Value string }

type authorizePage struct {
	Title, App, Action, Username, Error string
	Login, Failed                       bool
	Hidden                              []hiddenField
}

func (h *OIDC) render(w http.ResponseWriter, status int, pg authorizePage) {
	htmlpage.Render(w, status, authorizeTmpl, pg)
}

func (h *OIDC) failPage(w http.ResponseWriter, status int, msg string) {
	h.render(w, status, authorizePage{Title: "Sign-in failed", Error: msg, Failed: true})
}

// authorizeRequest is a validated authorization request.
type authorizeRequest struct {
	app         *Application
	redirectURI string
	state       string
	challenge   string
	scopes      []string
	params      url.Values
}

// authorize serves GET/POST /authorize: the authorization code grant's
// sign-in. The request names the application (client_id = its ARN) and a
// redirect URI of its authorization_code grant; the person signs in with
// the identity provider's password, must be a user of the directory and
// assigned to the application when it requires assignment; the answer is
// a redirect to the redirect URI with a single-use code (and state).
func (h *OIDC) authorize(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		params = r.URL.Query()
	case http.MethodPost:
		form, msg := readAuthorizeForm(r)
		if msg != "" {
			h.failPage(w, http.StatusBadRequest, msg)
			return
		}
		params = form
	default:
		w.Header().Set("Allow", "GET, POST")
		h.failPage(w, http.StatusMethodNotAllowed, "Use GET or POST.")
		return
	}
	login := r.Method == http.MethodPost && (params.Has("username") || params.Has("password"))
	username, password := params.Get("username"), params.Get("password")
	params.Del("username")
	params.Del("password")

	h.env.RLock()
	defer h.env.RUnlock()
	ar, page, oerr := h.parseAuthorize(params)
	if page != "" {
		h.failPage(w, http.StatusBadRequest, page)
		return
	}
	if oerr != nil {
		redirectBack(w, ar, url.Values{"error": {oerr[0]}, "error_description": {oerr[1]}})
		return
	}
	if !login {
		h.loginPage(w, ar, "", "")
		return
	}
	callctx.SetOperation(r.Context(), "Authenticate")
	email, ok := "", false
	if h.signIn != nil && len(username) <= 256 && len(password) <= 1024 {
		email, ok = h.signIn(username, password)
	}
	if !ok {
		h.loginPage(w, ar, username, "Incorrect email or password.")
		return
	}
	users := h.state.UsersMatching("emails.value", email)
	if len(users) != 1 {
		h.failPage(w, http.StatusForbidden, "You signed in as "+email+", but "+countUsers(len(users))+
			" of this Identity Center directory has that email; a person must be exactly one user (provision them first).")
		return
	}
	u := users[0]
	if e := checkAssigned(r.Context(), ar.app, u); e != nil {
		redirectBack(w, ar, url.Values{"error": {"access_denied"}, "error_description": {e.Message}})
		return
	}
	now := h.env.Now()
	code := randomHex(32)
	if !h.state.putCode(code, &authCode{app: ar.app.Arn, redirectURI: ar.redirectURI, userID: u.UserID, scopes: ar.scopes,
		challenge: ar.challenge, authTime: now.Unix(), expires: now.Add(AuthCodeTTL).Unix()}, now.Unix()) {
		redirectBack(w, ar, url.Values{"error": {"temporarily_unavailable"}, "error_description": {"too many sign-ins are pending; try again in a few minutes"}})
		return
	}
	redirectBack(w, ar, url.Values{"code": {code}})
}

func countUsers(n int) string {
	if n == 0 {
		return "no user"
	}
	return "more than one user"
}

// readAuthorizeForm reads the sign-in form: form encoding only, bounded,
// no repeated parameter.
func readAuthorizeForm(r *http.Request) (url.Values, string) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, "The form must be application/x-www-form-urlencoded."
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAuthorizeForm+1))
	if err != nil || len(body) > maxAuthorizeForm {
		return nil, "The form could not be read (at most 64 KiB)."
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, "The form is not valid form encoding."
	}
	return form, ""
}

// parseAuthorize validates an authorization request. A page error means
// the application or the redirect URI cannot be trusted: the person sees
// an error page and is never redirected. An OAuth error ({error,
// description}) goes back to the redirect URI.
func (h *OIDC) parseAuthorize(params url.Values) (*authorizeRequest, string, *[2]string) {
	for k, vs := range params {
		if len(vs) > 1 {
			return nil, "The parameter " + quoteParam(k) + " is repeated.", nil
		}
	}
	cid := params.Get("client_id")
	if cid == "" {
		return nil, "The request has no client_id (the ARN of the Identity Center application).", nil
	}
	app := h.state.App(cid)
	if app == nil || app.Arn != cid {
		return nil, "No Identity Center application has the ARN " + quoteParam(cid) + ".", nil
	}
	if app.Status != "" && app.Status != "ENABLED" {
		return nil, "The application " + app.Name + " is " + app.Status + ".", nil
	}
	if app.AuthorizationCode == nil {
		return nil, "The application " + app.Name + " does not allow the authorization_code grant (PutApplicationGrant).", nil
	}
	ar := &authorizeRequest{app: app, redirectURI: params.Get("redirect_uri"), state: params.Get("state"),
		challenge: params.Get("code_challenge"), params: params}
	if ar.redirectURI == "" {
		return nil, "The request has no redirect_uri.", nil
	}
	if !slices.Contains(app.AuthorizationCode.RedirectURIs, ar.redirectURI) {
		return nil, "The redirect_uri " + quoteParam(ar.redirectURI) + " is not a redirect URI of the authorization_code grant of application " + app.Name + ".", nil
	}
	if _, err := url.Parse(ar.redirectURI); err != nil {
		return nil, "The redirect_uri is not a valid URI.", nil
	}
	if len(ar.state) > 2048 {
		ar.state = ""
		return ar, "", &[2]string{"invalid_request", "state is longer than 2048 characters"}
	}
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		return ar, "", &[2]string{"invalid_request", "response_type is required (code)"}
	default:
		return ar, "", &[2]string{"unsupported_response_type", "only response_type=code is supported"}
	}
	method := params.Get("code_challenge_method")
	switch {
	case ar.challenge == "" && method != "":
		return ar, "", &[2]string{"invalid_request", "code_challenge_method was sent without code_challenge"}
	case ar.challenge != "" && method != "S256":
		return ar, "", &[2]string{"invalid_request", "code_challenge_method must be S256"}
	case ar.challenge != "" && !pkce.ValidChallenge(ar.challenge):
		return ar, "", &[2]string{"invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the code verifier"}
	}
	requested := strings.FieldsFunc(params.Get("scopes")+" "+params.Get("scope"), func(r rune) bool { return r == ' ' || r == ',' })
	scopes, e := grantScopes(app.Scopes, requested)
	if e != nil {
		return ar, "", &[2]string{"invalid_scope", e.Message}
	}
	ar.scopes = scopes
	return ar, "", nil
}

func quoteParam(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + s + `"`
}

// redirectBack answers the authorization request at its redirect URI.
func redirectBack(w http.ResponseWriter, ar *authorizeRequest, v url.Values) {
	u, _ := url.Parse(ar.redirectURI) // checked by parseAuthorize
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	if ar.state != "" {
		q.Set("state", ar.state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

// loginPage shows the sign-in form; the authorization request travels in
// hidden fields and is validated again when the form comes back.
func (h *OIDC) loginPage(w http.ResponseWriter, ar *authorizeRequest, username, errMsg string) {
	keys := make([]string, 0, len(ar.params))
	for k := range ar.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pg := authorizePage{Title: "Sign in", Login: true, App: ar.app.Name, Action: PathAuthorize, Username: username, Error: errMsg}
	for _, k := range keys {
		pg.Hidden = append(pg.Hidden, hiddenField{Name: k, Value: ar.params.Get(k)})
	}
	h.render(w, http.StatusOK, pg)
}
