package auth

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Sealer signs and verifies the sandbox's own assertions (identity contexts,
// Identity Center tokens). They are compact JWS under a random 256-bit key
// generated at start that never leaves the process, so nothing outside the
// sandbox can forge them. Only the sandbox verifies them, so a symmetric
// MAC (HS256) serves, as AWS seals identity contexts with its own key; it
// is two orders of magnitude cheaper to verify than ES256, and every
// identity-enhanced AssumeRole verifies one.
type Sealer struct {
	key    []byte
	signer jose.Signer
}

// NewSealer generates a fresh key.
func NewSealer() (*Sealer, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: k}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &Sealer{key: k, signer: s}, nil
}

// Seal signs claims (any JSON-encodable value) into a compact JWS.
func (s *Sealer) Seal(claims any) (string, error) {
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := s.signer.Sign(b)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// ErrBadSeal means the assertion was not made by this sandbox or was altered.
var ErrBadSeal = errors.New("the assertion is malformed or its signature is invalid")

// Open verifies a compact JWS made by Seal and decodes its claims into out.
func (s *Sealer) Open(token string, out any) error {
	obj, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		return ErrBadSeal
	}
	b, err := obj.Verify(s.key)
	if err != nil {
		return ErrBadSeal
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSeal, err)
	}
	return nil
}

// ContextClaims is the payload of an identity-context assertion, as passed
// in sts:AssumeRole ProvidedContexts.
type ContextClaims struct {
	Type            string  `json:"typ"`
	Provider        string  `json:"prov"`
	UserID          string  `json:"sub,omitempty"`
	UserName        string  `json:"usr,omitempty"`
	Email           string  `json:"email,omitempty"`
	IdentityStoreID string  `json:"ids,omitempty"`
	InstanceArn     string  `json:"inst,omitempty"`
	ApplicationArn  string  `json:"app,omitempty"`
	Groups          []Group `json:"grp,omitempty"`
	QuickSightUser  string  `json:"qsu,omitempty"`
	Namespace       string  `json:"ns,omitempty"`
	IssuedAt        int64   `json:"iat"`
	Expiry          int64   `json:"exp"`
}

// ContextType marks identity-context assertions.
const ContextType = "identity_context"

// SealContext signs an identity context valid until exp.
func (s *Sealer) SealContext(c *IdentityContext, now time.Time) (string, error) {
	return s.Seal(ContextClaims{
		Type: ContextType, Provider: c.Provider, UserID: c.UserID, UserName: c.UserName, Email: c.Email,
		IdentityStoreID: c.IdentityStoreID, InstanceArn: c.InstanceArn, ApplicationArn: c.ApplicationArn,
		Groups: c.Groups, QuickSightUser: c.QuickSightUserArn, Namespace: c.Namespace,
		IssuedAt: now.Unix(), Expiry: c.ExpiresAt.Unix(),
	})
}

// Context errors.
var (
	ErrContextExpired  = errors.New("the provided context has expired")
	ErrContextProvider = errors.New("the provided context was not issued by that context provider")
)

// OpenContext verifies an identity-context assertion for provider.
func (s *Sealer) OpenContext(assertion, provider string, now time.Time) (*IdentityContext, error) {
	var c ContextClaims
	if err := s.Open(assertion, &c); err != nil {
		return nil, err
	}
	if c.Type != ContextType {
		return nil, ErrBadSeal
	}
	if c.Provider != provider {
		return nil, ErrContextProvider
	}
	exp := time.Unix(c.Expiry, 0)
	if !now.Before(exp) {
		return nil, ErrContextExpired
	}
	return &IdentityContext{
		Provider: c.Provider, UserID: c.UserID, UserName: c.UserName, Email: c.Email,
		IdentityStoreID: c.IdentityStoreID, InstanceArn: c.InstanceArn, ApplicationArn: c.ApplicationArn,
		Groups: c.Groups, QuickSightUserArn: c.QuickSightUser, Namespace: c.Namespace, ExpiresAt: exp,
	}, nil
}
