package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
)

// Session tokens are self-contained, as AWS's are: the token seals the
// session's principal, and the access key id and secret derive from the
// token's random id under the sealer's key. A request signed with a
// session key carries the token (X-Amz-Security-Token, which SigV4
// covers), so the sandbox rebuilds the principal from it and keeps no
// per-session state: memory stays flat however many sessions it issues.

// tokenPrefix starts every session token, like AWS's (base64 of "\x21\n\torigin_ec").
const tokenPrefix = "IQoJb3JpZ2luX2VjE"

// SessionType marks session-token payloads.
const SessionType = "session"

// sessionClaims is the sealed payload of a session token. Names are short:
// the token travels in every request.
type sessionClaims struct {
	Type           string            `json:"typ"`
	ID             string            `json:"jti"`
	Account        string            `json:"acct"`
	Arn            string            `json:"arn"`
	UserID         string            `json:"uid"`
	RoleArn        string            `json:"role,omitempty"`
	RoleName       string            `json:"rn,omitempty"`
	SessionName    string            `json:"sn,omitempty"`
	Chained        bool              `json:"ch,omitempty"`
	Federated      string            `json:"fed,omitempty"`
	SourceIdentity string            `json:"si,omitempty"`
	IssuedAtMilli  int64             `json:"iat"`
	Expiry         int64             `json:"exp"`
	Context        *ContextClaims    `json:"ctx,omitempty"`
	RolePolicies   bool              `json:"rp,omitempty"`
	Policies       []json.RawMessage `json:"pol,omitempty"`
	// SessionPolicies are the session policies of AssumeRole (Policy, PolicyArns).
	SessionPolicies []json.RawMessage `json:"sp,omitempty"`
}

var (
	errNotSession = errors.New("not a session token of this sandbox")
	b32           = base32.StdEncoding.WithPadding(base32.NoPadding)
)

// derive is HMAC-SHA256 under the sealer's key of label and id.
func (s *Sealer) derive(label, id string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return m.Sum(nil)
}

// sessionKeys derives a session's access key id and secret from its id.
func (s *Sealer) sessionKeys(id string) (akid, secret string) {
	akid = "ASIA" + b32.EncodeToString(s.derive("access-key-id", id))[:16]
	secret = base64.StdEncoding.EncodeToString(s.derive("secret-access-key", id))[:40]
	return akid, secret
}

func contextClaims(c *IdentityContext) *ContextClaims {
	if c == nil {
		return nil
	}
	return &ContextClaims{Type: ContextType, Provider: c.Provider, UserID: c.UserID, UserName: c.UserName, Email: c.Email,
		IdentityStoreID: c.IdentityStoreID, InstanceArn: c.InstanceArn, ApplicationArn: c.ApplicationArn,
		Groups: c.Groups, QuickSightUser: c.QuickSightUserArn, Namespace: c.Namespace, Expiry: c.ExpiresAt.Unix()}
}

func (c *ContextClaims) context() *IdentityContext {
	if c == nil {
		return nil
	}
	return &IdentityContext{Provider: c.Provider, UserID: c.UserID, UserName: c.UserName, Email: c.Email,
		IdentityStoreID: c.IdentityStoreID, InstanceArn: c.InstanceArn, ApplicationArn: c.ApplicationArn,
		Groups: c.Groups, QuickSightUserArn: c.QuickSightUser, Namespace: c.Namespace, ExpiresAt: time.Unix(c.Expiry, 0)}
}

// sealSession fills p's keys and token.
func (r *Registry) sealSession(p *Principal) error {
	raw := make([]byte, 15)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	c := sessionClaims{Type: SessionType, ID: base64.RawURLEncoding.EncodeToString(raw), Account: p.AccountID, Arn: p.Arn,
		UserID: p.UserID, RoleArn: p.RoleArn, RoleName: p.RoleName, SessionName: p.SessionName, Chained: p.Chained,
		Federated: p.Federated, SourceIdentity: p.SourceIdentity, IssuedAtMilli: p.IssuedAt.UnixMilli(),
		Expiry: p.Expiration.Unix(), Context: contextClaims(p.Context), RolePolicies: p.PoliciesFromRole}
	if !p.PoliciesFromRole {
		for _, d := range p.Policies {
			b, err := json.Marshal(d)
			if err != nil {
				return err
			}
			c.Policies = append(c.Policies, b)
		}
	}
	for _, d := range p.SessionPolicies {
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		c.SessionPolicies = append(c.SessionPolicies, b)
	}
	tok, err := r.sealer.Seal(c)
	if err != nil {
		return err
	}
	p.AccessKeyID, p.SecretAccessKey = r.sealer.sessionKeys(c.ID)
	p.SessionToken = tokenPrefix + tok
	return nil
}

// openSession verifies token and rebuilds its principal; akid must be the
// session's key id.
func (r *Registry) openSession(akid, token string) (*Principal, error) {
	jws, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || !strings.HasPrefix(akid, "ASIA") {
		return nil, errNotSession
	}
	var c sessionClaims
	if err := r.sealer.Open(jws, &c); err != nil {
		return nil, err
	}
	if c.Type != SessionType || c.ID == "" {
		return nil, errNotSession
	}
	want, secret := r.sealer.sessionKeys(c.ID)
	if subtle.ConstantTimeCompare([]byte(want), []byte(akid)) != 1 {
		return nil, errNotSession
	}
	p := &Principal{AccountID: c.Account, Arn: c.Arn, UserID: c.UserID, RoleArn: c.RoleArn, RoleName: c.RoleName,
		SessionName: c.SessionName, Chained: c.Chained, Federated: c.Federated, SourceIdentity: c.SourceIdentity,
		AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token,
		Expiration: time.Unix(c.Expiry, 0).UTC(), IssuedAt: time.UnixMilli(c.IssuedAtMilli).UTC(),
		Context: c.Context.context(), PoliciesFromRole: c.RolePolicies}
	if c.RolePolicies {
		if r.RolePolicies != nil {
			p.Policies, _ = r.RolePolicies(c.RoleArn)
		}
	} else {
		for _, b := range c.Policies {
			d, err := iampolicy.Parse(b)
			if err != nil {
				return nil, err
			}
			p.Policies = append(p.Policies, d)
		}
	}
	for _, b := range c.SessionPolicies {
		d, err := iampolicy.Parse(b)
		if err != nil {
			return nil, err
		}
		p.SessionPolicies = append(p.SessionPolicies, d)
	}
	return p, nil
}

// MaxRevoked bounds the list of individually revoked sessions. Entries
// leave it when their session expires; when it is full, revoking one more
// session revokes every session of its role issued until then instead.
const MaxRevoked = 100_000

// revocations is all the per-session state the sandbox keeps: an epoch
// (every session issued at or before it is revoked), one per role, and a
// bounded list of single sessions until they expire.
type revocations struct {
	before     time.Time
	roleBefore map[string]time.Time
	keys       map[string]time.Time // access key id → session expiry
}

func newRevocations() revocations {
	return revocations{roleBefore: map[string]time.Time{}, keys: map[string]time.Time{}}
}

func (v *revocations) sweep(cutoff time.Time) int {
	n := 0
	for k, exp := range v.keys {
		if exp.Before(cutoff) {
			delete(v.keys, k)
			n++
		}
	}
	return n
}

func (r *Registry) revoked(p *Principal) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !p.IssuedAt.After(r.rev.before) {
		return true
	}
	if t, ok := r.rev.roleBefore[p.RoleArn]; ok && !p.IssuedAt.After(t) {
		return true
	}
	_, ok := r.rev.keys[p.AccessKeyID]
	return ok
}

// RevokeIssuedBefore revokes every session issued at or before t.
func (r *Registry) RevokeIssuedBefore(t time.Time) {
	r.mu.Lock()
	if t.After(r.rev.before) {
		r.rev.before = t
	}
	r.mu.Unlock()
}

// RevokeRoleSessions revokes every session of role issued at or before t,
// like IAM's "revoke active sessions" (a deny on aws:TokenIssueTime).
func (r *Registry) RevokeRoleSessions(roleArn string, t time.Time) {
	r.mu.Lock()
	if t.After(r.rev.roleBefore[roleArn]) {
		r.rev.roleBefore[roleArn] = t
	}
	r.mu.Unlock()
}

// Revoke revokes one session until it expires.
func (r *Registry) Revoke(p *Principal, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rev.keys) >= MaxRevoked {
		r.rev.sweep(now)
	}
	if len(r.rev.keys) >= MaxRevoked {
		if p.IssuedAt.After(r.rev.roleBefore[p.RoleArn]) {
			r.rev.roleBefore[p.RoleArn] = p.IssuedAt
		}
		return
	}
	r.rev.keys[p.AccessKeyID] = p.Expiration
}
