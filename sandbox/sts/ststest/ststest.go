// Package ststest is test support for the identity plane: a test OIDC
// issuer whose RSA key is registered in-process with a sandbox, hostile
// token makers (forged, alg none, HS256 key confusion), a test world wired
// to that issuer, and aws-sdk-go-v2 configs pointed at the sandbox. Its
// issuer is not the sandbox IdP, so the tests of STS and Identity Center
// mint their own IdP tokens. For the tests of tipctl's client side it also
// starts sandboxes (Sandbox), signs people in at the sandbox IdP as a
// browser would (SignIn) or with the password grant (PasswordLogin), and
// checks modeled AWS errors (WantAPIError).
package ststest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/go-jose/go-jose/v4"
	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/iam"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/awsconf"
)

// DefaultIssuer is the test issuer URL the test world trusts. It is not
// the sandbox IdP's issuer, whose keys the IdP package registers.
const DefaultIssuer = "https://idp.test.example"

// ClientID is the audience the test world's OIDC provider and app accept.
const ClientID = "tipctl"

var (
	keyOnce  sync.Once
	keys     [2]*rsa.PrivateKey
	errOfKey error
)

// testKeys returns two RSA keys, generated once per test binary.
func testKeys() ([2]*rsa.PrivateKey, error) {
	keyOnce.Do(func() {
		for i := range keys {
			if keys[i], errOfKey = rsa.GenerateKey(rand.Reader, 2048); errOfKey != nil {
				return
			}
		}
	})
	return keys, errOfKey
}

// Issuer is a test OIDC issuer.
type Issuer struct {
	URL string
	KID string
	Key *rsa.PrivateKey
	// Other is a second key the issuer does not publish (for forgeries).
	Other *rsa.PrivateKey
}

// NewIssuer returns an issuer at url with a fixed key pair.
func NewIssuer(t testing.TB, url string) *Issuer {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatalf("generate RSA keys: %v", err)
	}
	return &Issuer{URL: url, KID: "test-key-1", Key: k[0], Other: k[1]}
}

// JWKS is the issuer's published key set.
func (i *Issuer) JWKS() *jose.JSONWebKeySet {
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &i.Key.PublicKey, KeyID: i.KID, Algorithm: "RS256", Use: "sig"}}}
}

// Register makes sb's token verifier trust the issuer's keys in-process.
func (i *Issuer) Register(sb *sandbox.Sandbox) {
	sb.Env.JWT.RegisterLocal(i.URL, i.JWKS)
}

// Claims returns the claims of a valid ID token for email, issued at now.
func (i *Issuer) Claims(email string, now time.Time) map[string]any {
	return map[string]any{
		"iss":       i.URL,
		"sub":       "sub-" + strings.ReplaceAll(email, "@", "-at-"),
		"aud":       ClientID,
		"email":     email,
		"iat":       now.Unix(),
		"auth_time": now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
		"jti":       fmt.Sprintf("jti-%d", time.Now().UnixNano()),
	}
}

// Token mints a valid ID token for email.
func (i *Issuer) Token(t testing.TB, email string, now time.Time) string {
	return i.Mint(t, i.Claims(email, now))
}

// Mint signs claims with the issuer's key (RS256).
func (i *Issuer) Mint(t testing.TB, claims map[string]any) string {
	t.Helper()
	return signRS256(t, i.Key, i.KID, claims)
}

// Forge signs claims with a key the issuer does not publish, under its kid.
func (i *Issuer) Forge(t testing.TB, claims map[string]any) string {
	t.Helper()
	return signRS256(t, i.Other, i.KID, claims)
}

func signRS256(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("claims: %v", err)
	}
	obj, err := signer.Sign(b)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return s
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AlgNone returns an unsigned token ("alg":"none").
func (i *Issuer) AlgNone(claims map[string]any) string {
	return b64(map[string]any{"alg": "none", "typ": "JWT", "kid": i.KID}) + "." + b64(claims) + "."
}

// HS256Confused returns a token MACed with HS256 using the issuer's RSA
// public key (PEM) as the secret: the classic key-confusion attack.
func (i *Issuer) HS256Confused(claims map[string]any) string {
	der, _ := x509.MarshalPKIXPublicKey(&i.Key.PublicKey)
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	input := b64(map[string]any{"alg": "HS256", "typ": "JWT", "kid": i.KID}) + "." + b64(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// WorldOptions adds test fixtures to the test world.
type WorldOptions struct {
	// Extra is applied to the decoded world document before it is encoded.
	Extra func(doc map[string]any)
}

// World returns the default world rewired to trust issuer instead of the
// sandbox IdP: the trusted token issuer, the IAM OIDC provider and the
// bridge role's trust policy (principal and aud condition key) point at
// it. It also adds fixtures: IdC user erin (in group analysts, which is not
// assigned to the app), two IdC users sharing twin@example.com, a DISABLED
// application and a role admin-target the admin user may assume.
func World(t testing.TB, issuer string, opts ...WorldOptions) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(world.DefaultYAML(), &doc); err != nil {
		t.Fatalf("default world: %v", err)
	}
	hp := iam.HostPath(issuer)
	counts := map[string]int{}
	// The bridge role's trust policy: federated principal and condition keys.
	doc = rewrite(doc, func(s string) string {
		if strings.Contains(s, "oidc-provider/${endpoint_host}/idp") {
			counts["principal"]++
			s = strings.ReplaceAll(s, "oidc-provider/${endpoint_host}/idp", "oidc-provider/"+hp)
		}
		if strings.HasPrefix(s, "${endpoint_host}/idp:") {
			counts["condition"]++
			s = hp + strings.TrimPrefix(s, "${endpoint_host}/idp")
		}
		return s
	}).(map[string]any)
	ic := doc["identity_center"].(map[string]any)
	for _, t := range ic["trusted_token_issuers"].([]any) {
		m := t.(map[string]any)
		m["issuer_url"] = issuer
		counts["tti"]++
	}
	iamDoc := doc["iam"].(map[string]any)
	for _, p := range iamDoc["oidc_providers"].([]any) {
		m := p.(map[string]any)
		if m["url"] == "${endpoint}/idp" {
			m["url"] = issuer
			counts["provider"]++
		}
	}
	for _, k := range []string{"principal", "condition", "tti", "provider"} {
		if counts[k] == 0 {
			t.Fatalf("test world: the default world no longer has the %s this test rewires; update ststest.World", k)
		}
	}
	// Fixtures.
	ic["users"] = append(ic["users"].([]any),
		map[string]any{"user_name": "erin", "display_name": "Erin Unassigned", "email": "erin@example.com"},
		map[string]any{"user_name": "twin1", "email": "twin@example.com"},
		map[string]any{"user_name": "twin2", "email": "twin@example.com"},
	)
	ic["groups"] = append(ic["groups"].([]any), map[string]any{"name": "unassigned-group", "members": []any{"erin"}})
	apps := ic["applications"].([]any)
	if len(apps) == 0 {
		t.Fatalf("test world: the default world has no application")
	}
	first := apps[0].(map[string]any)
	disabled := map[string]any{}
	for k, v := range first {
		disabled[k] = v
	}
	disabled["name"] = "disabled-app"
	disabled["status"] = "DISABLED"
	ic["applications"] = append(apps, disabled)
	iamDoc["roles"] = append(iamDoc["roles"].([]any), map[string]any{
		"name": "admin-target", "max_session_duration": 3600,
		"trust_policy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:user/admin"},
			"Action": []any{"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"},
		}}},
		"policies": []any{map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}}}},
	})
	for _, o := range opts {
		if o.Extra != nil {
			o.Extra(doc)
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatalf("encode test world: %v", err)
	}
	return out
}

// rewrite applies f to every string and map key of a decoded YAML tree.
func rewrite(v any, f func(string) string) any {
	switch t := v.(type) {
	case string:
		return f(t)
	case []any:
		for i := range t {
			t[i] = rewrite(t[i], f)
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[f(k)] = rewrite(e, f)
		}
		return out
	}
	return v
}

// Start starts a sandbox with worldYAML (the test world trusting the
// default test issuer when nil), registers the issuer's keys, and closes it
// when the test ends.
func Start(t testing.TB, worldYAML []byte) (*sandbox.Sandbox, *Issuer) {
	t.Helper()
	if worldYAML == nil {
		worldYAML = World(t, DefaultIssuer)
	}
	sb := Sandbox(t, worldYAML)
	iss := NewIssuer(t, DefaultIssuer)
	iss.Register(sb)
	return sb, iss
}

// Static returns a credentials provider for fixed keys.
func Static(akid, secret, token string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token, Source: "ststest"}, nil
	})
}

// CredsOf is a provider for credentials an STS reply returned.
func CredsOf(c *ststypes.Credentials) aws.CredentialsProvider {
	return Static(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
}

// STS is an STS client on sb with creds.
func STS(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *awssts.Client {
	return awssts.NewFromConfig(Config(sb, creds))
}

// OIDC is an SSO OIDC client on sb with creds.
func OIDC(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *ssooidc.Client {
	return ssooidc.NewFromConfig(Config(sb, creds))
}

// Config is an SDK config that talks to sb with creds (anonymous when nil).
// It makes at most two attempts, without delay: the second one only
// happens for the SDK's clock skew correction, which follows the sandbox
// clock (its Date header) once a test has advanced it with Env.Advance.
func Config(sb *sandbox.Sandbox, creds aws.CredentialsProvider) aws.Config {
	if creds == nil {
		creds = aws.AnonymousCredentials{}
	}
	return aws.Config{
		Region:       sb.Env.World.Region,
		Credentials:  creds,
		BaseEndpoint: aws.String(sb.URL()),
		HTTPClient:   awsconf.SafeBodies(nil),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 2
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

// Admin is the world's administrator keys (test/test).
func Admin() aws.CredentialsProvider { return Static("test", "test", "") }

// Role returns the ARN of role name in sb's account.
func Role(sb *sandbox.Sandbox, name string) string {
	sb.Env.RLock()
	defer sb.Env.RUnlock()
	r, ok := sb.Env.IAM.RoleByName(name)
	if !ok {
		return "arn:aws:iam::" + sb.Env.World.AccountID + ":role/" + name
	}
	return r.Arn
}

// AppArn returns the ARN of the Identity Center application name.
func AppArn(t testing.TB, sb *sandbox.Sandbox, name string) string {
	t.Helper()
	sb.Env.RLock()
	defer sb.Env.RUnlock()
	for _, a := range sb.Env.World.IdentityCenter.Applications {
		if a.Name == name {
			return a.Arn
		}
	}
	t.Fatalf("no application %s in the world", name)
	return ""
}

// DecodeJWT returns a compact JWS's claims without verifying it.
func DecodeJWT(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return out
}

// Raw sends a request to the sandbox, SigV4-signed with creds at signTime
// for service when creds is non-nil, and returns the status and body.
func Raw(t testing.TB, sb *sandbox.Sandbox, method, path, contentType, body string, creds *aws.Credentials, service string, signTime time.Time) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, sb.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if creds != nil {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", signTime); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}
