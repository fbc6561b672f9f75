// Package auth holds the sandbox's principals: who owns each access key,
// what they may do, and (for identity-enhanced sessions) which person they
// carry. It also signs and verifies the sandbox's own opaque assertions.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// Context provider ARNs accepted in sts:AssumeRole ProvidedContexts.
const (
	IdentityCenterProvider = "arn:aws:iam::aws:contextProvider/IdentityCenter"
	QuickSightProvider     = "arn:aws:iam::aws:contextProvider/QuickSight"
)

// Group is an identity-store group.
type Group struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// IdentityContext is the person an identity-enhanced session carries.
type IdentityContext struct {
	// Provider is the context provider ARN the session was made with.
	Provider string
	// Identity Center (Provider == IdentityCenterProvider).
	UserID          string
	UserName        string
	Email           string
	IdentityStoreID string
	InstanceArn     string
	ApplicationArn  string
	Groups          []Group
	// QuickSight (Provider == QuickSightProvider).
	QuickSightUserArn string
	Namespace         string
	// ExpiresAt bounds the session: it cannot outlive the context.
	ExpiresAt time.Time
}

// GroupNames lists the names of the person's groups.
func (c *IdentityContext) GroupNames() []string {
	out := make([]string, len(c.Groups))
	for i, g := range c.Groups {
		out[i] = g.Name
	}
	return out
}

// Principal is an authenticated caller.
type Principal struct {
	AccountID string
	// Arn is the caller ARN GetCallerIdentity returns.
	Arn string
	// UserID is AIDA… for users or AROA…:session for role sessions.
	UserID string
	// For role sessions.
	RoleArn     string
	RoleName    string
	SessionName string
	// Chained is true when the session was made by another role session.
	Chained bool
	// Federated is the OIDC provider ARN of a web-identity session.
	Federated      string
	SourceIdentity string

	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expiration is zero for long-term keys.
	Expiration time.Time
	// IssuedAt is when a session was issued (aws:TokenIssueTime).
	IssuedAt time.Time

	// Policies are the identity-based permission policies.
	Policies []*iampolicy.Document
	// Context is non-nil for identity-enhanced sessions.
	Context *IdentityContext
	// Admin marks the world's administrator (long-term keys).
	Admin bool
}

// IsSession reports whether p is a temporary role session.
func (p *Principal) IsSession() bool { return p.RoleArn != "" }

// Caller returns p as a policy caller for Principal matching.
func (p *Principal) Caller() *iampolicy.Caller {
	arns := []string{p.Arn}
	if p.RoleArn != "" {
		arns = append(arns, p.RoleArn)
	}
	return &iampolicy.Caller{Account: p.AccountID, ARNs: arns}
}

// Allowed evaluates p's identity policies for action on resource, with
// p's own condition keys (see RequestContext) under the request's keys ctx.
func (p *Principal) Allowed(action, resource string, ctx map[string][]string) bool {
	return p.Evaluate(action, resource, ctx) == iampolicy.Allow
}

// Registry maps access key ids to principals.
type Registry struct {
	mu   sync.RWMutex
	keys map[string]*Principal
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{keys: map[string]*Principal{}} }

// Add registers p under its access key id.
func (r *Registry) Add(p *Principal) {
	r.mu.Lock()
	r.keys[p.AccessKeyID] = p
	r.mu.Unlock()
}

// Get returns the principal owning akid.
func (r *Registry) Get(akid string) (*Principal, bool) {
	r.mu.RLock()
	p, ok := r.keys[akid]
	r.mu.RUnlock()
	return p, ok
}

// Lookup adapts the registry to awsproto.KeyLookup.
func (r *Registry) Lookup(akid string) (awsproto.Key, bool) {
	p, ok := r.Get(akid)
	if !ok {
		return awsproto.Key{}, false
	}
	return awsproto.Key{Secret: p.SecretAccessKey, SessionToken: p.SessionToken, Expires: p.Expiration}, true
}

// Sweep forgets sessions that expired before cutoff.
func (r *Registry) Sweep(cutoff time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, p := range r.keys {
		if !p.Expiration.IsZero() && p.Expiration.Before(cutoff) {
			delete(r.keys, k)
			n++
		}
	}
	return n
}

// Len counts registered keys.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.keys)
}

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// RandomID returns prefix followed by n characters of AWS's key alphabet.
func RandomID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	var sb strings.Builder
	sb.WriteString(prefix)
	for _, c := range b {
		sb.WriteByte(keyAlphabet[int(c)%len(keyAlphabet)])
	}
	return sb.String()
}

// RandomSecret returns a 40-character secret access key.
func RandomSecret() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// RandomToken returns an opaque session token of about n bytes.
func RandomToken(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// IssueSession fills p's temporary credentials (ASIA…) and registers it.
func (r *Registry) IssueSession(p *Principal, expires time.Time) *Principal {
	p.AccessKeyID = RandomID("ASIA", 16)
	p.SecretAccessKey = RandomSecret()
	p.SessionToken = RandomToken("IQoJb3JpZ2luX2VjE", 180)
	p.Expiration = expires.UTC().Truncate(time.Second)
	r.Add(p)
	return p
}
