package s3ag_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/s3ag"
	"github.com/tipctl/tipctl/tip/session"
)

var ctx = context.Background()

func get(t *testing.T, m *session.Manager, req s3ag.Request) *s3ag.Credentials {
	t.Helper()
	c, err := s3ag.GetDataAccess(ctx, m, req)
	if err != nil {
		t.Fatalf("GetDataAccess(%+v): %v", req, err)
	}
	return c
}

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("%s: want %s, got %v", what, code, err)
	}
}

func TestVendedCredentialsReachOnlyTheGrant(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")

	read := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/", Permission: "read"})
	if read.MatchedGrantTarget != "s3://analytics-data/emea/*" || read.Permission != s3ag.Read || read.Cached ||
		read.Grantee.Type != "DIRECTORY_GROUP" || read.AccountID != "123456789012" || !strings.HasPrefix(read.AccessKeyID, "ASIA") {
		t.Fatalf("READ emea/: %+v", read)
	}
	if left := time.Until(read.Expiration); left < 50*time.Minute || left > 61*time.Minute {
		t.Fatalf("expiration in %s, want about an hour", left)
	}
	c := s3With(sb, read)
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("emea/")})
	if err != nil || len(list.Contents) < 2 {
		t.Fatalf("list emea/: %v %v", list, err)
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/sales-2025-q4.csv")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if !strings.HasPrefix(string(body), "region,country") {
		t.Fatalf("emea object: %q", body)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("apac/sales-2025-q4.csv")})
	wantCode(t, err, "AccessDenied", "READ emea/ credentials on apac/")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/x.csv"), Body: strings.NewReader("x")})
	wantCode(t, err, "AccessDenied", "READ credentials writing emea/")

	rw := get(t, alice, s3ag.Request{Target: "s3://analytics-data/users/alice/", Permission: s3ag.ReadWrite})
	if rw.MatchedGrantTarget != "s3://analytics-data/users/alice/*" || rw.Grantee.Type != "DIRECTORY_USER" {
		t.Fatalf("READWRITE users/alice/: %+v", rw)
	}
	w := s3With(sb, rw)
	if _, err := w.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("users/alice/x.csv"), Body: strings.NewReader("a,b\n1,2\n")}); err != nil {
		t.Fatal(err)
	}
	_, err = w.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/x.csv"), Body: strings.NewReader("x")})
	wantCode(t, err, "AccessDenied", "users/alice/ credentials writing emea/")

	carol := loggedIn(t, sb, "carol@example.com", "carol-sandbox-pw")
	all := get(t, carol, s3ag.Request{Target: "s3://analytics-data/apac/"})
	if all.MatchedGrantTarget != "s3://analytics-data/*" {
		t.Fatalf("carol: %+v", all)
	}
	for _, key := range []string{"emea/sales-2025-q4.csv", "apac/sales-2025-q4.csv", "users/alice/x.csv"} {
		o, err := s3With(sb, all).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("carol reading %s: %v", key, err)
		}
		o.Body.Close()
	}
}

func TestCache(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")
	calls := func() int64 { return sb.Env.Stats.Get("s3:GetDataAccess") }

	first := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/"})
	if calls() != 1 {
		t.Fatalf("%d calls", calls())
	}
	exchanges := sb.Env.Stats.Get("sts:AssumeRole")
	for _, target := range []string{"s3://analytics-data/emea/", "s3://analytics-data/emea/*", "s3://analytics-data/emea/2024/", "s3://analytics-data/emea/customers.csv"} {
		c := get(t, alice, s3ag.Request{Target: target, Permission: s3ag.Read})
		if !c.Cached || c.AccessKeyID != first.AccessKeyID || c.MatchedGrantTarget != "s3://analytics-data/emea/*" {
			t.Fatalf("%s not served from the cache: %+v", target, c)
		}
	}
	if calls() != 1 || sb.Env.Stats.Get("sts:AssumeRole") != exchanges {
		t.Fatalf("cached lookups called AWS: %d GetDataAccess", calls())
	}

	// Not covered: outside the scope, a stronger permission, another
	// privilege or target type, another account.
	for _, req := range []s3ag.Request{
		{Target: "s3://analytics-data/emea"}, // not under emea/ (and no grant covers it)
		{Target: "s3://analytics-data/emea/", Permission: s3ag.ReadWrite},
		{Target: "s3://analytics-data/emea/x/", Privilege: "Minimal"},
		{Target: "s3://analytics-data/emea/customers.csv", TargetType: "Object"},
		{Target: "s3://analytics-data/emea/", AccountID: "210987654321"},
	} {
		before := calls()
		c, err := s3ag.GetDataAccess(ctx, alice, req)
		if calls() != before+1 {
			t.Fatalf("%+v was served from the cache (%+v, %v)", req, c, err)
		}
	}

	// --force-new mints again and replaces the entry.
	forced := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/", ForceNew: true})
	if forced.Cached || forced.AccessKeyID == first.AccessKeyID {
		t.Fatal("ForceNew returned the cached credentials")
	}
	again := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/2025/"})
	if again.AccessKeyID != forced.AccessKeyID {
		t.Fatal("the forced credentials did not replace the cached ones")
	}

	// READWRITE serves READ and WRITE; READ does not serve WRITE.
	rw := get(t, alice, s3ag.Request{Target: "s3://analytics-data/users/alice/", Permission: s3ag.ReadWrite})
	before := calls()
	for _, p := range []string{s3ag.Read, s3ag.Write, s3ag.ReadWrite} {
		c := get(t, alice, s3ag.Request{Target: "s3://analytics-data/users/alice/reports/", Permission: p})
		if !c.Cached || c.AccessKeyID != rw.AccessKeyID {
			t.Fatalf("%s under users/alice/ not served by the READWRITE entry", p)
		}
	}
	if calls() != before {
		t.Fatal("READWRITE entry did not serve READ/WRITE")
	}
	// And what it serves works: a READ request got credentials that write too.
	c := get(t, alice, s3ag.Request{Target: "s3://analytics-data/users/alice/", Permission: s3ag.Write})
	if _, err := s3With(sb, c).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("users/alice/w.csv"), Body: strings.NewReader("w")}); err != nil {
		t.Fatal(err)
	}

	// Minimal privilege: scoped to the requested prefix; sub-prefixes reuse.
	min1 := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/2024/", Privilege: "minimal"})
	if min1.Scope != "s3://analytics-data/emea/2024/" {
		t.Fatalf("Minimal scope %q", min1.Scope)
	}
	before = calls()
	if c := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/2024/q1/", Privilege: "Minimal"}); !c.Cached {
		t.Fatal("Minimal sub-prefix not reused")
	}
	if c := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/2025/", Privilege: "Minimal"}); c.Cached || calls() != before+1 {
		t.Fatal("a Minimal sibling prefix was served by another prefix's credentials")
	}

	// Stale entries (less than 15 minutes left) are not served.
	alice.Now = func() time.Time { return time.Now().Add(50 * time.Minute) }
	before = calls()
	if c := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/"}); c.Cached || calls() == before {
		t.Fatal("credentials with 10 minutes left were served from the cache")
	}
	alice.Now = nil

	// List shows no secrets; Clear empties.
	entries, err := s3ag.List(alice)
	if err != nil || len(entries) < 4 {
		t.Fatalf("List: %v %v", entries, err)
	}
	for _, e := range entries {
		if e.Scope == "" || e.Permission == "" || e.AccountID == "" || e.Expiration.IsZero() || e.State == "" {
			t.Fatalf("incomplete entry %+v", e)
		}
	}
	n, err := s3ag.Clear(ctx, alice)
	if err != nil || n != len(entries) {
		t.Fatalf("Clear: %d %v (listed %d)", n, err, len(entries))
	}
	if entries, _ := s3ag.List(alice); len(entries) != 0 {
		t.Fatalf("after Clear: %v", entries)
	}
	before = calls()
	if c := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/"}); c.Cached || calls() != before+1 {
		t.Fatal("served from a cleared cache")
	}

	// Logout wipes the cache with the session.
	if _, err := alice.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, _ := alice.Vault.Keys(s3ag.Prefix("default")); len(keys) != 0 {
		t.Fatalf("logout left %v", keys)
	}
}

func TestNewLoginDoesNotReuse(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	dir := t.TempDir()
	m := newManager(t, sandboxProfile(t, sb.URL(), "default"), dir)
	login(t, m, "carol@example.com", "carol-sandbox-pw")
	get(t, m, s3ag.Request{Target: "s3://analytics-data/apac/"})

	// alice logs in on the same profile without logging out first.
	login(t, m, "alice@example.com", "alice-sandbox-pw")
	_, err := s3ag.GetDataAccess(ctx, m, s3ag.Request{Target: "s3://analytics-data/apac/"})
	var denied *s3ag.AccessDeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("alice got carol's cached credentials or another error: %v", err)
	}
	entries, _ := s3ag.List(m)
	if len(entries) != 1 || entries[0].State != s3ag.StateOtherLogin {
		t.Fatalf("carol's entry: %+v", entries)
	}
	// A save by the new login prunes the old login's entries.
	get(t, m, s3ag.Request{Target: "s3://analytics-data/emea/"})
	entries, _ = s3ag.List(m)
	if len(entries) != 1 || entries[0].State != s3ag.StateValid || entries[0].Scope != "s3://analytics-data/emea/*" {
		t.Fatalf("after alice's first mint: %+v", entries)
	}
}

func TestAccessDeniedIsExplained(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")

	_, err := s3ag.GetDataAccess(ctx, alice, s3ag.Request{Target: "s3://analytics-data/emea/", Permission: s3ag.Write})
	var d *s3ag.AccessDeniedError
	if !errors.As(err, &d) || d.Reason != s3ag.DeniedPermission || !strings.Contains(d.Hint(), "--permission READ") ||
		!strings.Contains(err.Error(), "give READ, not WRITE") || d.User != "alice@example.com" {
		t.Fatalf("WRITE on emea/: %v", err)
	}
	wantCode(t, err, "AccessDenied", "unwrapped")

	_, err = s3ag.GetDataAccess(ctx, alice, s3ag.Request{Target: "s3://analytics-data/apac/2024/"})
	if !errors.As(err, &d) || d.Reason != s3ag.DeniedNoGrant || !strings.Contains(err.Error(), "READ s3://analytics-data/emea/*") ||
		!strings.Contains(err.Error(), "READWRITE s3://analytics-data/users/alice/*") || !strings.Contains(d.Hint(), "ask your S3 Access Grants administrator") {
		t.Fatalf("READ on apac/: %v", err)
	}
	_, err = s3ag.GetDataAccess(ctx, alice, s3ag.Request{Target: "s3://other-bucket/x/"})
	if !errors.As(err, &d) || d.Reason != s3ag.DeniedNoGrant {
		t.Fatalf("other bucket: %v", err)
	}
	if keys, _ := alice.Vault.Keys(s3ag.Prefix("default")); len(keys) != 0 {
		t.Fatalf("a denied request left cache entries %v", keys)
	}
}

func TestBadRequests(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")
	for _, tc := range []struct {
		req  s3ag.Request
		want error
		msg  string
	}{
		{s3ag.Request{Target: "analytics-data/emea/"}, s3ag.ErrInvalidURI, "must start with s3://"},
		{s3ag.Request{Target: "s3://Analytics/emea/"}, s3ag.ErrInvalidURI, "not a bucket name"},
		{s3ag.Request{Target: "s3://analytics-data/e*a/"}, s3ag.ErrInvalidURI, "wildcard"},
		{s3ag.Request{Target: "s3://analytics-data/emea/", Permission: "ADMIN"}, s3ag.ErrInvalidRequest, "permission"},
		{s3ag.Request{Target: "s3://analytics-data/emea/", Privilege: "Max"}, s3ag.ErrInvalidRequest, "privilege"},
		{s3ag.Request{Target: "s3://analytics-data/emea/", TargetType: "Object"}, s3ag.ErrInvalidRequest, "one object"},
		{s3ag.Request{Target: "s3://analytics-data/emea/", TargetType: "Prefix"}, s3ag.ErrInvalidRequest, "target-type"},
		{s3ag.Request{Target: "s3://analytics-data/emea/", DurationSeconds: 60}, s3ag.ErrInvalidRequest, "900-43200"},
		{s3ag.Request{Target: "s3://analytics-data/emea/", AccountID: "12345"}, s3ag.ErrInvalidRequest, "12-digit"},
	} {
		_, err := s3ag.GetDataAccess(ctx, alice, tc.req)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: %v", tc.req, err)
		}
	}
	if n := sb.Env.Stats.Get("s3:GetDataAccess"); n != 0 {
		t.Fatalf("bad requests reached AWS %d times", n)
	}

	// The sandbox's own validation comes back as an APIError.
	_, err := s3ag.GetDataAccess(ctx, alice, s3ag.Request{Target: "s3://analytics-data/emea/", AccountID: "210987654321"})
	var ae *s3ag.APIError
	if !errors.As(err, &ae) || ae.Code != "AccessGrantsInstanceNotExistsError" || ae.Status != 404 || !strings.Contains(ae.Hint, "--account-id") {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestNotLoggedIn(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	m := newManager(t, sandboxProfile(t, sb.URL(), "default"), t.TempDir())
	_, err := s3ag.GetDataAccess(ctx, m, s3ag.Request{Target: "s3://analytics-data/emea/"})
	if !errors.Is(err, session.ErrLoginRequired) {
		t.Fatalf("want login required, got %v", err)
	}
}

// A revoked identity-enhanced session is
// renewed and the call retried once.
func TestRevokedSessionIsRenewedAndRetried(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")
	get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/"})
	base, _ := alice.CachedCredentials()
	assumes := sb.Env.Stats.Get("sts:AssumeRole")

	sb.Env.Registry.RevokeIssuedBefore(sb.Env.Now()) // every session is revoked
	c := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/", ForceNew: true})
	if got := sb.Env.Stats.Get("s3:GetDataAccess"); got != 3 {
		t.Fatalf("GetDataAccess calls: %d, want 1 + a refused one + its retry", got)
	}
	if sb.Env.Stats.Get("sts:AssumeRole") != assumes+1 {
		t.Fatal("the session was not renewed once")
	}
	if nb, _ := alice.CachedCredentials(); nb.AccessKeyID == base.AccessKeyID {
		t.Fatal("the stale session is still cached")
	}
	o, err := s3With(sb, c).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/customers.csv")})
	if err != nil {
		t.Fatal(err)
	}
	o.Body.Close()
}

// An identity-enhanced session that expired early in AWS (tipctl's cache
// still thinks it fresh) is renewed and the call retried once.
func TestExpiredSessionIsRenewedAndRetried(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")
	get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/"})
	base, _ := alice.CachedCredentials()
	p, ok := sb.Env.Registry.Resolve(base.AccessKeyID, base.SessionToken)
	if !ok {
		t.Fatal("the session is unknown to the sandbox")
	}
	expired := *p
	expired.Expiration = sb.Env.Now().Add(-time.Second)
	sb.Env.Registry.Add(&expired)

	c := get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/", ForceNew: true})
	if n := sb.Env.Stats.Get("s3:GetDataAccess"); n != 3 {
		t.Fatalf("GetDataAccess calls: %d, want 1 + an expired one + its retry", n)
	}
	if nb, _ := alice.CachedCredentials(); nb.AccessKeyID == base.AccessKeyID {
		t.Fatal("the expired session is still cached")
	}
	if !c.Expiration.After(sb.Env.Now().Add(50 * time.Minute)) {
		t.Fatalf("vended credentials expire at %s", c.Expiration)
	}
}

// The sandbox clock jumps past the session's expiry (a laptop waking up):
// tipctl's clock still believes the session has most of an hour left, AWS
// says the token expired (after the SDK corrected its signing time from
// the server's Date header), and the session is renewed.
func TestClockPastSessionExpiry(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")
	get(t, alice, s3ag.Request{Target: "s3://analytics-data/emea/"})
	base, _ := alice.CachedCredentials()
	logins := sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity") // unsigned: never skew-retried
	sb.Env.Advance(time.Until(base.Expiration) + time.Minute)

	c, err := s3ag.GetDataAccess(ctx, alice, s3ag.Request{Target: "s3://analytics-data/emea/", ForceNew: true})
	if err != nil {
		t.Fatal(err)
	}
	if sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity") != logins+1 {
		t.Fatalf("the session was not renewed once: %v", sb.Env.Stats.Snapshot())
	}
	if !c.Expiration.After(sb.Env.Now()) {
		t.Fatal("vended credentials already expired")
	}
}

// Many concurrent requests under one grant cause one GetDataAccess.
func TestConcurrentRequestsMintOnce(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")
	if _, err := alice.Credentials(ctx, false); err != nil { // the session itself is tip/session's business
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	keys := make([]string, 8)
	errs := make([]error, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := []string{"s3://analytics-data/emea/", "s3://analytics-data/emea/a/", "s3://analytics-data/emea/b/c"}[i%3]
			c, err := s3ag.GetDataAccess(ctx, alice, s3ag.Request{Target: target})
			errs[i] = err
			if c != nil {
				keys[i] = c.AccessKeyID
			}
		}()
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || keys[i] != keys[0] {
			t.Fatalf("request %d: %v (%s vs %s)", i, errs[i], keys[i], keys[0])
		}
	}
	if n := sb.Env.Stats.Get("s3:GetDataAccess"); n != 1 {
		t.Fatalf("%d GetDataAccess calls for 8 concurrent requests", n)
	}
}

func TestProvider(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	alice := loggedIn(t, sb, "alice@example.com", "alice-sandbox-pw")
	p := s3ag.NewProvider(alice, s3ag.Request{Target: "s3://analytics-data/emea/"})
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), UsePathStyle: true,
		Credentials: aws.NewCredentialsCache(p)})
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("emea/")})
	if err != nil || len(out.Contents) == 0 {
		t.Fatalf("%v %v", out, err)
	}
	bad := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: aws.NewCredentialsCache(s3ag.NewProvider(alice, s3ag.Request{Target: "s3://analytics-data/apac/"}))})
	_, err = bad.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("apac/")})
	var d *s3ag.AccessDeniedError
	if !errors.As(err, &d) {
		t.Fatalf("provider error: %v", err)
	}
}
