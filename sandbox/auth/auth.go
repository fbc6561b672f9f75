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
	// PoliciesFromRole marks a role session evaluated with its role's
	// current policies (Policies is filled from the role on each request).
	PoliciesFromRole bool

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

// Registry knows every principal that can sign a request. Long-term keys
// (the world's IAM users) are kept in a map. Sessions are not: their
// session token carries the sealed principal (see SessionToken), so the
// registry keeps only what revocation needs, bounded.
type Registry struct {
	sealer *Sealer
	// RolePolicies returns a role's current permission policies, which
	// role sessions are evaluated with (as in IAM, a change to the role
	// applies to its sessions at once).
	RolePolicies func(roleArn string) ([]*iampolicy.Document, bool)

	mu   sync.RWMutex
	keys map[string]*Principal
	rev  revocations
}

// NewRegistry returns an empty registry that seals sessions with s.
func NewRegistry(s *Sealer) *Registry {
	return &Registry{sealer: s, keys: map[string]*Principal{}, rev: newRevocations()}
}

// Add registers p under its access key id: long-term keys, and principals
// a test builds by hand. They take precedence over session tokens.
func (r *Registry) Add(p *Principal) {
	r.mu.Lock()
	r.keys[p.AccessKeyID] = p
	r.mu.Unlock()
}

// Get returns the principal of a long-term key (or one added with Add).
// Sessions are resolved from their token with Resolve.
func (r *Registry) Get(akid string) (*Principal, bool) {
	r.mu.RLock()
	p, ok := r.keys[akid]
	r.mu.RUnlock()
	return p, ok
}

// Resolve returns the principal that owns akid: a registered key, or the
// session sealed in token, when akid is that session's key id and the
// session is not revoked. It does not check expiry (the signature
// verifier does, to answer ExpiredToken).
func (r *Registry) Resolve(akid, token string) (*Principal, bool) {
	if p, ok := r.Get(akid); ok {
		return p, true
	}
	p, err := r.openSession(akid, token)
	if err != nil {
		return nil, false
	}
	if r.revoked(p) {
		return nil, false
	}
	return p, true
}

// Sweep forgets what expired before cutoff: registered sessions and
// revocation entries. It returns how many it dropped.
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
	return n + r.rev.sweep(cutoff)
}

// Len counts registered keys and revocation entries: the registry's state.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.keys) + len(r.rev.keys)
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

// IssueSession fills p's temporary credentials (ASIA…): the session
// token seals p, and the key id and secret derive from it. Nothing is
// stored.
func (r *Registry) IssueSession(p *Principal, expires time.Time) *Principal {
	p.Expiration = expires.UTC().Truncate(time.Second)
	if p.IssuedAt.IsZero() {
		p.IssuedAt = time.Now().UTC()
	}
	if err := r.sealSession(p); err != nil {
		// Sealing only fails if JSON encoding or the signer fails, which
		// they do not for these types; a session without keys is refused.
		p.AccessKeyID, p.SecretAccessKey, p.SessionToken = "", "", ""
	}
	return p
}
