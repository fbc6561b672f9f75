package diag

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Leeway is the clock skew tolerated on nbf and iat.
const Leeway = time.Minute

// MaxSkew is the clock difference beyond which SigV4 requests fail.
const MaxSkew = 5 * time.Minute

// asymmetric are the JWS algorithms STS and Identity Center accept.
var asymmetric = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512}

// token is a decoded (not yet verified) JWT.
type token struct {
	raw    string
	header map[string]any
	claims map[string]any
	iss    string
	sub    string
	aud    []string
	exp    *time.Time
	nbf    *time.Time
	iat    *time.Time
}

func (t *token) alg() string { s, _ := t.header["alg"].(string); return s }
func (t *token) kid() string { s, _ := t.header["kid"].(string); return s }

// claim reads a string claim by name or dotted path.
func (t *token) claim(path string) (string, bool) {
	if v, ok := t.claims[path]; ok {
		s, ok := v.(string)
		return s, ok && s != ""
	}
	var cur any = t.claims
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[part]; !ok {
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok && s != ""
}

func decodeSegment(s string) (map[string]any, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("not base64url: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

func numericDate(v any) (*time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return nil, false
	}
	t := time.Unix(int64(f), 0).UTC()
	return &t, true
}

func (r *runner) tokenStructure(ctx context.Context) Result {
	const fix = "pass the IdP's id_token (a JWT: three base64url parts separated by dots) with --jwt or --jwt-file, or log in again"
	raw := strings.TrimSpace(r.in.Token)
	if raw == "" {
		return fail("pass the IdP token with --jwt TOKEN or --jwt-file FILE, or log in with the profile first", "no IdP token to diagnose")
	}
	parts := strings.Split(raw, ".")
	if len(parts) == 5 {
		return fail("pass the id_token, which is signed (JWS), not an encrypted (JWE) token", "the token is encrypted (JWE, 5 parts); STS and Identity Center need a signed JWT")
	}
	if len(parts) != 3 {
		return fail(fix, "the token is not a JWT: it has %d dot-separated parts, not 3", len(parts))
	}
	header, err := decodeSegment(parts[0])
	if err != nil {
		return fail(fix, "the JWT header is %v", err)
	}
	claims, err := decodeSegment(parts[1])
	if err != nil {
		return fail(fix, "the JWT payload is %v", err)
	}
	if parts[2] == "" {
		return fail("use a signed id_token; unsigned tokens are never accepted", "the JWT has no signature")
	}
	t := &token{raw: raw, header: header, claims: claims}
	t.iss, _ = claims["iss"].(string)
	t.sub, _ = claims["sub"].(string)
	switch a := claims["aud"].(type) {
	case string:
		t.aud = []string{a}
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok {
				t.aud = append(t.aud, s)
			}
		}
	}
	var missing []string
	var ok bool
	if t.exp, ok = numericDate(claims["exp"]); !ok {
		missing = append(missing, "exp")
	}
	if v, present := claims["nbf"]; present {
		if t.nbf, ok = numericDate(v); !ok {
			missing = append(missing, "nbf (not a number)")
		}
	}
	if v, present := claims["iat"]; present {
		if t.iat, ok = numericDate(v); !ok {
			missing = append(missing, "iat (not a number)")
		}
	}
	if t.iss == "" {
		missing = append(missing, "iss")
	}
	if t.sub == "" {
		missing = append(missing, "sub")
	}
	if len(t.aud) == 0 {
		missing = append(missing, "aud")
	}
	if len(missing) > 0 {
		return fail("use the IdP's id_token: access tokens of some IdPs lack these claims", "the JWT lacks required claims: %s", strings.Join(missing, ", "))
	}
	r.tok = t
	alg := t.alg()
	supported := false
	for _, a := range asymmetric {
		if string(a) == alg {
			supported = true
		}
	}
	if !supported {
		return fail("configure the IdP to sign id_tokens with RS256 (or another RS/ES/PS algorithm)",
			"the JWT is signed with %q; STS and Identity Center accept only asymmetric algorithms (RS*, ES*, PS*)", alg)
	}
	if u, err := url.Parse(t.iss); err != nil || u.Host == "" || (u.Scheme != "https" && !isLoopback(u.Hostname())) {
		return fail("use an IdP whose issuer is an https:// URL", "the issuer %q is not an https URL; IAM OIDC providers and trusted token issuers need one", t.iss)
	}
	return pass("JWT signed with %s (kid %q) by %s for sub %q, aud %s", alg, t.kid(), t.iss, t.sub, quoteList(t.aud))
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func (r *runner) tokenExpiry(ctx context.Context) Result {
	t := r.tok
	if t == nil {
		return after("token.structure", "the expiry check")
	}
	login := "get a fresh token: log in again (tipctl auth login) and rerun diag"
	now := r.now
	if now.After(*t.exp) || now.Equal(*t.exp) {
		return fail(login, "the token expired %s ago (exp %s; now %s)", now.Sub(*t.exp).Round(time.Second), t.exp.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if t.nbf != nil && t.nbf.After(now.Add(Leeway)) {
		return fail("check this machine's clock and the IdP's; the token becomes valid at "+t.nbf.Format(time.RFC3339),
			"the token is not valid yet: nbf %s is %s ahead of this machine's clock", t.nbf.Format(time.RFC3339), t.nbf.Sub(now).Round(time.Second))
	}
	// The IdP's Date header tells how far apart the clocks are.
	var skew time.Duration
	if d, err := r.discovery(ctx); err == nil && !d.date.IsZero() {
		skew = now.Sub(d.date)
	}
	left := t.exp.Sub(now).Round(time.Second)
	switch {
	case skew > MaxSkew || skew < -MaxSkew:
		return warn("synchronize this machine's clock (NTP): AWS refuses signed requests more than 5 minutes off",
			"this machine's clock is %s off the IdP's clock (its Date header); the token is valid for %s", skew.Round(time.Second), left)
	case t.iat != nil && t.iat.After(now.Add(Leeway)):
		return warn("synchronize this machine's clock (NTP) or the IdP's",
			"the token was issued %s in the future (iat %s): the clocks of this machine and the IdP disagree", t.iat.Sub(now).Round(time.Second), t.iat.Format(time.RFC3339))
	case left < 2*time.Minute:
		return warn(login, "the token expires in %s (exp %s): the dry run or later calls may find it expired", left, t.exp.Format(time.RFC3339))
	}
	return pass("the token is valid for %s more (exp %s); clock skew to the IdP %s", left, t.exp.Format(time.RFC3339), skew.Round(time.Second))
}

// discovery is the issuer's OpenID configuration and keys.
type discovery struct {
	url     string
	issuer  string
	jwksURI string
	keys    *jose.JSONWebKeySet
	date    time.Time
	keysErr error
}

func (r *runner) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.Header, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return b, resp.Header, nil
}

// discovery fetches the discovery document and the JWKS once.
func (r *runner) discovery(ctx context.Context) (*discovery, error) {
	if r.discTried {
		return r.disc, r.discErr
	}
	r.discTried = true
	if r.tok == nil {
		r.discErr = fmt.Errorf("no issuer")
		return nil, r.discErr
	}
	d := &discovery{url: strings.TrimSuffix(r.tok.iss, "/") + "/.well-known/openid-configuration"}
	body, hdr, err := r.get(ctx, d.url)
	if hdr != nil {
		d.date, _ = http.ParseTime(hdr.Get("Date"))
	}
	if err != nil {
		r.discErr = fmt.Errorf("cannot fetch %s: %v", d.url, err)
		return nil, r.discErr
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		r.discErr = fmt.Errorf("%s is not a JSON discovery document", d.url)
		return nil, r.discErr
	}
	d.issuer, d.jwksURI = doc.Issuer, doc.JWKSURI
	r.disc = d
	if d.jwksURI == "" {
		d.keysErr = fmt.Errorf("the discovery document has no jwks_uri")
		return d, nil
	}
	kb, _, err := r.get(ctx, d.jwksURI)
	if err != nil {
		d.keysErr = fmt.Errorf("cannot fetch the keys at %s: %v", d.jwksURI, err)
		return d, nil
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(kb, &set); err != nil {
		d.keysErr = fmt.Errorf("the keys at %s are not a JWK set: %v", d.jwksURI, err)
		return d, nil
	}
	d.keys = &set
	return d, nil
}

func (r *runner) tokenDiscovery(ctx context.Context) Result {
	if r.tok == nil {
		return after("token.structure", "the discovery check")
	}
	d, err := r.discovery(ctx)
	if err != nil {
		return fail("make the issuer's /.well-known/openid-configuration reachable: AWS fetches it to verify tokens (check the issuer URL, proxies and TLS)",
			"the issuer's discovery document is not usable: %v", err)
	}
	if d.issuer != r.tok.iss {
		return fail(fmt.Sprintf("use the issuer exactly as the discovery document states it (%q) in the IdP configuration, the IAM OIDC provider and the trusted token issuer", d.issuer),
			"the discovery document at %s says issuer %q but the token says %q", d.url, d.issuer, r.tok.iss)
	}
	if d.keysErr != nil {
		return fail("make the issuer's jwks_uri reachable: STS and Identity Center fetch the signing keys there", "%v", d.keysErr)
	}
	if len(d.keys.Keys) == 0 {
		return fail("publish the IdP's signing keys at its jwks_uri", "the JWK set at %s has no keys", d.jwksURI)
	}
	return pass("discovery document %s names the same issuer; %d signing key(s) at %s", d.url, len(d.keys.Keys), d.jwksURI)
}

func (r *runner) tokenSignature(ctx context.Context) Result {
	if r.tok == nil {
		return after("token.structure", "the signature check")
	}
	d, _ := r.discovery(ctx)
	if d == nil || d.keys == nil {
		return after("token.discovery", "the signature check")
	}
	fresh := "the token was altered or signed with another key: get a fresh token from the IdP (log in again); if it persists, the IdP signs with a key it does not publish"
	jws, err := jose.ParseSigned(r.tok.raw, asymmetric)
	if err != nil {
		return fail(fresh, "the token's signature cannot be parsed: %v", err)
	}
	candidates := d.keys.Keys
	if kid := r.tok.kid(); kid != "" {
		candidates = d.keys.Key(kid)
		if len(candidates) == 0 {
			return fail("if the IdP rotated its keys, log in again for a token signed with a current key",
				"no key with kid %q at %s (keys there: %s)", kid, d.jwksURI, quoteList(kids(d.keys)))
		}
	}
	for _, k := range candidates {
		if _, err := jws.Verify(k); err == nil {
			return pass("the signature verifies with key %q of %s", k.KeyID, d.jwksURI)
		}
	}
	return fail(fresh, "the signature does not verify with any key of %s (kid %q)", d.jwksURI, r.tok.kid())
}

func kids(set *jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}
