package broker_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/internal/redistest"
	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/broker"
	"github.com/tipctl/tipctl/tip/exchange"
)

// fixture is a sandbox with what a web application of it needs: the
// exchange settings and a verifier of the sandbox IdP's id_tokens.
type fixture struct {
	sb       *sandbox.Sandbox
	verifier *oidc.IDTokenVerifier
	xcfg     exchange.Config
}

func newFixture(t testing.TB, worldYAML []byte) *fixture {
	t.Helper()
	sb := ststest.Sandbox(t, worldYAML)
	info := sb.Info()
	roles := info["roles"].(map[string]any)
	p, err := oidc.NewProvider(context.Background(), sb.URL()+"/idp")
	if err != nil {
		t.Fatalf("discover the sandbox IdP: %v", err)
	}
	return &fixture{sb: sb, verifier: p.Verifier(&oidc.Config{ClientID: "tipctl"}), xcfg: exchange.Config{
		AWS:             aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL())},
		ApplicationArn:  info["identity_center"].(map[string]any)["application_arn"].(string),
		BridgeRoleArn:   roles["bridge"].(string),
		EnhancedRoleArn: roles["enhanced"].(string),
	}}
}

// worldWith returns the default world plus n people (user0000@example.com
// …) known to the IdP and Identity Center, in group emea-sales.
func worldWith(t testing.TB, n int) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(world.DefaultYAML(), &doc); err != nil {
		t.Fatal(err)
	}
	idp := doc["idp"].(map[string]any)
	ic := doc["identity_center"].(map[string]any)
	var members []any
	for _, g := range ic["groups"].([]any) {
		if g.(map[string]any)["name"] == "emea-sales" {
			members = g.(map[string]any)["members"].([]any)
		}
	}
	for i := range n {
		name := fmt.Sprintf("user%04d", i)
		email := name + "@example.com"
		idp["users"] = append(idp["users"].([]any), map[string]any{"email": email, "password": name + "-pw", "name": name, "groups": []any{"emea-sales"}})
		ic["users"] = append(ic["users"].([]any), map[string]any{"user_name": name, "display_name": name, "email": email,
			"external_ids": []any{map[string]any{"issuer": "${endpoint}/idp", "id": email}}})
		members = append(members, name)
	}
	for _, g := range ic["groups"].([]any) {
		if g.(map[string]any)["name"] == "emea-sales" {
			g.(map[string]any)["members"] = members
		}
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// person is a signed-in user of the application: their id_token and a
// refresh function that rotates the refresh token, as a web session would.
type person struct {
	email, userName string
	mu              sync.Mutex
	idToken, rt     string
	endpoint        string
	refreshes       int
}

func (f *fixture) login(t testing.TB, email, password string) *person {
	t.Helper()
	tok := ststest.PasswordLogin(t, f.sb.URL(), email, password, "openid email profile offline_access")
	if tok.RefreshToken == "" {
		t.Fatalf("no refresh token for %s", email)
	}
	name, _, _ := strings.Cut(email, "@")
	return &person{email: email, userName: name, idToken: tok.IDToken, rt: tok.RefreshToken, endpoint: f.sb.URL()}
}

func (p *person) user() broker.User {
	p.mu.Lock()
	defer p.mu.Unlock()
	return broker.User{IDToken: p.idToken, Refresh: p.refresh}
}

func (p *person) refresh(ctx context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint+"/idp/token", strings.NewReader(url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"tipctl"}, "refresh_token": {p.rt}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.IDToken == "" {
		return "", fmt.Errorf("refresh for %s: HTTP %d %v", p.email, resp.StatusCode, err)
	}
	p.idToken, p.refreshes = out.IDToken, p.refreshes+1
	if out.RefreshToken != "" {
		p.rt = out.RefreshToken
	}
	return out.IDToken, nil
}

// control calls a /_sandbox endpoint the way a test client does: with the
// header the sandbox requires on state-changing requests.
func (f *fixture) control(t testing.TB, method, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, f.sb.URL()+path, strings.NewReader(body))
	req.Header.Set("X-Tipctl-Sandbox", "1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("%s %s: HTTP %d %s", method, path, resp.StatusCode, b)
	}
	return out
}

// exchanges is the number of CreateTokenWithIAM calls in /_sandbox/stats.
func (f *fixture) exchanges(t testing.TB) int {
	t.Helper()
	ops := f.control(t, http.MethodGet, "/_sandbox/stats", "")["operations"].(map[string]any)
	n, _ := ops["sso-oauth:CreateTokenWithIAM"].(float64)
	return int(n)
}

func (f *fixture) resetStats(t testing.TB) { f.control(t, http.MethodDelete, "/_sandbox/stats", "") }

func (f *fixture) delay(t testing.TB, service, d string) {
	f.control(t, http.MethodPost, "/_sandbox/faults", fmt.Sprintf(`{"service":%q,"delay":%q}`, service, d))
}

// whoami checks credentials the way a service would: GetCallerIdentity
// for the role session, and the sandbox's record of the Identity Center
// user the session carries.
func (f *fixture) whoami(t testing.TB, c aws.Credentials) (arn, idcUser string) {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(f.sb.URL()), Credentials: aws.CredentialsProviderFunc(
		func(context.Context) (aws.Credentials, error) { return c, nil })}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Errorf("GetCallerIdentity: %v", err)
		return "", ""
	}
	p, ok := f.sb.Env.Registry.Resolve(c.AccessKeyID, c.SessionToken)
	if !ok || p.Context == nil {
		t.Errorf("session %s is not identity-enhanced", c.AccessKeyID)
		return aws.ToString(out.Arn), ""
	}
	return aws.ToString(out.Arn), p.Context.UserName
}

func newKey(t testing.TB) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// replica is one application process's broker on the shared Redis: its own
// go-redis client and its own in-process state.
type replica struct {
	b      *broker.Broker
	client *redis.Client
	cache  *broker.Redis
}

func (f *fixture) replica(t testing.TB, srv *redistest.Server, key []byte, mod func(*broker.Config)) *replica {
	t.Helper()
	client, err := broker.NewRedisClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	cache, err := broker.NewRedis(broker.RedisOptions{Client: client, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	cfg := broker.Config{Exchange: f.xcfg, Verifier: f.verifier, Cache: cache, Lease: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &replica{b: b, client: client, cache: cache}
}

func metric(b *broker.Broker, name string) int64 {
	v := b.Metrics().Map.Get(name)
	if v == nil {
		return -1
	}
	var n int64
	_, _ = fmt.Sscan(v.String(), &n)
	return n
}
