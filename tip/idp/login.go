package idp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// DefaultLoginTimeout is how long Login waits for the browser sign-in.
const DefaultLoginTimeout = 5 * time.Minute

// CallbackPath is the path of the loopback redirect URI.
const CallbackPath = "/callback"

// LoginOptions tune the browser login.
type LoginOptions struct {
	// Open opens the authorization URL in a browser; nil means OpenBrowser.
	// It runs in its own goroutine; an error makes Login print the URL and
	// keep waiting.
	Open func(url string) error
	// NoBrowser only prints the URL (for a browser on another screen).
	NoBrowser bool
	// Out receives the messages for the person ("open this URL"); nil
	// means os.Stderr. Never stdout: credential_process owns it.
	Out io.Writer
	// Timeout bounds the wait for the sign-in (default DefaultLoginTimeout).
	Timeout time.Duration
	// ListenAddr is the loopback address to listen on; the default is
	// 127.0.0.1 with Config.RedirectPort (0 = random).
	ListenAddr string
}

// Login signs in with the authorization code flow and PKCE (S256): it
// listens on a loopback port, opens the IdP's authorization page in a
// browser, waits for the redirect to http://127.0.0.1:PORT/callback, checks
// state (and iss when sent), redeems the code, and verifies the ID token
// including its nonce.
func Login(ctx context.Context, cfg Config, opts LoginOptions) (*Tokens, error) {
	p, err := Discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return p.Login(ctx, opts)
}

// Login is the package-level Login with a discovered provider.
func (p *Provider) Login(ctx context.Context, opts LoginOptions) (*Tokens, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	var out io.Writer = &lockedWriter{w: opts.Out}
	if opts.Out == nil {
		out = &lockedWriter{w: os.Stderr}
	}
	addr := opts.ListenAddr
	if addr == "" {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.cfg.RedirectPort))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	redirectURL := "http://" + net.JoinHostPort(tcp.IP.String(), strconv.Itoa(tcp.Port)) + CallbackPath

	flowCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cb := &callback{
		p:        p,
		ctx:      flowCtx,
		oauth:    p.oauth2Config(redirectURL),
		state:    randomString(),
		nonce:    randomString(),
		verifier: oauth2.GenerateVerifier(),
		hosts:    []string{ln.Addr().String(), "localhost:" + strconv.Itoa(tcp.Port)},
		done:     make(chan result, 1),
		out:      out,
	}
	authOpts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(cb.verifier), oidc.Nonce(cb.nonce)}
	keys := make([]string, 0, len(p.cfg.AuthParams))
	for k := range p.cfg.AuthParams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		authOpts = append(authOpts, oauth2.SetAuthURLParam(k, p.cfg.AuthParams[k]))
	}
	authURL := cb.oauth.AuthCodeURL(cb.state, authOpts...)

	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer scancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
	}()

	openErr := make(chan error, 1)
	if opts.NoBrowser {
		fmt.Fprintf(out, "To sign in, open this URL in a browser on this computer:\n\n    %s\n\nWaiting for the sign-in (up to %s)...\n", authURL, timeout)
	} else {
		open := opts.Open
		if open == nil {
			open = OpenBrowser
		}
		fmt.Fprintf(out, "Opening the browser to sign in. If it does not open, visit:\n\n    %s\n\n", authURL)
		go func() { openErr <- open(authURL) }()
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case res := <-cb.done:
			return res.tokens, res.err
		case err := <-openErr:
			if err != nil {
				fmt.Fprintf(out, "Could not open a browser (%v).\nOpen the URL above to sign in; waiting up to %s...\n", err, timeout)
			}
		case <-timer.C:
			if cb.claimed() { // the redirect arrived: give the code exchange its own time
				select {
				case res := <-cb.done:
					return res.tokens, res.err
				case <-ctx.Done():
					return nil, fmt.Errorf("login cancelled: %w", ctx.Err())
				case <-time.After(DefaultHTTPTimeout):
					return nil, fmt.Errorf("the identity provider did not answer the code exchange within %s: %w", DefaultHTTPTimeout, ErrLoginTimeout)
				}
			}
			return nil, fmt.Errorf("no sign-in within %s; run again, or use --device: %w", timeout, ErrLoginTimeout)
		case <-ctx.Done():
			return nil, fmt.Errorf("login cancelled: %w", ctx.Err())
		}
	}
}

func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Errorf("the loopback port %s for the sign-in redirect is in use (another login running?); free it, or set redirect_port to 0 for a random port: %w", port, err)
	}
	return fmt.Errorf("cannot listen on %s for the sign-in redirect: %w", addr, err)
}

// randomString is 32 random bytes, base64url (256 bits, as state and nonce).
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type result struct {
	tokens *Tokens
	err    error
}

// callback serves the loopback redirect. Stray requests (another path,
// no code/error parameters, a wrong Host) get a small 4xx and leave the
// login waiting; the first real redirect ends it.
type callback struct {
	p        *Provider
	ctx      context.Context
	oauth    *oauth2.Config
	state    string
	nonce    string
	verifier string
	hosts    []string
	done     chan result
	out      io.Writer // notes about ignored requests

	mu   sync.Mutex
	used bool
}

func (cb *callback) claimed() bool {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.used
}

func (cb *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(cb.hosts, r.Host) { // DNS rebinding: only our own address
		plain(w, http.StatusBadRequest, "unexpected Host header\n")
		return
	}
	if r.URL.Path != CallbackPath {
		plain(w, http.StatusNotFound, "not found\n")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		plain(w, http.StatusMethodNotAllowed, "method not allowed\n")
		return
	}
	q := r.URL.Query()
	if !q.Has("code") && !q.Has("error") {
		renderPage(w, http.StatusBadRequest, pageData{Title: "Nothing to do here", Failed: true,
			Message: "This address receives the identity provider's answer to a tipctl login; this request has none. Keep the login running and sign in from the page it opened."})
		return
	}
	// Only an answer carrying this login's state may end it: anything else
	// (a stale tab, another login's redirect, a forged request from a web
	// page, an error without state) is noted and ignored, so it cannot
	// cancel the sign-in the person is doing.
	if len(q["state"]) != 1 || !constantEqual(q.Get("state"), cb.state) {
		cb.note(q)
		renderPage(w, http.StatusBadRequest, pageData{Title: "Not this login's answer", Failed: true,
			Message: "This response does not carry the state of the running tipctl login and was ignored. Keep the login running and sign in from the page it opened."})
		return
	}
	cb.mu.Lock()
	if cb.used {
		cb.mu.Unlock()
		renderPage(w, http.StatusConflict, pageData{Title: "Already handled", Failed: true,
			Message: "This login has already received its answer. You may close this tab."})
		return
	}
	cb.used = true
	cb.mu.Unlock()

	res := cb.handle(q)
	if res.err != nil {
		renderPage(w, http.StatusOK, pageData{Title: "Sign-in failed", Failed: true, Message: res.err.Error() + ".",
			Hint: "You may close this tab and return to the terminal."})
	} else {
		who := res.tokens.Claims.Email
		if who == "" {
			who = res.tokens.Claims.Subject
		}
		renderPage(w, http.StatusOK, pageData{Title: "Signed in", Message: "You are signed in as " + who + ".",
			Hint: "You may close this tab and return to the terminal."})
	}
	cb.done <- res
}

// note tells the person on the terminal that a stray request to the
// callback was ignored; what it quotes comes from the request, so it is
// escaped and cut short.
func (cb *callback) note(q url.Values) {
	if cb.out == nil {
		return
	}
	what := "without this login's state"
	if q.Has("state") {
		what = "with another login's state"
	}
	if e := q.Get("error"); e != "" {
		what += fmt.Sprintf(" (error=%q)", clip(e, 60))
	}
	fmt.Fprintf(cb.out, "tipctl: ignored a request to the sign-in callback %s; still waiting for the sign-in\n", what)
}

func (cb *callback) handle(q url.Values) result {
	issuer := cb.p.cfg.Issuer
	if len(q["state"]) != 1 || !constantEqual(q.Get("state"), cb.state) {
		return result{err: ErrStateMismatch} // ServeHTTP filters these out already
	}
	switch iss := q.Get("iss"); { // RFC 9207 mix-up defence
	case q.Has("iss") && iss != issuer:
		return result{err: fmt.Errorf("the sign-in response came from the issuer %q, not %q; run the login again", clip(iss, 200), issuer)}
	case !q.Has("iss") && cb.p.issParam:
		return result{err: fmt.Errorf("the sign-in response has no iss parameter although %s announces it (RFC 9207); it may come from another identity provider, so it was refused; run the login again", issuer)}
	}
	if q.Has("error") {
		return result{err: redirectError(q)}
	}
	code := q.Get("code")
	if code == "" || len(q["code"]) != 1 {
		return result{err: errors.New("the sign-in response has an empty or repeated code")}
	}
	ctx := cb.p.ctx(cb.ctx)
	tok, err := cb.oauth.Exchange(ctx, code, oauth2.VerifierOption(cb.verifier))
	if err != nil {
		return result{err: classify("token exchange", cb.oauth.Endpoint.TokenURL, err)}
	}
	toks, err := cb.p.verify(cb.ctx, tok, cb.nonce, true)
	return result{tokens: toks, err: err}
}

func redirectError(q url.Values) error {
	return &OAuthError{Op: "sign-in", Code: clip(q.Get("error"), 100), Description: clip(q.Get("error_description"), 500),
		URI: clip(q.Get("error_uri"), 300)}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func constantEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// lockedWriter serializes the login's messages and the callback's notes.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
