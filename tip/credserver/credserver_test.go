package credserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// fakeProvider mints numbered credentials valid for life, slowly enough
// that concurrent requests overlap.
type fakeProvider struct {
	calls atomic.Int32
	now   func() time.Time
	life  time.Duration
	fail  atomic.Bool
	delay time.Duration
}

func (p *fakeProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	n := p.calls.Add(1)
	time.Sleep(p.delay)
	if p.fail.Load() {
		return aws.Credentials{}, errors.New("the IdP session has expired")
	}
	return aws.Credentials{AccessKeyID: fmt.Sprintf("ASIAFAKE%04d", n), SecretAccessKey: "secret", SessionToken: "token",
		CanExpire: true, Expires: p.now().Add(p.life)}, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

func get(t *testing.T, s *Server, token string) (int, Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL(), nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Response
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r
}

func TestTokenRequired(t *testing.T) {
	p := &fakeProvider{now: time.Now, life: time.Hour}
	s := start(t, Options{Provider: p, RoleArn: "arn:aws:iam::123456789012:role/tip-enhanced"})
	if code, _ := get(t, s, ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := get(t, s, s.Token()+"x"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	if p.calls.Load() != 0 {
		t.Fatal("an unauthorized request reached the provider")
	}
	code, r := get(t, s, s.Token())
	if code != 200 || r.AccessKeyID != "ASIAFAKE0001" || r.Token != "token" || r.RoleArn == "" {
		t.Fatalf("with token: %d %+v", code, r)
	}
	if _, err := time.Parse(time.RFC3339, r.Expiration); err != nil {
		t.Fatalf("expiration %q: %v", r.Expiration, err)
	}
	// DNS rebinding: a request naming another host is refused.
	req, _ := http.NewRequest(http.MethodGet, s.URL(), nil)
	req.Host = "attacker.example"
	req.Header.Set("Authorization", s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Host: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	resp, _ = http.Post(s.URL(), "text/plain", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestLoopbackOnly(t *testing.T) {
	p := &fakeProvider{now: time.Now, life: time.Hour}
	for _, l := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0", "[::]:0", "nonsense"} {
		if _, err := New(Options{Provider: p, Listen: l}); err == nil {
			t.Errorf("listen %q accepted", l)
		}
	}
	s, err := New(Options{Provider: p, Listen: "localhost:0"})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Shutdown(context.Background())
	if host := s.URL(); host[:17] != "http://127.0.0.1:" {
		t.Fatalf("URL %s", host)
	}
}

func TestOneRefreshForConcurrentRequests(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := &fakeProvider{now: c.Now, life: time.Hour, delay: 50 * time.Millisecond}
	s := start(t, Options{Provider: p, Now: c.Now})
	var wg sync.WaitGroup
	keys := make([]string, 20)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, r := get(t, s, s.Token())
			if code != 200 {
				t.Errorf("request %d: %d", i, code)
			}
			keys[i] = r.AccessKeyID
		}()
	}
	wg.Wait()
	if n := p.calls.Load(); n != 1 {
		t.Fatalf("%d refreshes for 20 concurrent requests", n)
	}
	for _, k := range keys {
		if k != "ASIAFAKE0001" {
			t.Fatalf("keys %v", keys)
		}
	}
	// Cached until the refresh window, then refreshed ahead of expiry.
	c.Advance(44 * time.Minute)
	if _, r := get(t, s, s.Token()); r.AccessKeyID != "ASIAFAKE0001" {
		t.Fatalf("refreshed too early: %s", r.AccessKeyID)
	}
	c.Advance(2 * time.Minute) // 14 minutes left
	if _, r := get(t, s, s.Token()); r.AccessKeyID != "ASIAFAKE0002" {
		t.Fatalf("not refreshed inside the window: %s", r.AccessKeyID)
	}
}

func TestFailedRefreshServesStillValidCredentials(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := &fakeProvider{now: c.Now, life: time.Hour}
	s := start(t, Options{Provider: p, Now: c.Now})
	get(t, s, s.Token())
	p.fail.Store(true)
	c.Advance(47 * time.Minute) // 13 minutes left: refresh, fail, serve old
	if code, r := get(t, s, s.Token()); code != 200 || r.AccessKeyID != "ASIAFAKE0001" {
		t.Fatalf("after failed refresh: %d %s", code, r.AccessKeyID)
	}
	calls := p.calls.Load()
	get(t, s, s.Token()) // within the back-off: no new attempt
	if p.calls.Load() != calls {
		t.Fatal("retried a failed refresh at once")
	}
	c.Advance(5 * time.Minute) // 8 minutes left: too little to serve
	code, _ := get(t, s, s.Token())
	if code != http.StatusServiceUnavailable {
		t.Fatalf("expired credentials served: %d", code)
	}
}

// aws-sdk-go-v2's default chain, configured by the two variables only,
// gets the served credentials.
func TestSDKDefaultChain(t *testing.T) {
	p := &fakeProvider{now: time.Now, life: time.Hour}
	s := start(t, Options{Provider: p})
	dir := t.TempDir()
	for _, kv := range [][2]string{
		{"AWS_CONFIG_FILE", filepath.Join(dir, "none")}, {"AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none")},
		{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", ""}, {"AWS_SESSION_TOKEN", ""}, {"AWS_PROFILE", ""},
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI", s.URL()}, {"AWS_CONTAINER_AUTHORIZATION_TOKEN", s.Token()},
	} {
		t.Setenv(kv[0], kv[1])
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIAFAKE0001" || !creds.CanExpire {
		t.Fatalf("SDK got %+v", creds)
	}
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong")
	cfg, _ = config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil {
		t.Fatal("the SDK got credentials with a wrong token")
	}
}

func TestShutdown(t *testing.T) {
	s, err := New(Options{Provider: &fakeProvider{now: time.Now, life: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Fatal("still serving after Shutdown")
	}
}
