package broker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/internal/redistest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/broker"
	"github.com/tipctl/tipctl/tip/quicksight"
)

// clock is a settable clock for the refresh windows.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) set(to time.Time) {
	c.mu.Lock()
	c.off = time.Until(to)
	c.mu.Unlock()
}

// An application uses the broker as an aws.CredentialsProvider of
// aws-sdk-go-v2: in memory, concurrent callers cause one exchange.
func TestProviderInMemory(t *testing.T) {
	f := newFixture(t, nil)
	b, err := broker.New(broker.Config{Exchange: f.xcfg, Verifier: f.verifier})
	if err != nil {
		t.Fatal(err)
	}
	carol := f.login(t, "carol@example.com", "carol-sandbox-pw")
	f.resetStats(t)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(f.sb.URL()), Credentials: b.Provider(carol.user())}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			if err != nil || !strings.Contains(aws.ToString(out.Arn), "assumed-role/tip-enhanced/tip-") {
				t.Errorf("GetCallerIdentity: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := f.exchanges(t); n != 1 {
		t.Fatalf("CreateTokenWithIAM = %d, want 1", n)
	}
}

// Credentials are refreshed inside botocore's advisory window (15 min
// before expiry) with a fresh id_token, the old ones are kept when that
// fails before the mandatory window (10 min), and not after.
func TestRefreshWindows(t *testing.T) {
	f := newFixture(t, nil)
	clk := &clock{}
	failRefresh := false
	b, err := broker.New(broker.Config{Exchange: f.xcfg, Verifier: f.verifier, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	alice := f.login(t, "alice@example.com", "alice-sandbox-pw")
	u := alice.user()
	refresh := u.Refresh
	u.Refresh = func(ctx context.Context) (string, error) {
		if failRefresh {
			return "", errors.New("the IdP is down")
		}
		return refresh(ctx)
	}
	ctx := context.Background()
	first, err := b.Credentials(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	exp := first.Credentials.Expires

	clk.set(exp.Add(-16 * time.Minute))
	if s, _ := b.Credentials(ctx, u); s == nil || !s.Cached || s.Credentials.AccessKeyID != first.Credentials.AccessKeyID {
		t.Fatal("credentials outside the advisory window were not served from the cache")
	}
	failRefresh = true
	clk.set(exp.Add(-12 * time.Minute))
	s, err := b.Credentials(ctx, u)
	if err != nil || s.Credentials.AccessKeyID != first.Credentials.AccessKeyID {
		t.Fatalf("inside the advisory window with a failing refresh: %v, want the old credentials", err)
	}
	clk.set(exp.Add(-9 * time.Minute))
	if _, err := b.Credentials(ctx, u); err == nil {
		t.Fatal("inside the mandatory window, a failed refresh still served the old credentials")
	}
	failRefresh = false
	s, err = b.Credentials(ctx, u)
	if err != nil || s.Cached || s.Credentials.AccessKeyID == first.Credentials.AccessKeyID {
		t.Fatalf("refresh in the mandatory window: %v", err)
	}
	if alice.refreshes == 0 {
		t.Fatal("the second exchange did not ask for a fresh id_token")
	}
	if n := f.exchanges(t); n != 2 {
		t.Fatalf("CreateTokenWithIAM = %d, want 2 (no refused reuse of the first assertion)", n)
	}
}

// Tokens the IdP did not sign get nothing, not even a cache hit.
func TestUnverifiedTokensRefused(t *testing.T) {
	f := newFixture(t, nil)
	b, err := broker.New(broker.Config{Exchange: f.xcfg, Verifier: f.verifier})
	if err != nil {
		t.Fatal(err)
	}
	alice := f.login(t, "alice@example.com", "alice-sandbox-pw")
	if _, err := b.Credentials(context.Background(), alice.user()); err != nil {
		t.Fatal(err)
	}
	iss := ststest.NewIssuer(t, f.sb.URL()+"/idp")
	claims := iss.Claims("alice@example.com", time.Now())
	for name, tok := range map[string]string{"forged": iss.Forge(t, claims), "alg none": iss.AlgNone(claims)} {
		if _, err := b.Credentials(context.Background(), broker.User{IDToken: tok}); err == nil {
			t.Fatalf("a %s token got credentials", name)
		}
	}
}

// Logout on one replica: no replica serves the person's cached
// credentials any more.
func TestLogoutEverywhere(t *testing.T) {
	srv := redistest.Start(t)
	f := newFixture(t, nil)
	key := newKey(t)
	a, b := f.replica(t, srv, key, nil), f.replica(t, srv, key, nil)
	bob := f.login(t, "bob@example.com", "bob-sandbox-pw")
	ctx := context.Background()
	s1, err := a.b.Credentials(ctx, bob.user())
	if err != nil {
		t.Fatal(err)
	}
	if s, err := b.b.Credentials(ctx, bob.user()); err != nil || !s.Cached {
		t.Fatalf("replica b did not share: %v", err)
	}
	if err := a.b.Logout(ctx, bob.user().IDToken); err != nil {
		t.Fatal(err)
	}
	if n := len(a.client.Keys(ctx, "tipctl:broker:creds:*").Val()) + len(a.client.Keys(ctx, "tipctl:broker:principal:*").Val()); n != 0 {
		t.Fatalf("%d entries left in Redis after logout", n)
	}
	// The application signs bob in again.
	bob = f.login(t, "bob@example.com", "bob-sandbox-pw")
	s2, err := b.b.Credentials(ctx, bob.user())
	if err != nil {
		t.Fatal(err)
	}
	if s2.Cached || s2.Credentials.AccessKeyID == s1.Credentials.AccessKeyID {
		t.Fatal("replica b served the credentials of before the logout")
	}
}

// A replica whose lease ran out cannot overwrite the entry of the one that
// took over (Redis fencing).
func TestRedisFencedWrites(t *testing.T) {
	srv := redistest.Start(t)
	client, err := broker.NewRedisClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := broker.NewRedis(broker.RedisOptions{Client: client, Key: newKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := c.TryLock(ctx, "lock:x", 50*time.Millisecond)
	if err != nil || a == nil {
		t.Fatalf("lock: %v", err)
	}
	var b *broker.Lock
	deadline := time.Now().Add(10 * time.Second)
	for b == nil && time.Now().Before(deadline) {
		if b, err = c.TryLock(ctx, "lock:x", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if b == nil || b.Fence <= a.Fence {
		t.Fatalf("no takeover after the lease: %+v", b)
	}
	item := broker.Item{Key: "creds:x", Entry: &broker.Entry{UserID: "x", AccessKeyID: "A"}, TTL: time.Minute}
	if err := c.Put(ctx, a, item); !errors.Is(err, broker.ErrLockLost) {
		t.Fatalf("stale write: %v, want ErrLockLost", err)
	}
	item.Entry.AccessKeyID = "B"
	if err := c.Put(ctx, b, item); err != nil {
		t.Fatal(err)
	}
	_ = c.Unlock(ctx, a)
	if e, err := c.Get(ctx, "creds:x"); err != nil || e.AccessKeyID != "B" {
		t.Fatalf("entry %+v %v", e, err)
	}
	if ttl := client.PTTL(ctx, "tipctl:broker:creds:x").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("TTL %v, want the entry's life", ttl)
	}
	if l, _ := c.TryLock(ctx, "lock:x", time.Second); l != nil {
		t.Fatal("a stale unlock released the new holder's lease")
	}
}

// The QuickSight identity-context path: one GetIdentityContext for many
// requests, credentials of the snapshot role carrying the user.
func TestQuickSightPath(t *testing.T) {
	f := newFixture(t, nil)
	info := f.sb.Info()
	admin := info["admin"].(map[string]any)
	adminCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(f.sb.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(admin["access_key_id"].(string), admin["secret_access_key"].(string), "")}
	b, err := broker.New(broker.Config{Exchange: f.xcfg, Verifier: f.verifier, QuickSight: &broker.QuickSightConfig{
		Admin: adminCfg, RoleArn: "arn:aws:iam::123456789012:role/quicksight-snapshots"}})
	if err != nil {
		t.Fatal(err)
	}
	f.resetStats(t)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := b.QuickSight(context.Background(), quicksight.User{Email: "alice@example.com"})
			if err != nil {
				t.Error(err)
				return
			}
			if !strings.Contains(s.AssumedRoleArn, ":assumed-role/quicksight-snapshots/") {
				t.Errorf("session %s", s.AssumedRoleArn)
			}
		}()
	}
	wg.Wait()
	if n := f.sb.Env.Stats.Get("quicksight:GetIdentityContext"); n != 1 {
		t.Fatalf("GetIdentityContext = %d, want 1", n)
	}
}
