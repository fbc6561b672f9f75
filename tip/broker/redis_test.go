package broker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tipctl/tipctl/internal/redistest"
	"github.com/tipctl/tipctl/tip/broker"
)

// Two replicas, 50 concurrent requests each, for one person who has no
// credentials yet: one exchange in all.
func TestTwoReplicasOneExchange(t *testing.T) {
	srv := redistest.Start(t)
	f := newFixture(t, nil)
	key := newKey(t)
	reps := []*replica{f.replica(t, srv, key, nil), f.replica(t, srv, key, nil)}
	alice := f.login(t, "alice@example.com", "alice-sandbox-pw")
	f.resetStats(t)

	var wg sync.WaitGroup
	keys := make(chan string, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := reps[i%2].b.Credentials(context.Background(), alice.user())
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			keys <- s.Credentials.AccessKeyID
		}()
	}
	wg.Wait()
	close(keys)
	distinct := map[string]bool{}
	for k := range keys {
		distinct[k] = true
	}
	if n := f.exchanges(t); n != 1 {
		t.Fatalf("CreateTokenWithIAM calls = %d, want 1", n)
	}
	if len(distinct) != 1 {
		t.Fatalf("%d different sessions handed out, want 1", len(distinct))
	}
	for k := range distinct {
		s, _ := reps[0].b.Credentials(context.Background(), alice.user())
		if s.Credentials.AccessKeyID != k || !s.Cached {
			t.Fatalf("a later request got %s (cached %v), want the cached %s", s.Credentials.AccessKeyID, s.Cached, k)
		}
		arn, user := f.whoami(t, s.Credentials)
		if user != "alice" || !strings.Contains(arn, ":assumed-role/tip-enhanced/") {
			t.Fatalf("the session is %s for %q, want tip-enhanced for alice", arn, user)
		}
	}
	waits := metric(reps[0].b, "lock_waits") + metric(reps[1].b, "lock_waits")
	ex := metric(reps[0].b, "exchanges") + metric(reps[1].b, "exchanges")
	t.Logf("exchanges %d, lock waits %d, hits %d+%d", ex, waits, metric(reps[0].b, "hits"), metric(reps[1].b, "hits"))
	if ex != 1 {
		t.Fatalf("the brokers ran the chain %d times, want 1", ex)
	}
}

// 500 people across two replicas: 500 exchanges, and each person gets a
// session that carries them and nobody else.
func TestFiveHundredUsersNeverMixed(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 60
	}
	srv := redistest.Start(t)
	f := newFixture(t, worldWith(t, n))
	key := newKey(t)
	reps := []*replica{f.replica(t, srv, key, nil), f.replica(t, srv, key, nil)}
	people := make([]*person, n)
	for i := range people {
		name := fmt.Sprintf("user%04d", i)
		people[i] = f.login(t, name+"@example.com", name+"-pw")
	}
	f.resetStats(t)

	type got struct {
		who    int
		rep    int
		akid   string
		userID string
		s      *broker.Session
	}
	results := make(chan got, 2*n)
	work := make(chan [2]int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				s, err := reps[w[1]].b.Credentials(context.Background(), people[w[0]].user())
				if err != nil {
					t.Errorf("%s on replica %d: %v", people[w[0]].email, w[1], err)
					continue
				}
				results <- got{w[0], w[1], s.Credentials.AccessKeyID, s.UserID, s}
			}
		}()
	}
	// Every person asks both replicas, in an interleaved order.
	for i := range n {
		work <- [2]int{i, i % 2}
		work <- [2]int{(i + n/2) % n, (i + 1) % 2}
	}
	close(work)
	wg.Wait()
	close(results)
	if ex := f.exchanges(t); ex != n {
		t.Fatalf("CreateTokenWithIAM calls = %d, want %d", ex, n)
	}
	sessionOf := map[int]string{}
	owner := map[string]int{}
	count := 0
	for r := range results {
		count++
		if prev, ok := sessionOf[r.who]; ok && prev != r.akid {
			t.Errorf("%s got two sessions (%s, %s)", people[r.who].email, prev, r.akid)
		}
		sessionOf[r.who] = r.akid
		if o, ok := owner[r.akid]; ok && o != r.who {
			t.Fatalf("session %s was handed to %s and %s", r.akid, people[o].email, people[r.who].email)
		}
		owner[r.akid] = r.who
		arn, user := f.whoami(t, r.s.Credentials)
		if user != people[r.who].userName {
			t.Fatalf("%s received a session of Identity Center user %q (%s)", people[r.who].email, user, arn)
		}
		if !strings.HasSuffix(arn, "/tip-"+r.userID) {
			t.Fatalf("%s: GetCallerIdentity says %s, the broker says user %s", people[r.who].email, arn, r.userID)
		}
	}
	if count != 2*n {
		t.Fatalf("%d answers, want %d", count, 2*n)
	}
}

// The replica that holds a person's lock dies mid-exchange: the other
// replica serves the person once the lease has run out.
func TestDeadLockHolderDelaysAtMostOneLease(t *testing.T) {
	srv := redistest.Start(t)
	f := newFixture(t, nil)
	key := newKey(t)
	lease := 2 * time.Second
	a := f.replica(t, srv, key, func(c *broker.Config) { c.Lease = lease })
	b := f.replica(t, srv, key, func(c *broker.Config) { c.Lease = lease })
	bob := f.login(t, "bob@example.com", "bob-sandbox-pw")
	f.resetStats(t)

	// A's exchange hangs at CreateTokenWithIAM.
	f.delay(t, "sso-oauth", "10m")
	ctxA, killA := context.WithCancel(context.Background())
	defer killA()
	aDone := make(chan error, 1)
	go func() {
		_, err := a.b.Credentials(ctxA, bob.user())
		aDone <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for f.sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("replica A never started the exchange")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// B asks for bob and waits on A's lock.
	bDone := make(chan error, 1)
	var bGot time.Time
	go func() {
		_, err := b.b.Credentials(context.Background(), bob.user())
		bGot = time.Now()
		bDone <- err
	}()
	for metric(b.b, "lock_waits") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("replica B never waited on A's lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A dies: its connection to Redis goes (no unlock, no renewal), then
	// its request is cancelled. Identity Center works again.
	_ = a.client.Close()
	killedAt := time.Now()
	killA()
	f.delay(t, "sso-oauth", "")
	select {
	case err := <-bDone:
		if err != nil {
			t.Fatalf("replica B: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("replica B was not served within a minute of A's death")
	}
	if err := <-aDone; err == nil {
		t.Fatal("replica A was killed but served")
	}
	t.Logf("B served %v after A died (lease %v)", bGot.Sub(killedAt).Round(time.Millisecond), lease)
	if n := f.exchanges(t); n != 1 {
		t.Fatalf("CreateTokenWithIAM calls that reached Identity Center = %d, want 1 (B's)", n)
	}
}

// Redis stops mid-run: FallBack keeps serving (one exchange per person
// per replica), FailClosed refuses; Redis comes back empty and sharing
// resumes.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	f := newFixture(t, nil)
	key := newKey(t)
	fast := func(c *broker.Config) { c.RetryCache = 100 * time.Millisecond }
	a := f.replica(t, srv, key, fast)
	b := f.replica(t, srv, key, fast)
	closed := f.replica(t, srv, key, func(c *broker.Config) { c.OnCacheFailure = broker.FailClosed })
	alice := f.login(t, "alice@example.com", "alice-sandbox-pw")
	bob := f.login(t, "bob@example.com", "bob-sandbox-pw")
	carol := f.login(t, "carol@example.com", "carol-sandbox-pw")
	ctx := context.Background()
	if _, err := a.b.Credentials(ctx, alice.user()); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	for _, r := range []*replica{a, b} {
		for range 5 {
			s, err := r.b.Credentials(ctx, alice.user())
			if err != nil {
				t.Fatalf("FallBack with Redis down: %v", err)
			}
			if _, user := f.whoami(t, s.Credentials); user != "alice" {
				t.Fatalf("FallBack served a session of %q to alice", user)
			}
		}
		if metric(r.b, "fallbacks") == 0 {
			t.Fatal("the fallback metric did not move")
		}
	}
	if _, err := closed.b.Credentials(ctx, alice.user()); !errors.Is(err, broker.ErrCacheUnavailable) {
		t.Fatalf("FailClosed with Redis down: got %v, want ErrCacheUnavailable", err)
	}

	srv.Restart()
	f.resetStats(t)
	// Wait out the retry delay of the circuit, with a deadline.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := closed.b.Credentials(ctx, bob.user()); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("FailClosed after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The FallBack replicas try Redis again after RetryCache; bob's
	// credentials are in Redis now, so their requests are hits there.
	for _, r := range []*replica{a, b} {
		for r.b.Degraded() {
			if time.Now().After(deadline) {
				t.Fatal("a FallBack replica never went back to Redis")
			}
			if _, err := r.b.Credentials(ctx, bob.user()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// While a replica was still degraded, its requests above may have
	// exchanged bob's token on its own path; count from here, with both
	// replicas back on Redis: bob is a hit on each, carol one exchange.
	f.resetStats(t)
	for _, r := range []*replica{a, b} {
		if _, err := r.b.Credentials(ctx, bob.user()); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := []*replica{a, b}[i%2].b.Credentials(ctx, carol.user()); err != nil {
				t.Errorf("after Redis came back: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := f.exchanges(t); n != 1 {
		t.Fatalf("CreateTokenWithIAM once both replicas are back on Redis = %d, want 1 (bob shared, carol once: sharing resumed)", n)
	}
	// Alice's session of the outage was used once; the record of it went
	// with Redis, so her next exchange asks for a fresh id_token.
	s, err := b.b.Credentials(ctx, alice.user())
	if err != nil {
		t.Fatalf("alice after the restart: %v", err)
	}
	if _, user := f.whoami(t, s.Credentials); user != "alice" {
		t.Fatalf("alice got a session of %q", user)
	}
}
