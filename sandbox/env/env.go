// Package env is the runtime every sandbox service shares: the world, the
// clock, the principal registry, IAM, the assertion sealer, the token
// verifier and the operation counters.
package env

import (
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/iam"
	"github.com/tipctl/tipctl/sandbox/jwtverify"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Env is shared by all services of one sandbox.
type Env struct {
	World    *world.World
	Registry *auth.Registry
	IAM      *iam.Store
	Sealer   *auth.Sealer
	JWT      *jwtverify.Verifier
	Stats    *Stats
	Faults   *Faults
	// Objects is the S3 object store, set by the S3 service when it is wired,
	// so that other services (QuickSight snapshots) can write real objects.
	Objects ObjectStore

	offset atomic.Int64 // clock offset in nanoseconds, for tests

	// mu guards the live world and the state every service derives from it.
	mu        sync.RWMutex
	reloaders []Reloader
	persist   func(*world.World) error
}

// New builds the shared runtime for w and registers the IAM users' keys.
func New(w *world.World) (*Env, error) {
	store, err := iam.New(w)
	if err != nil {
		return nil, err
	}
	sealer, err := auth.NewSealer()
	if err != nil {
		return nil, err
	}
	e := &Env{World: w, Registry: auth.NewRegistry(sealer), IAM: store, Sealer: sealer,
		JWT: jwtverify.New(nil), Stats: NewStats(), Faults: &Faults{}}
	e.OnChange(func(w *world.World) (func(), error) {
		s, err := iam.New(w)
		if err != nil {
			return nil, err
		}
		return func() { e.IAM.Replace(s) }, nil
	})
	e.Registry.RolePolicies = func(arn string) ([]*iampolicy.Document, bool) {
		r, ok := e.IAM.RoleByArn(arn)
		if !ok {
			return nil, false
		}
		return r.Policies, true
	}
	for _, u := range store.UserList {
		for _, k := range u.AccessKeys {
			e.Registry.Add(&auth.Principal{
				AccountID: w.AccountID, Arn: u.Arn, UserID: u.UserID,
				AccessKeyID: k.ID, SecretAccessKey: k.Secret, Policies: u.Policies,
				Admin: u.Name == "admin",
			})
		}
	}
	return e, nil
}

// Now is the sandbox's clock: real time plus any offset set by Advance.
func (e *Env) Now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())).UTC() }

// Advance moves the sandbox clock forward (tests of expiry).
func (e *Env) Advance(d time.Duration) { e.offset.Add(int64(d)) }

// Authenticate verifies r's SigV4 signature and returns its principal. The
// credential scope must name the world's region.
func (e *Env) Authenticate(r *http.Request, body []byte, opt awsproto.VerifyOptions) (*auth.Principal, *awsproto.Error) {
	if !awsproto.IsSigned(r) {
		return nil, awsproto.Errorf(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	if opt.Region == "" {
		opt.Region = e.World.Region
	}
	var p *auth.Principal
	lookup := func(akid string) (awsproto.Key, bool) {
		found, ok := e.Registry.Resolve(akid, RequestSessionToken(r))
		if !ok {
			return awsproto.Key{}, false
		}
		p = found
		return awsproto.Key{Secret: found.SecretAccessKey, SessionToken: found.SessionToken, Expires: found.Expiration}, true
	}
	if _, err := awsproto.Verify(r, body, e.Now(), lookup, opt); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, awsproto.Errorf(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	callctx.SetPrincipal(r.Context(), p)
	return p, nil
}

// RequestSessionToken is the session token a signed request carries: the
// X-Amz-Security-Token header, or the query parameter of a presigned URL.
// Verify checks it against the session it names.
func RequestSessionToken(r *http.Request) string {
	if r.Header.Get("Authorization") != "" {
		return r.Header.Get("X-Amz-Security-Token")
	}
	q := r.URL.Query()
	if t := q.Get("X-Amz-Security-Token"); t != "" {
		return t
	}
	return q.Get("x-amz-security-token")
}

// ObjectStore is the part of S3 other services use.
type ObjectStore interface {
	PutObject(bucket, key string, body []byte, contentType string) error
	GetObject(bucket, key string) ([]byte, error)
	BucketExists(bucket string) bool
}

// Stats counts operations per "service:Operation".
type Stats struct {
	mu  sync.Mutex
	ops map[string]int64
}

// NewStats returns empty counters.
func NewStats() *Stats { return &Stats{ops: map[string]int64{}} }

// Inc counts one call of op, e.g. "sts:AssumeRole".
func (s *Stats) Inc(op string) {
	s.mu.Lock()
	s.ops[op]++
	s.mu.Unlock()
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.ops))
	for k, v := range s.ops {
		out[k] = v
	}
	return out
}

// Get returns one counter.
func (s *Stats) Get(op string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ops[op]
}

// Reset zeroes every counter.
func (s *Stats) Reset() {
	s.mu.Lock()
	s.ops = map[string]int64{}
	s.mu.Unlock()
}

// Keys lists the counted operations, sorted.
func (s *Stats) Keys() []string {
	snap := s.Snapshot()
	out := make([]string, 0, len(snap))
	for k := range snap {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Faults are injected failures, set through /_sandbox/faults.
type Faults struct {
	mu sync.Mutex
	// Delays per service name ("idp", "sts", "sso-oauth", ...).
	delays map[string]time.Duration
	// held counts the requests waiting in a delay, per service.
	held map[string]int
}

// Hold records a request entering service's delay; the function it
// returns records the request leaving it (served or abandoned).
func (f *Faults) Hold(service string) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held == nil {
		f.held = map[string]int{}
	}
	f.held[service]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.held[service]--; f.held[service] <= 0 {
			delete(f.held, service)
		}
	}
}

// Held returns how many requests wait in a delay now, per service: a test
// knows a request reached the sandbox and is parked there.
func (f *Faults) Held() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, n := range f.held {
		out[k] = n
	}
	return out
}

// SetDelay makes every request to service wait d first (0 clears it).
func (f *Faults) SetDelay(service string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.delays == nil {
		f.delays = map[string]time.Duration{}
	}
	if d <= 0 {
		delete(f.delays, service)
		return
	}
	f.delays[service] = d
}

// Delay returns the injected delay for service.
func (f *Faults) Delay(service string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delays[service]
}

// Snapshot returns the injected delays.
func (f *Faults) Snapshot() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.delays {
		out[k] = v.String()
	}
	return out
}
