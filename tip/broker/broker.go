// Package broker gives a web application identity-enhanced AWS credentials
// for each of its users, from the id_token of the application's own OIDC
// login, with the same trusted identity propagation chain as the tipctl
// CLI (tip/exchange). It caches the credentials per Identity Center user,
// refreshes them before they expire (botocore's advisory and mandatory
// windows, as tip/session), and makes sure that concurrent requests for one
// person cause one exchange: within a process (single flight) and across
// replicas (a lease-and-fencing lock in the shared cache, Redis or Valkey).
//
// Keys. Credentials are stored under (Identity Center user, settings),
// where settings hashes the application ARN, the roles and the session
// options. The Identity Center user is only known once CreateTokenWithIAM
// has answered, so a first request is keyed by its IdP principal: a hash
// of the (iss, sub) claims of the id_token, read only after the token's
// signature was verified. The principal key locks the exchange and, once
// it is done, maps the principal to its Identity Center user. Raw tokens
// are never keys; only their SHA-256 is kept, to know which assertion was
// already exchanged (Identity Center accepts each one once).
package broker

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/sync/singleflight"

	"github.com/tipctl/tipctl/tip/exchange"
	"github.com/tipctl/tipctl/tip/session"
)

// Verifier verifies an IdP id_token; *oidc.IDTokenVerifier is one.
type Verifier interface {
	Verify(ctx context.Context, rawIDToken string) (*oidc.IDToken, error)
}

// FailureMode says what to do when the shared cache fails.
type FailureMode int

const (
	// FallBack serves requests with the process-local cache and single
	// flight (one exchange per person per replica) until the shared cache
	// answers again. One log line and the fallbacks metric say so.
	FallBack FailureMode = iota
	// FailClosed fails the requests with an error matching
	// ErrCacheUnavailable.
	FailClosed
)

// Errors.
var (
	// ErrCacheUnavailable: the shared cache failed and the mode is FailClosed.
	ErrCacheUnavailable = errors.New("broker: the shared credential cache is unavailable")
	// ErrTokenExpired: the id_token given has expired; sign the person in again
	// or refresh it.
	ErrTokenExpired = errors.New("broker: the id_token has expired")
	// ErrAssertionUsed: the id_token was already exchanged and User.Refresh
	// is nil, so no fresh one can be had.
	ErrAssertionUsed = errors.New("broker: the id_token was already exchanged with Identity Center and no Refresh function was given")
)

// Config configures a Broker.
type Config struct {
	// Exchange is the chain's configuration, shared by every user; its
	// IDToken is ignored (each user brings theirs).
	Exchange exchange.Config
	// Verifier checks the signature, issuer, audience and expiry of the
	// id_tokens given to the broker. Required: a cache hit makes no AWS
	// call, so the broker must not trust unverified claims.
	Verifier Verifier
	// Cache is shared by replicas (NewRedis); default an in-process
	// NewMemory(MaxEntries).
	Cache Cache
	// MaxEntries bounds each in-process cache (default 10000).
	MaxEntries int
	// OnCacheFailure: FallBack (default) or FailClosed.
	OnCacheFailure FailureMode
	// Lease of the exchange lock (default 15 s). It is renewed while the
	// exchange runs; a replica that dies holding it delays the others by at
	// most one lease.
	Lease time.Duration
	// RetryCache is how long the local path is used after a shared cache
	// failure before the shared cache is tried again (default 1 s).
	RetryCache time.Duration
	// Logger receives the fallback and recovery lines (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Exchanger runs the chain (default exchange.Run).
	Exchanger func(ctx context.Context, c exchange.Config) (*exchange.Result, error)
	// QuickSight configures the QuickSight identity-context path.
	QuickSight *QuickSightConfig
}

// User is one person's request for credentials.
type User struct {
	// IDToken is the person's current id_token from the application's login.
	IDToken string
	// Refresh returns a fresh id_token of the same person (e.g. through the
	// refresh token): Identity Center exchanges an assertion only once, so
	// a second exchange (after the credentials expired, or after the
	// shared cache lost its entries) needs it. May be nil.
	Refresh func(ctx context.Context) (string, error)
}

// Session is a person's identity-enhanced credentials.
type Session struct {
	Credentials    aws.Credentials
	UserID         string // Identity Center user id (QuickSight path: the QuickSight user)
	IdentityStore  string
	AssumedRoleArn string
	// Cached is true when no exchange was made for this request.
	Cached bool
}

// Broker hands out identity-enhanced credentials for many users.
type Broker struct {
	cfg       Config
	shared    Cache
	local     *Memory // fallback path while the shared cache is down
	aliases   *Memory // principal -> Identity Center user, in-process
	verified  *Memory // sha256(id_token) -> principal, in-process
	settings  string
	lease     time.Duration
	retry     time.Duration
	now       func() time.Time
	log       *slog.Logger
	metrics   *Metrics
	flights   singleflight.Group
	downUntil atomic.Int64 // unix ns until which the shared cache is skipped
	degraded  atomic.Bool
}

// New returns a broker.
func New(cfg Config) (*Broker, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("broker: a Verifier is required (e.g. go-oidc's provider.Verifier)")
	}
	if cfg.Exchange.ApplicationArn == "" || cfg.Exchange.BridgeRoleArn == "" || cfg.Exchange.EnhancedRoleArn == "" || cfg.Exchange.AWS.Region == "" {
		return nil, errors.New("broker: the exchange needs the application ARN, the bridge and enhanced role ARNs and a region")
	}
	b := &Broker{cfg: cfg, shared: cfg.Cache, lease: cfg.Lease, retry: cfg.RetryCache, now: cfg.Now, log: cfg.Logger, metrics: newMetrics()}
	b.local = NewMemory(cfg.MaxEntries)
	b.aliases = NewMemory(cfg.MaxEntries)
	b.verified = NewMemory(cfg.MaxEntries)
	if b.shared == nil {
		b.shared = b.local
	}
	if b.lease <= 0 {
		b.lease = 15 * time.Second
	}
	if b.retry <= 0 {
		b.retry = time.Second
	}
	if b.now == nil {
		b.now = time.Now
	}
	for _, m := range []*Memory{b.local, b.aliases, b.verified} {
		m.now = b.now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.cfg.Exchanger == nil {
		b.cfg.Exchanger = exchange.Run
	}
	e := cfg.Exchange
	b.settings = digest("exchange", e.ApplicationArn, e.BridgeRoleArn, e.EnhancedRoleArn, e.IdentityCenterRegion, e.AWS.Region,
		e.EnhancedDuration.String(), e.SessionName, e.SourceIdentity)
	return b, nil
}

// Degraded reports whether the broker is serving from the process-local
// path because the shared cache failed (for health checks).
func (b *Broker) Degraded() bool { return b.degraded.Load() }

// Metrics returns the broker's counters.
func (b *Broker) Metrics() *Metrics { return b.metrics }

// digest is a short, unambiguous hash of parts.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func (b *Broker) credsKey(user string) string { return "creds:" + digest(user) + ":" + b.settings }
func (b *Broker) aliasKey(p string) string    { return "principal:" + p + ":" + b.settings }
func (b *Broker) lockKey(p string) string     { return "lock:" + p + ":" + b.settings }

// principal verifies tok (once per token per process) and returns the hash
// of its (iss, sub), its expiry and, once known, its Identity Center user.
// The in-process map is keyed by the token itself: it never leaves the
// process, and a map lookup costs less than hashing the token.
func (b *Broker) principal(ctx context.Context, tok string) (p string, exp time.Time, user string, err error) {
	p, exp, user, _, err = b.principalKey(ctx, tok)
	return p, exp, user, err
}

func (b *Broker) principalKey(ctx context.Context, tok string) (p string, exp time.Time, user, credsKey string, err error) {
	if e, _ := b.verified.Get(ctx, tok); e != nil {
		return e.UserID, e.Expires, e.Used, e.key, nil
	}
	idt, err := b.cfg.Verifier.Verify(ctx, tok)
	if err != nil {
		var te *oidc.TokenExpiredError
		if errors.As(err, &te) {
			return "", time.Time{}, "", "", ErrTokenExpired
		}
		return "", time.Time{}, "", "", fmt.Errorf("broker: the id_token is not valid: %w", err)
	}
	p = digest("principal", idt.Issuer, idt.Subject)
	b.remember(ctx, tok, p, idt.Expiry, "")
	return p, idt.Expiry, "", "", nil
}

// remember keeps a verified token's principal (and user, once known) in
// the in-process map: UserID holds the principal, Used the user.
func (b *Broker) remember(ctx context.Context, tok, p string, exp time.Time, user string) {
	e := &Entry{UserID: p, Expires: exp, Used: user}
	if user != "" {
		e.key = b.credsKey(user)
	}
	_ = b.verified.Put(ctx, nil, Item{Key: tok, Entry: e, TTL: exp.Sub(b.now())})
}

// Provider returns an aws.CredentialsProvider for the person: every
// Retrieve is a Credentials call (a cache hit costs well under a
// microsecond in memory, one round trip on Redis).
func (b *Broker) Provider(u User) aws.CredentialsProvider { return provider{b, u} }

type provider struct {
	b *Broker
	u User
}

func (p provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	s, err := p.b.Credentials(ctx, p.u)
	if err != nil {
		return aws.Credentials{}, err
	}
	return s.Credentials, nil
}

// Credentials returns the person's identity-enhanced credentials: cached
// ones outside the advisory window, else new ones from one exchange for
// all concurrent requests of the person, on every replica.
func (b *Broker) Credentials(ctx context.Context, u User) (*Session, error) {
	p, exp, user, key, err := b.principalKey(ctx, u.IDToken)
	if err != nil {
		return nil, err
	}
	if !b.now().Before(exp) {
		return nil, ErrTokenExpired
	}
	req := &request{principal: p, user: u, tokenExp: exp, idcUser: user, credsKey: key}
	c, onShared := b.cache()
	s, err := b.serve(ctx, c, req)
	if err == nil || !onShared || !isCacheFailure(err) {
		if err == nil && onShared {
			b.recovered()
		}
		return s, err
	}
	if ferr := b.cacheFailed(err); ferr != nil {
		return nil, ferr
	}
	b.metrics.Fallbacks.Add(1)
	return b.serve(ctx, b.local, req)
}

type request struct {
	principal string
	user      User
	tokenExp  time.Time
	idcUser   string // the Identity Center user, when this process knows it
	credsKey  string // and its credentials key
}

// cacheError marks an error of the shared cache (not of AWS).
type cacheError struct{ err error }

func (e *cacheError) Error() string { return "broker: shared cache: " + e.err.Error() }
func (e *cacheError) Unwrap() error { return e.err }

func isCacheFailure(err error) bool {
	var ce *cacheError
	return errors.As(err, &ce)
}

// cache returns the cache to use now.
func (b *Broker) cache() (Cache, bool) {
	if b.shared == Cache(b.local) {
		return b.local, false
	}
	if b.cfg.OnCacheFailure == FallBack && b.now().UnixNano() < b.downUntil.Load() {
		b.metrics.Fallbacks.Add(1)
		return b.local, false
	}
	return b.shared, true
}

// cacheFailed records a shared cache failure; in FailClosed mode it
// returns the error to give the caller.
func (b *Broker) cacheFailed(err error) error {
	b.metrics.CacheErrors.Add(1)
	if b.cfg.OnCacheFailure == FailClosed {
		return fmt.Errorf("%w: %v", ErrCacheUnavailable, errors.Unwrap(err))
	}
	b.downUntil.Store(b.now().Add(b.retry).UnixNano())
	if b.degraded.CompareAndSwap(false, true) {
		b.log.Warn("tipctl broker: the shared credential cache failed; serving from the process-local cache (one exchange per person per replica) until it is back",
			"error", errors.Unwrap(err).Error())
	}
	return nil
}

// recovered notes a working shared cache after a failure. The local
// entries made meanwhile are dropped: from now on the shared cache is the
// one truth again (logout deletes there).
func (b *Broker) recovered() {
	if b.degraded.CompareAndSwap(true, false) {
		b.local.Clear()
		b.log.Info("tipctl broker: the shared credential cache is back; sharing resumes")
	}
}

// get reads key from c: a refused entry is a miss; a failure is a cacheError.
func (b *Broker) get(ctx context.Context, c Cache, key string) (*Entry, error) {
	e, err := c.Get(ctx, key)
	if errors.Is(err, ErrRefused) {
		b.metrics.Refused.Add(1)
		b.log.Warn("tipctl broker: refused a cached entry", "reason", err.Error())
		return nil, nil
	}
	if err != nil {
		return nil, &cacheError{err}
	}
	return e, nil
}

// lookup returns the person's credentials entry from c.
func (b *Broker) lookup(ctx context.Context, c Cache, req *request) (*Entry, error) {
	user := req.idcUser
	if user == "" {
		if a, _ := b.aliases.Get(ctx, req.principal); a != nil {
			user = a.UserID
		} else {
			a, err := b.get(ctx, c, b.aliasKey(req.principal))
			if err != nil || a == nil {
				return nil, err
			}
			user = a.UserID
			_ = b.aliases.Put(ctx, nil, Item{Key: req.principal, Entry: &Entry{UserID: user}, TTL: req.tokenExp.Sub(b.now())})
		}
		req.idcUser, req.credsKey = user, b.credsKey(user)
		b.remember(ctx, req.user.IDToken, req.principal, req.tokenExp, user)
	}
	if req.credsKey == "" {
		req.credsKey = b.credsKey(user)
	}
	creds, err := b.get(ctx, c, req.credsKey)
	if creds != nil && creds.UserID != user {
		b.metrics.Refused.Add(1)
		creds = nil
	}
	return creds, err
}

// classify counts a cache lookup: a hit while e has more than the advisory
// window left; else a miss, with e kept as the fallback (old) while it has
// more than the mandatory window left.
func (b *Broker) classify(e *Entry) (hit *Session, old *Entry) {
	left := time.Duration(0)
	if e != nil {
		left = e.Expires.Sub(b.now())
	}
	if left > session.Advisory {
		b.metrics.Hits.Add(1)
		return sessionOf(e, true), nil
	}
	b.metrics.Misses.Add(1)
	if left > session.Mandatory {
		return nil, e
	}
	return nil, nil
}

// flightKey is the single-flight key of key on cache c: the process-local
// fallback has flights of its own.
func (b *Broker) flightKey(c Cache, key string) string {
	if c == Cache(b.local) {
		return key + "/local"
	}
	return key
}

func (b *Broker) serve(ctx context.Context, c Cache, req *request) (*Session, error) {
	creds, err := b.lookup(ctx, c, req)
	if err != nil {
		return nil, err
	}
	hit, old := b.classify(creds)
	if hit != nil {
		return hit, nil
	}
	return b.join(ctx, b.flightKey(c, b.lockKey(req.principal)), func(ctx context.Context) (*Session, error) { return b.exchangeLocked(ctx, c, req, old) })
}

// join runs fn once for all concurrent callers of key in this process,
// with the context of the first. A caller whose own context is alive runs
// again when that first caller was cancelled.
func (b *Broker) join(ctx context.Context, key string, fn func(context.Context) (*Session, error)) (*Session, error) {
	for attempt := 0; ; attempt++ {
		ch := b.flights.DoChan(key, func() (any, error) { return fn(ctx) })
		select {
		case r := <-ch:
			if r.Err != nil {
				leaderGone := errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)
				if leaderGone && ctx.Err() == nil && attempt < 3 {
					continue
				}
				return nil, r.Err
			}
			s := *r.Val.(*Session)
			return &s, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func sessionOf(e *Entry, cached bool) *Session {
	return &Session{Credentials: aws.Credentials{AccessKeyID: e.AccessKeyID, SecretAccessKey: e.SecretAccessKey,
		SessionToken: e.SessionToken, CanExpire: true, Expires: e.Expires, Source: "tipctl-broker"},
		UserID: e.UserID, IdentityStore: e.IdentityStoreID, AssumedRoleArn: e.AssumedRoleArn, Cached: cached}
}
