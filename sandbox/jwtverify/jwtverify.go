// Package jwtverify checks third-party OIDC tokens the way AWS does: the
// signature against the issuer's JWKS (fetched over HTTP through discovery,
// or registered in-process for the sandbox's own IdP), asymmetric algorithms
// only, then exp, nbf and iat.
package jwtverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Kind classifies a verification failure.
type Kind int

const (
	// Malformed: not a compact JWS, bad JSON, or missing claims.
	Malformed Kind = iota
	// Algorithm: alg none, HMAC or another algorithm AWS refuses.
	Algorithm
	// Untrusted: the issuer is not one the caller trusts.
	Untrusted
	// KeysUnavailable: the issuer's discovery document or JWKS could not be fetched.
	KeysUnavailable
	// BadSignature: no key of the issuer verifies the signature.
	BadSignature
	// Expired: exp is in the past.
	Expired
	// NotYetValid: nbf or iat is in the future.
	NotYetValid
)

// Error is a verification failure.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func fail(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, a...)}
}

// Claims are a verified token's claims.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Expiry    time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	// Raw holds every claim as decoded JSON.
	Raw map[string]any
}

// String returns a claim as a string ("" when absent or not a string).
func (c *Claims) String(name string) string {
	s, _ := c.Raw[name].(string)
	return s
}

// Allowed are the signature algorithms AWS accepts for OIDC tokens.
var Allowed = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256}

// Leeway is the clock skew tolerated on exp/nbf/iat.
const Leeway = 60 * time.Second

// Verifier verifies tokens, caching remote key sets.
type Verifier struct {
	HTTP *http.Client
	// CacheTTL is how long a fetched JWKS is trusted before re-fetching.
	CacheTTL time.Duration

	mu     sync.Mutex
	local  map[string]func() *jose.JSONWebKeySet
	remote map[string]cached
	// discovery maps an issuer to where its discovery document is read
	// instead of ISSUER/.well-known/openid-configuration.
	discovery map[string]string
}

type cached struct {
	keys    *jose.JSONWebKeySet
	fetched time.Time
}

// New returns a Verifier using client for remote key sets.
func New(client *http.Client) *Verifier {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Verifier{HTTP: client, CacheTTL: 5 * time.Minute, local: map[string]func() *jose.JSONWebKeySet{}, remote: map[string]cached{}}
}

// RegisterLocal serves issuer's keys from memory instead of HTTP.
func (v *Verifier) RegisterLocal(issuer string, keys func() *jose.JSONWebKeySet) {
	v.mu.Lock()
	v.local[strings.TrimSuffix(issuer, "/")] = keys
	v.mu.Unlock()
}

// Peek decodes a token's claims without verifying anything.
func Peek(token string) (map[string]any, *Error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fail(Malformed, "the token is not a JWT (expected three dot-separated parts)")
	}
	obj, err := jose.ParseSigned(token, append(append([]jose.SignatureAlgorithm{}, Allowed...), jose.HS256, jose.HS384, jose.HS512, "none"))
	var payload []byte
	if err == nil {
		payload = obj.UnsafePayloadWithoutVerification()
	} else {
		return nil, fail(Malformed, "the token is not a valid JWS: %v", err)
	}
	raw := map[string]any{}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, fail(Malformed, "the token payload is not a JSON object")
	}
	return raw, nil
}

// Verify checks token. trusted is asked about the issuer before any key is
// fetched; a false answer is an Untrusted error.
func (v *Verifier) Verify(ctx context.Context, token string, now time.Time, trusted func(iss string) bool) (*Claims, error) {
	if strings.Count(token, ".") != 2 {
		return nil, fail(Malformed, "the token is not a JWT (expected three dot-separated parts)")
	}
	obj, err := jose.ParseSigned(token, Allowed)
	if err != nil {
		if strings.Contains(err.Error(), "unexpected signature algorithm") {
			return nil, fail(Algorithm, "the token's signing algorithm is not accepted (asymmetric RS/ES/PS algorithms only)")
		}
		return nil, fail(Malformed, "the token is not a valid JWS")
	}
	raw := map[string]any{}
	if err := json.Unmarshal(obj.UnsafePayloadWithoutVerification(), &raw); err != nil {
		return nil, fail(Malformed, "the token payload is not a JSON object")
	}
	iss, _ := raw["iss"].(string)
	if iss == "" {
		return nil, fail(Malformed, "the token has no iss claim")
	}
	if trusted != nil && !trusted(iss) {
		return nil, fail(Untrusted, "the issuer %q is not trusted", iss)
	}
	keys, err := v.keys(ctx, iss, false)
	if err != nil {
		return nil, err
	}
	if !verifyWith(obj, keys) {
		// The issuer may have rotated its keys: fetch once more.
		if keys, err = v.keys(ctx, iss, true); err != nil {
			return nil, err
		}
		if !verifyWith(obj, keys) {
			return nil, fail(BadSignature, "the token signature could not be verified with the issuer's keys")
		}
	}
	c := &Claims{Issuer: iss, Raw: raw}
	c.Subject, _ = raw["sub"].(string)
	switch a := raw["aud"].(type) {
	case string:
		c.Audience = []string{a}
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok {
				c.Audience = append(c.Audience, s)
			}
		}
	}
	num := func(name string) (time.Time, bool) {
		f, ok := raw[name].(float64)
		if !ok {
			return time.Time{}, false
		}
		return time.Unix(int64(f), 0), true
	}
	exp, ok := num("exp")
	if !ok {
		return nil, fail(Malformed, "the token has no exp claim")
	}
	c.Expiry = exp
	if now.After(exp.Add(Leeway)) {
		return nil, fail(Expired, "the token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if nbf, ok := num("nbf"); ok {
		c.NotBefore = nbf
		if now.Add(Leeway).Before(nbf) {
			return nil, fail(NotYetValid, "the token is not valid before %s", nbf.UTC().Format(time.RFC3339))
		}
	}
	if iat, ok := num("iat"); ok {
		c.IssuedAt = iat
		if now.Add(5 * time.Minute).Before(iat) {
			return nil, fail(NotYetValid, "the token was issued in the future (%s)", iat.UTC().Format(time.RFC3339))
		}
	}
	return c, nil
}

func verifyWith(obj *jose.JSONWebSignature, keys *jose.JSONWebKeySet) bool {
	kid := obj.Signatures[0].Header.KeyID
	for _, k := range keys.Keys {
		if kid != "" && k.KeyID != "" && k.KeyID != kid {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if _, err := obj.Verify(k.Public().Key); err == nil {
			return true
		}
	}
	return false
}

func (v *Verifier) keys(ctx context.Context, iss string, force bool) (*jose.JSONWebKeySet, error) {
	norm := strings.TrimSuffix(iss, "/")
	v.mu.Lock()
	if f, ok := v.local[norm]; ok {
		v.mu.Unlock()
		return f(), nil
	}
	c, ok := v.remote[norm]
	v.mu.Unlock()
	if ok && !force && time.Since(c.fetched) < v.CacheTTL {
		return c.keys, nil
	}
	keys, err := v.fetch(ctx, norm)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.remote[norm] = cached{keys: keys, fetched: time.Now()}
	v.mu.Unlock()
	return keys, nil
}

func (v *Verifier) getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := v.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

func (v *Verifier) fetch(ctx context.Context, iss string) (*jose.JSONWebKeySet, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	where := iss + "/.well-known/openid-configuration"
	v.mu.Lock()
	if d, ok := v.discovery[iss]; ok {
		where = d
	}
	v.mu.Unlock()
	if err := v.getJSON(ctx, where, &disc); err != nil {
		return nil, fail(KeysUnavailable, "the issuer's discovery document could not be fetched: %v", err)
	}
	if strings.TrimSuffix(disc.Issuer, "/") != iss || disc.JWKSURI == "" {
		return nil, fail(KeysUnavailable, "the issuer's discovery document names issuer %q, not %q", disc.Issuer, iss)
	}
	var set jose.JSONWebKeySet
	if err := v.getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return nil, fail(KeysUnavailable, "the issuer's JWKS could not be fetched: %v", err)
	}
	return &set, nil
}

// IsKind reports whether err is a verification Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
