// Package credserver serves AWS credentials over the container credentials
// protocol (the one the SDKs use on ECS): with
// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN
// set, the AWS CLI, boto3, aws-sdk-go-v2 and every other SDK fetch
// credentials from it and refresh them when they expire.
//
// The server listens on loopback only, answers only requests carrying the
// random token in the Authorization header (else 401), caches credentials
// in memory and refreshes them ahead of expiry with one call to the source
// however many requests arrive at once.
package credserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/singleflight"
)

// Defaults.
const (
	// DefaultRefreshBefore is how long before expiry cached credentials are
	// replaced (botocore's advisory refresh window).
	DefaultRefreshBefore = 15 * time.Minute
	// DefaultMinValid is the least remaining life of credentials served
	// after a failed refresh (botocore's mandatory window).
	DefaultMinValid = 10 * time.Minute
	// retryAfter is how long a failed refresh is not retried while the
	// cached credentials are still served.
	retryAfter = 30 * time.Second
)

// ErrNotLoopback is returned by New for a listen address that is not a
// loopback address.
var ErrNotLoopback = errors.New("the credential server listens on loopback addresses only")

// Options configure a Server.
type Options struct {
	// Provider supplies the credentials (required). It is called only when
	// the cache is empty or within RefreshBefore of expiry, and never
	// concurrently.
	Provider aws.CredentialsProvider
	// Listen is the address, 127.0.0.1:0 when empty. Only loopback IPs and
	// "localhost" are accepted.
	Listen string
	// Token is the authorization token; a random one when empty.
	Token string
	// RoleArn is reported in the responses (optional).
	RoleArn string
	// RefreshBefore and MinValid: see the defaults.
	RefreshBefore, MinValid time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives one line per request served or refused and per refresh
	// (never a secret); nil discards them.
	Log func(format string, args ...any)
}

// Server is a running credential server.
type Server struct {
	opts     Options
	ln       net.Listener
	srv      *http.Server
	url      string
	token    string
	group    singleflight.Group
	mu       sync.Mutex
	cached   *aws.Credentials
	failedAt time.Time
	done     chan error
}

// New binds the listener; call Serve (or Start) to answer requests.
func New(opts Options) (*Server, error) {
	if opts.Provider == nil {
		return nil, errors.New("credserver: no credentials provider")
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.RefreshBefore == 0 {
		opts.RefreshBefore = DefaultRefreshBefore
	}
	if opts.MinValid == 0 {
		opts.MinValid = DefaultMinValid
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	addr, err := LoopbackAddr(opts.Listen)
	if err != nil {
		return nil, err
	}
	token := opts.Token
	if token == "" {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		token = base64.RawURLEncoding.EncodeToString(b[:])
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, ln: ln, token: token, done: make(chan error, 1)}
	s.url = "http://" + ln.Addr().String() + "/"
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute}
	return s, nil
}

// LoopbackAddr checks that listen is a loopback host:port and returns it
// with "localhost" resolved to 127.0.0.1.
func LoopbackAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", listen, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("%w, not %q", ErrNotLoopback, listen)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// URL is the value for AWS_CONTAINER_CREDENTIALS_FULL_URI.
func (s *Server) URL() string { return s.url }

// Token is the value for AWS_CONTAINER_AUTHORIZATION_TOKEN.
func (s *Server) Token() string { return s.token }

// Env returns the two environment variables that point SDKs here.
func (s *Server) Env() []string {
	return []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + s.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + s.token}
}

// Start serves in the background; Shutdown stops it.
func (s *Server) Start() {
	go func() {
		err := s.srv.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
}

// Shutdown stops accepting requests, lets the ones in flight finish until
// ctx ends, and waits for Start's goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	select {
	case serr := <-s.done:
		if err == nil {
			err = serr
		}
	case <-ctx.Done():
	}
	return err
}

// Response is the container credentials document.
type Response struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn,omitempty"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) log(format string, args ...any) {
	if s.opts.Log != nil {
		s.opts.Log(format, args...)
	}
}

// ServeHTTP answers one credentials request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
		return
	}
	got := r.Header.Get("Authorization")
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		s.log("credential server: refused a request from %s without the right token", r.RemoteAddr)
		writeErr(w, http.StatusUnauthorized, "Unauthorized", "the Authorization header must hold AWS_CONTAINER_AUTHORIZATION_TOKEN")
		return
	}
	// A browser page cannot read from here: it cannot know the token, and
	// a request naming another host is refused (DNS rebinding).
	if !loopbackHost(r.Host) {
		writeErr(w, http.StatusForbidden, "Forbidden", "requests must be addressed to a loopback host")
		return
	}
	c, err := s.Credentials(r.Context())
	if err != nil {
		s.log("credential server: no credentials for %s: %v", r.RemoteAddr, err)
		writeErr(w, http.StatusServiceUnavailable, "CredentialsUnavailable", err.Error())
		return
	}
	s.log("credential server: served credentials (until %s) to %s", c.Expires.UTC().Format(time.RFC3339), r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Response{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		Token: c.SessionToken, Expiration: c.Expires.UTC().Format(time.RFC3339), RoleArn: s.opts.RoleArn})
}

func loopbackHost(hostport string) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Message: msg})
}

// Credentials returns the cached credentials while they have more than
// RefreshBefore left, else refreshes them once for all concurrent callers.
// When a refresh fails, cached credentials with more than MinValid left
// are returned (and the refresh is retried after 30 seconds).
func (s *Server) Credentials(ctx context.Context) (aws.Credentials, error) {
	now := s.opts.Now()
	s.mu.Lock()
	c := s.cached
	backoff := !s.failedAt.IsZero() && now.Sub(s.failedAt) < retryAfter
	s.mu.Unlock()
	if c != nil && (!c.CanExpire || c.Expires.Sub(now) > s.opts.RefreshBefore) {
		return *c, nil
	}
	if c != nil && backoff && c.Expires.Sub(now) > s.opts.MinValid {
		return *c, nil
	}
	ch := s.group.DoChan("refresh", func() (any, error) {
		// Not the caller's context: one impatient client must not fail the
		// refresh for the others waiting on it.
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		nc, err := s.opts.Provider.Retrieve(rctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.failedAt = s.opts.Now()
			return nil, err
		}
		s.log("credential server: refreshed credentials (until %s)", nc.Expires.UTC().Format(time.RFC3339))
		s.cached, s.failedAt = &nc, time.Time{}
		return nc, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			if c != nil && c.Expires.Sub(s.opts.Now()) > s.opts.MinValid {
				return *c, nil
			}
			return aws.Credentials{}, res.Err
		}
		return res.Val.(aws.Credentials), nil
	case <-ctx.Done():
		return aws.Credentials{}, ctx.Err()
	}
}
