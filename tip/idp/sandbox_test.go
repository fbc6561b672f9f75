package idp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox"
	sandboxidp "github.com/tipctl/tipctl/sandbox/idp"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/idp"
)

const (
	alice   = "alice@example.com"
	alicePW = "alice-sandbox-pw"
)

func sandboxConfig(sb *sandbox.Sandbox) idp.Config {
	return idp.Config{Issuer: sb.URL() + "/idp", ClientID: "tipctl"}
}

// syncBuffer is an io.Writer safe for the login's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// browserGet requests the loopback as the browser does after the IdP's
// redirect, and returns the status and the page.
func browserGet(ctx context.Context, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// person signs in at the sandbox IdP the way a person in a browser does
// (sandboxidp.FollowLogin), optionally tampers with the redirect, and
// follows it to the loopback. The loopback's page is recorded.
type person struct {
	t        *testing.T
	ctx      context.Context
	user, pw string
	before   []string // loopback paths requested before the real redirect
	tamper   func(*url.URL)

	wg       sync.WaitGroup
	mu       sync.Mutex
	authURL  string
	status   int
	page     string
	strays   []int
	loginErr error
}

func (p *person) open(authURL string) error {
	p.wg.Add(1)
	defer p.wg.Done()
	p.mu.Lock()
	p.authURL = authURL
	p.mu.Unlock()
	loc, err := sandboxidp.FollowLogin(p.ctx, nil, authURL, p.user, p.pw)
	if loc == nil {
		p.mu.Lock()
		p.loginErr = err
		p.mu.Unlock()
		return nil // the person sees the IdP's error page; the login waits
	}
	base := loc.Scheme + "://" + loc.Host
	for _, path := range p.before {
		st, _, err := browserGet(p.ctx, base+path)
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.strays = append(p.strays, st)
		p.mu.Unlock()
	}
	if p.tamper != nil {
		p.tamper(loc)
	}
	st, page, err := browserGet(p.ctx, loc.String())
	p.mu.Lock()
	p.status, p.page = st, page
	p.mu.Unlock()
	return err
}

func TestLoginSandbox(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	cfg := sandboxConfig(sb)
	pp := &person{t: t, ctx: ctx, user: alice, pw: alicePW,
		before: []string{"/favicon.ico", "/callback", "/callback?foo=bar", "/robots.txt"}}
	var out syncBuffer
	toks, err := idp.Login(ctx, cfg, idp.LoginOptions{Open: pp.open, Out: &out, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if toks.IDToken == "" || toks.AccessToken == "" || toks.RefreshToken == "" {
		t.Fatalf("tokens missing: id %v access %v refresh %v", toks.IDToken != "", toks.AccessToken != "", toks.RefreshToken != "")
	}
	c := toks.Claims
	if c.Email != alice || c.Issuer != cfg.Issuer || len(c.Audience) != 1 || c.Audience[0] != "tipctl" || c.Subject == "" || c.Name != "Alice Analyst" {
		t.Errorf("claims = %+v", c)
	}
	if strings.Join(c.Groups, ",") != "emea-sales,analysts" {
		t.Errorf("groups = %v", c.Groups)
	}
	if d := time.Until(toks.Expiry); d < 50*time.Minute || d > 61*time.Minute {
		t.Errorf("expiry in %v, want about 1h (the world's token_ttl)", d)
	}
	all, err := toks.AllClaims()
	if err != nil || all["email"] != alice || all["nonce"] == "" {
		t.Errorf("AllClaims = %v, %v", all, err)
	}
	pp.wg.Wait() // the browser has its page
	pp.mu.Lock()
	defer pp.mu.Unlock()
	// The stray requests were answered 404/400 and did not end the login.
	if len(pp.strays) != 4 || pp.strays[0] != 404 || pp.strays[1] != 400 || pp.strays[2] != 400 || pp.strays[3] != 404 {
		t.Errorf("stray statuses = %v, want [404 400 400 404]", pp.strays)
	}
	if pp.status != 200 || !strings.Contains(pp.page, "Signed in") || !strings.Contains(pp.page, "You are signed in as "+alice) ||
		!strings.Contains(pp.page, "close this tab") {
		t.Errorf("success page: %d %s", pp.status, pp.page)
	}
	// The authorization request: PKCE S256, state, nonce, loopback redirect on a random port.
	au, _ := url.Parse(pp.authURL)
	q := au.Query()
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 43 ||
		len(q.Get("nonce")) < 43 || q.Get("response_type") != "code" || q.Get("client_id") != "tipctl" ||
		redirect.Hostname() != "127.0.0.1" || redirect.Path != "/callback" || redirect.Port() == "" || redirect.Port() == "0" {
		t.Errorf("authorization request = %v", q)
	}
	if !strings.Contains(q.Get("scope"), "openid") || !strings.Contains(q.Get("scope"), "offline_access") {
		t.Errorf("scope = %q", q.Get("scope"))
	}
	// The person was told where to go, on Out.
	if !strings.Contains(out.String(), pp.authURL) {
		t.Errorf("Out does not show the URL: %q", out.String())
	}
	// The loopback is closed once the login ends.
	if _, _, err := browserGet(ctx, "http://"+redirect.Host+"/callback"); err == nil {
		t.Errorf("the loopback still serves after the login")
	}
	// Nothing secret went to Out.
	if strings.Contains(out.String(), toks.IDToken) || strings.Contains(out.String(), toks.RefreshToken) {
		t.Errorf("a token was printed")
	}
}

// TestLoginIgnoresStrayAnswers: answers without this login's state (a
// forged or stale state, an error without state, as a web page or another
// tab could send them) are noted on Out, escaped, and ignored; the real
// redirect that follows still completes the login.
func TestLoginIgnoresStrayAnswers(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	var strays []int
	pp := &person{t: t, ctx: ctx, user: alice, pw: alicePW, tamper: func(u *url.URL) {
		for _, q := range []url.Values{
			{"code": {"forged"}, "state": {"forged-" + u.Query().Get("state")}},
			{"error": {"access_denied"}},
			{"error": {"access_denied\x1b[2J"}, "error_description": {"\x1b]0;pwned\x07"}, "state": {"other"}},
		} {
			stray := *u
			stray.RawQuery = q.Encode()
			st, _, err := browserGet(ctx, stray.String())
			if err != nil {
				t.Error(err)
			}
			strays = append(strays, st)
		}
	}}
	var out syncBuffer
	toks, err := idp.Login(ctx, sandboxConfig(sb), idp.LoginOptions{Open: pp.open, Out: &out, Timeout: time.Minute})
	if err != nil || toks.Claims.Email != alice {
		t.Fatalf("Login after stray answers = %v, %v", toks, err)
	}
	pp.wg.Wait()
	if fmt.Sprint(strays) != "[400 400 400]" {
		t.Errorf("stray statuses = %v, want [400 400 400]", strays)
	}
	if n := strings.Count(out.String(), "ignored a request to the sign-in callback"); n != 3 {
		t.Errorf("%d notes of ignored requests, want 3: %q", n, out.String())
	}
	if strings.ContainsAny(out.String(), "\x1b\x07") || !strings.Contains(out.String(), `access_denied\x1b[2J`) {
		t.Errorf("the notes are not escaped: %q", out.String())
	}
}

// TestLoginRequiresIss: the sandbox IdP announces RFC 9207's iss
// parameter, so an answer with this login's state but no iss is refused.
func TestLoginRequiresIss(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	pp := &person{t: t, ctx: ctx, user: alice, pw: alicePW, tamper: func(u *url.URL) {
		q := u.Query()
		if q.Get("iss") == "" {
			t.Error("the sandbox IdP sent no iss")
		}
		q.Del("iss")
		u.RawQuery = q.Encode()
	}}
	_, err := idp.Login(ctx, sandboxConfig(sb), idp.LoginOptions{Open: pp.open, Out: io.Discard, Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "no iss parameter") {
		t.Fatalf("Login without iss = %v, want a refusal", err)
	}
	pp.wg.Wait()
}

func TestLoginIdPErrorRedirect(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()

	t.Run("access_denied", func(t *testing.T) {
		// The person cancels at the IdP: it redirects back with the error.
		var page string
		pageDone := make(chan struct{})
		open := func(authURL string) error {
			defer close(pageDone)
			au, _ := url.Parse(authURL)
			q := au.Query()
			back, _ := url.Parse(q.Get("redirect_uri"))
			back.RawQuery = url.Values{"error": {"access_denied"}, "error_description": {"The user cancelled the sign-in"},
				"state": {q.Get("state")}, "iss": {sandboxConfig(sb).Issuer}}.Encode()
			_, page, _ = browserGet(ctx, back.String())
			return nil
		}
		_, err := idp.Login(ctx, sandboxConfig(sb), idp.LoginOptions{Open: open, Out: io.Discard, Timeout: time.Minute})
		var oe *idp.OAuthError
		if !errors.As(err, &oe) || oe.Code != "access_denied" || !errors.Is(err, idp.ErrAccessDenied) {
			t.Fatalf("Login = %v, want an access_denied OAuthError", err)
		}
		if !strings.Contains(err.Error(), "The user cancelled the sign-in") {
			t.Errorf("the error lacks the IdP's description: %v", err)
		}
		<-pageDone
		if !strings.Contains(page, "Sign-in failed") || !strings.Contains(page, "The user cancelled the sign-in") {
			t.Errorf("failure page = %s", page)
		}
	})

	t.Run("login_required from the IdP", func(t *testing.T) {
		// prompt=none without an IdP session: the sandbox IdP itself redirects with an error.
		cfg := sandboxConfig(sb)
		cfg.AuthParams = map[string]string{"prompt": "none"}
		pp := &person{t: t, ctx: ctx, user: alice, pw: alicePW}
		_, err := idp.Login(ctx, cfg, idp.LoginOptions{Open: pp.open, Out: io.Discard, Timeout: time.Minute})
		var oe *idp.OAuthError
		if !errors.As(err, &oe) || oe.Code != "login_required" || !strings.Contains(err.Error(), "not signed in at the identity provider") {
			t.Fatalf("Login = %v, want login_required with the IdP's description", err)
		}
	})
}

func TestLoginTimeout(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	_, err := idp.Login(context.Background(), sandboxConfig(sb), idp.LoginOptions{
		Open: func(string) error { return nil }, Out: io.Discard, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, idp.ErrLoginTimeout) || !strings.Contains(err.Error(), "no sign-in within 300ms; run again, or use --device") {
		t.Fatalf("Login = %v, want the timeout error", err)
	}
}

func TestLoginCancelled(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := idp.Login(ctx, sandboxConfig(sb), idp.LoginOptions{Open: func(string) error { cancel(); return nil }, Out: io.Discard})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Login = %v, want context.Canceled", err)
	}
}

// When the browser cannot be opened (or with NoBrowser), the URL is
// printed and the login keeps waiting for the person to use it.
func TestLoginPrintedURL(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	for _, noBrowser := range []bool{false, true} {
		t.Run("NoBrowser="+strconv.FormatBool(noBrowser), func(t *testing.T) {
			lines := make(chan string, 16)
			out := &lineWriter{lines: lines}
			var opened atomic.Bool
			go func() {
				// The person uses the printed URL: at once with NoBrowser,
				// after the "could not open" notice otherwise.
				var printed string
				for l := range lines {
					l = strings.TrimSpace(l)
					if strings.HasPrefix(l, "http://") {
						printed = l
					}
					if printed != "" && (noBrowser || strings.Contains(l, "Open the URL above")) {
						pp := &person{t: t, ctx: ctx, user: alice, pw: alicePW}
						_ = pp.open(printed)
						return
					}
				}
			}()
			toks, err := idp.Login(ctx, sandboxConfig(sb), idp.LoginOptions{NoBrowser: noBrowser, Out: out, Timeout: time.Minute,
				Open: func(string) error { opened.Store(true); return errors.New("no display") }})
			close(lines)
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if toks.Claims.Email != alice {
				t.Errorf("email = %q", toks.Claims.Email)
			}
			if opened.Load() == noBrowser {
				t.Errorf("Open called = %v with NoBrowser = %v", opened.Load(), noBrowser)
			}
			if !noBrowser && !strings.Contains(out.all(), "Could not open a browser (no display)") {
				t.Errorf("Out = %q", out.all())
			}
		})
	}
}

type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	text  strings.Builder
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text.Write(p)
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.lines <- line
	}
}

func (w *lineWriter) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

func TestLoginBusyPort(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := sandboxConfig(sb)
	cfg.RedirectPort = port
	_, err = idp.Login(context.Background(), cfg, idp.LoginOptions{Open: func(string) error { return nil }, Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "port "+strconv.Itoa(port)) || !strings.Contains(err.Error(), "in use") ||
		!errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Login on a busy port = %v", err)
	}
}

// A fixed RedirectPort is used as given (IdPs that register one exact port).
func TestLoginFixedPort(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := sandboxConfig(sb)
	cfg.RedirectPort = port
	pp := &person{t: t, ctx: context.Background(), user: alice, pw: alicePW}
	if _, err := idp.Login(context.Background(), cfg, idp.LoginOptions{Open: pp.open, Out: io.Discard}); err != nil {
		t.Fatalf("Login: %v", err)
	}
	au, _ := url.Parse(pp.authURL)
	if want := "http://127.0.0.1:" + strconv.Itoa(port) + "/callback"; au.Query().Get("redirect_uri") != want {
		t.Errorf("redirect_uri = %s, want %s", au.Query().Get("redirect_uri"), want)
	}
}

func TestDeviceLoginSandbox(t *testing.T) {
	ctx := context.Background()

	t.Run("approved", func(t *testing.T) {
		t.Parallel()
		sb := ststest.Sandbox(t, nil)
		var out syncBuffer
		openedURL := make(chan string, 1)
		toks, err := idp.DeviceLogin(ctx, sandboxConfig(sb), idp.DeviceOptions{Out: &out, Open: func(u string) error {
			openedURL <- u
			return sandboxidp.ApproveDevice(ctx, nil, u, alice, alicePW)
		}})
		if err != nil {
			t.Fatalf("DeviceLogin: %v", err)
		}
		if toks.Claims.Email != alice || toks.RefreshToken == "" || toks.Claims.Issuer != sb.URL()+"/idp" {
			t.Errorf("tokens: email %q refresh %v iss %q", toks.Claims.Email, toks.RefreshToken != "", toks.Claims.Issuer)
		}
		u, _ := url.Parse(<-openedURL)
		code := u.Query().Get("user_code")
		text := out.String()
		if code == "" || !strings.Contains(text, "    "+code+"\n") || !strings.Contains(text, sb.URL()+"/idp/device\n") {
			t.Errorf("Out = %q (user code %q)", text, code)
		}
		if sb.Env.Stats.Get("idp:token") < 1 {
			t.Errorf("no token request reached the IdP")
		}
	})

	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		sb := ststest.Sandbox(t, nil)
		_, err := idp.DeviceLogin(ctx, sandboxConfig(sb), idp.DeviceOptions{Out: io.Discard, Open: func(u string) error {
			pu, _ := url.Parse(u)
			resp, err := http.PostForm(sb.URL()+"/idp/device", url.Values{"user_code": {pu.Query().Get("user_code")}, "action": {"deny"}})
			if err == nil {
				resp.Body.Close()
			}
			return err
		}})
		if !errors.Is(err, idp.ErrAccessDenied) || !strings.Contains(err.Error(), "denied on the verification page") {
			t.Fatalf("DeviceLogin = %v, want access denied", err)
		}
	})

	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		sb := ststest.Sandbox(t, nil)
		_, err := idp.DeviceLogin(ctx, sandboxConfig(sb), idp.DeviceOptions{Out: io.Discard, Open: func(string) error {
			sb.Env.Advance(sandboxidp.DefaultDeviceTTL + time.Minute) // nobody approves in time
			return nil
		}})
		if !errors.Is(err, idp.ErrDeviceExpired) || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("DeviceLogin = %v, want expired", err)
		}
	})
}

func login(t *testing.T, sb *sandbox.Sandbox, cfg idp.Config) *idp.Tokens {
	t.Helper()
	pp := &person{t: t, ctx: context.Background(), user: alice, pw: alicePW}
	toks, err := idp.Login(context.Background(), cfg, idp.LoginOptions{Open: pp.open, Out: io.Discard, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return toks
}

func TestRefreshRotation(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	cfg := sandboxConfig(sb)
	first := login(t, sb, cfg)

	second, err := idp.Refresh(ctx, cfg, first.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("the sandbox rotates refresh tokens; got the same or none")
	}
	if second.IDToken == first.IDToken || second.AccessToken == first.AccessToken {
		t.Errorf("refresh returned the old tokens")
	}
	if second.Claims.Subject != first.Claims.Subject || second.Claims.Email != alice || second.Expiry.Before(first.Expiry) {
		t.Errorf("refreshed claims = %+v (expiry %v, before %v)", second.Claims, second.Expiry, first.Expiry)
	}

	// Past the IdP's reuse grace window, the rotated-away token is
	// rejected: log in again. (The sandbox, as RFC 9700 advises, then
	// revokes the whole login, so the newest token stops working too.)
	sb.Env.Advance(sandboxidp.DefaultRefreshReuseGrace + time.Second)
	_, err = idp.Refresh(ctx, cfg, first.RefreshToken)
	var lr *idp.LoginRequiredError
	if !errors.Is(err, idp.ErrLoginRequired) || !errors.As(err, &lr) || !strings.Contains(err.Error(), "log in again") ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("reusing a rotated refresh token = %v, want ErrLoginRequired", err)
	}
	if strings.Contains(err.Error(), first.RefreshToken) {
		t.Errorf("the error shows the refresh token")
	}
	if _, err := idp.Refresh(ctx, cfg, second.RefreshToken); !errors.Is(err, idp.ErrLoginRequired) {
		t.Errorf("after reuse detection the newest token = %v, want ErrLoginRequired", err)
	}
	if _, err := idp.Refresh(ctx, cfg, ""); !errors.Is(err, idp.ErrLoginRequired) {
		t.Errorf("no refresh token = %v, want ErrLoginRequired", err)
	}
	if _, err := idp.Refresh(ctx, cfg, "not-a-token"); !errors.Is(err, idp.ErrLoginRequired) {
		t.Errorf("unknown refresh token = %v, want ErrLoginRequired", err)
	}
}

func TestRevoke(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	cfg := sandboxConfig(sb)
	toks := login(t, sb, cfg)

	userinfo := func() int {
		req, _ := http.NewRequest(http.MethodGet, sb.URL()+"/idp/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+toks.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := userinfo(); st != 200 {
		t.Fatalf("userinfo before revocation = %d", st)
	}
	if err := idp.Revoke(ctx, cfg, toks.AccessToken, idp.HintAccessToken); err != nil {
		t.Fatalf("Revoke access token: %v", err)
	}
	if st := userinfo(); st != 401 {
		t.Errorf("userinfo after revocation = %d, want 401", st)
	}
	if err := idp.Revoke(ctx, cfg, toks.RefreshToken, idp.HintRefreshToken); err != nil {
		t.Fatalf("Revoke refresh token: %v", err)
	}
	if _, err := idp.Refresh(ctx, cfg, toks.RefreshToken); !errors.Is(err, idp.ErrLoginRequired) {
		t.Errorf("Refresh after revocation = %v, want ErrLoginRequired", err)
	}
	if sb.Env.Stats.Get("idp:revoke") != 2 {
		t.Errorf("idp:revoke = %d, want 2", sb.Env.Stats.Get("idp:revoke"))
	}
}

func TestDiscoveryErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("unreachable", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		issuer := "http://" + ln.Addr().String() + "/idp"
		ln.Close()
		_, err := idp.Discover(ctx, idp.Config{Issuer: issuer, ClientID: "tipctl"})
		var ue *idp.UnreachableError
		if !errors.As(err, &ue) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Discover = %v, want UnreachableError", err)
		}
		if !strings.Contains(err.Error(), issuer+"/.well-known/openid-configuration") || !strings.Contains(err.Error(), "connection refused") ||
			!strings.Contains(err.Error(), "check the issuer / network") {
			t.Errorf("message = %q", err)
		}
		// Login and Refresh report the same.
		if _, err := idp.Refresh(ctx, idp.Config{Issuer: issuer, ClientID: "tipctl"}, "rt"); !errors.As(err, &ue) {
			t.Errorf("Refresh = %v", err)
		}
	})

	t.Run("dns", func(t *testing.T) {
		_, err := idp.Discover(ctx, idp.Config{Issuer: "https://idp.invalid", ClientID: "tipctl"})
		var ue *idp.UnreachableError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "idp.invalid") {
			t.Fatalf("Discover = %v, want UnreachableError", err)
		}
	})

	t.Run("issuer mismatch", func(t *testing.T) {
		sb := ststest.Sandbox(t, nil)
		_, err := idp.Discover(ctx, idp.Config{Issuer: sb.URL() + "/idp/", ClientID: "tipctl"})
		var de *idp.DiscoveryError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), `"`+sb.URL()+`/idp"`) || !strings.Contains(err.Error(), "trailing slashes") {
			t.Fatalf("Discover = %v, want an issuer mismatch", err)
		}
	})

	t.Run("not an IdP", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		_, err := idp.Discover(ctx, idp.Config{Issuer: srv.URL, ClientID: "tipctl"})
		var de *idp.DiscoveryError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "404") {
			t.Fatalf("Discover = %v, want a DiscoveryError", err)
		}
	})

	t.Run("tls", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
		defer srv.Close()
		_, err := idp.Discover(ctx, idp.Config{Issuer: srv.URL, ClientID: "tipctl"})
		var te *idp.TLSError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "TLS problem") || !strings.Contains(err.Error(), srv.URL) {
			t.Fatalf("Discover = %v, want a TLSError", err)
		}
	})

	t.Run("config", func(t *testing.T) {
		for _, c := range []struct {
			cfg  idp.Config
			want string
		}{
			{idp.Config{ClientID: "x"}, "issuer is not set"},
			{idp.Config{Issuer: "http://idp.example.com", ClientID: "x"}, "use https"},
			{idp.Config{Issuer: "ftp://idp.example.com", ClientID: "x"}, "not http(s)"},
			{idp.Config{Issuer: "https://idp.example.com"}, "client id is not set"},
			{idp.Config{Issuer: "https://idp.example.com", ClientID: "x", RedirectPort: 70000}, "not a TCP port"},
		} {
			if _, err := idp.Discover(ctx, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Discover(%+v) = %v, want %q", c.cfg, err, c.want)
			}
		}
	})
}

// Endpoint overrides win over discovery (Cognito lacks some endpoints).
func TestEndpointOverride(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	cfg := sandboxConfig(sb)
	p, err := idp.Discover(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e := p.Endpoints(); e.DeviceAuthURL != cfg.Issuer+"/device_authorization" && e.DeviceAuthURL == "" {
		t.Fatalf("discovered endpoints = %+v", e)
	}
	// Point revocation at a recorder: Revoke uses the override.
	var got url.Values
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.PostForm
	}))
	defer rec.Close()
	cfg.Endpoints.RevocationURL = rec.URL + "/revoke"
	if err := idp.Revoke(ctx, cfg, "tok-123", idp.HintRefreshToken); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if got.Get("token") != "tok-123" || got.Get("token_type_hint") != "refresh_token" || got.Get("client_id") != "tipctl" {
		t.Errorf("revocation form = %v", got)
	}
	// An override must be a usable URL.
	cfg.Endpoints.RevocationURL = "http://evil.example.com/revoke"
	if _, err := idp.Discover(ctx, cfg); err == nil || !strings.Contains(err.Error(), "revocation_endpoint") {
		t.Errorf("Discover with an http override = %v", err)
	}
}
