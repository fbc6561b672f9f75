package broker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/tipctl/tipctl/internal/redistest"
	"github.com/tipctl/tipctl/tip/broker"
	"github.com/tipctl/tipctl/tip/exchange"
)

// helperEnv selects the replica-process mode of the test binary: the
// process is one replica of the application, asking for one person's
// credentials, and nothing else.
const helperEnv = "TIPCTL_BROKER_REPLICA_PROCESS"

// replicaSpec is what the parent hands the replica process.
type replicaSpec struct {
	Sandbox, Redis, IDToken                  string
	Key                                      []byte
	Lease                                    time.Duration
	Application, Bridge, Enhanced, AWSRegion string
}

// TestReplicaProcess is not a test: it is the body of a replica process
// started by TestKilledLockHolderProcess (it returns at once otherwise).
func TestReplicaProcess(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		return
	}
	var spec replicaSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Println("bad spec:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, spec.Sandbox+"/idp")
	if err != nil {
		fmt.Println("discovery:", err)
		os.Exit(3)
	}
	client, err := broker.NewRedisClient(spec.Redis)
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	cache, err := broker.NewRedis(broker.RedisOptions{Client: client, Key: spec.Key})
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	b, err := broker.New(broker.Config{Verifier: p.Verifier(&oidc.Config{ClientID: "tipctl"}), Cache: cache, Lease: spec.Lease,
		Exchange: exchange.Config{AWS: aws.Config{Region: spec.AWSRegion, BaseEndpoint: aws.String(spec.Sandbox)},
			ApplicationArn: spec.Application, BridgeRoleArn: spec.Bridge, EnhancedRoleArn: spec.Enhanced}})
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	s, err := b.Credentials(ctx, broker.User{IDToken: spec.IDToken})
	if err != nil {
		fmt.Println("credentials:", err)
		os.Exit(1)
	}
	fmt.Println("served", s.AssumedRoleArn)
	os.Exit(0)
}

// A replica running as its own OS process takes a person's exchange lock
// and stalls mid-exchange (Identity Center hangs); it is SIGKILLed. The
// other replica, waiting on the lock, serves the person once the dead
// process's lease has run out: not before, within one lease of the kill,
// with exactly one CreateTokenWithIAM (its own) reaching Identity Center.
func TestKilledLockHolderProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("inside a replica process")
	}
	srv := redistest.Start(t)
	f := newFixture(t, nil)
	key := newKey(t)
	const lease = 3 * time.Second
	bob := f.login(t, "bob@example.com", "bob-sandbox-pw")
	f.resetStats(t)
	ctx := context.Background()
	watch, err := broker.NewRedisClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()

	// Replica A: this test binary again, as a separate process.
	f.delay(t, "sso-oauth", "10m")
	spec, _ := json.Marshal(replicaSpec{Sandbox: f.sb.URL(), Redis: srv.URL(), IDToken: bob.user().IDToken, Key: key, Lease: lease,
		Application: f.xcfg.ApplicationArn, Bridge: f.xcfg.BridgeRoleArn, Enhanced: f.xcfg.EnhancedRoleArn, AWSRegion: f.xcfg.AWS.Region})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestReplicaProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(spec))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	// A holds bob's lock and is mid-exchange: step 1 done, its
	// CreateTokenWithIAM parked at the sandbox's Identity Center.
	deadline := time.Now().Add(time.Minute)
	var lockKey, aToken string
	for {
		if keys := watch.Keys(ctx, "tipctl:broker:lock:*").Val(); len(keys) == 1 && f.held(t, "sso-oauth") == 1 {
			lockKey = keys[0]
			aToken = watch.Get(ctx, lockKey).Val()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("replica process exited before taking the lock: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica process never took the lock and started the exchange\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Replica B (in this process) asks for bob and waits on A's lock.
	b := f.replica(t, srv, key, func(c *broker.Config) { c.Lease = lease })
	type result struct {
		s   *broker.Session
		err error
		at  time.Time
	}
	bDone := make(chan result, 1)
	go func() {
		s, err := b.b.Credentials(ctx, bob.user())
		bDone <- result{s, err, time.Now()}
	}()
	for metric(b.b, "lock_waits") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("replica B never waited on A's lock")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// SIGKILL A mid-exchange: no unlock, no renewal, no deferred code.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	werr := <-exited
	exited <- werr // for the deferred cleanup
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("replica process did not die of SIGKILL: %v\n%s", werr, out.String())
	}
	if strings.Contains(out.String(), "served") {
		t.Fatalf("the killed replica served: %s", out.String())
	}
	// The dead process's lease is all that stands between B and bob.
	measured := time.Now()
	held := watch.Get(ctx, lockKey).Val()
	pttl := watch.PTTL(ctx, lockKey).Val()
	if held == aToken && (pttl <= 0 || pttl > lease) {
		t.Fatalf("the dead replica's lock has PTTL %v, want within (0, %v]", pttl, lease)
	}
	// Identity Center answers again, except A's request: it stays parked
	// in its 10-minute delay (the sandbox has not read its body, so it
	// does not notice the dead client), and never reaches Identity Center
	// during this test.
	f.delay(t, "sso-oauth", "")

	var r result
	select {
	case r = <-bDone:
	case <-time.After(lease + time.Minute):
		t.Fatalf("replica B was not served within %v of A's death", lease+time.Minute)
	}
	if r.err != nil {
		t.Fatalf("replica B: %v", r.err)
	}
	waited := r.at.Sub(killedAt)
	t.Logf("B served bob %v after A was SIGKILLed (lease %v; A's lease had %v left at the kill)", waited.Round(time.Millisecond), lease, pttl)
	if held == aToken {
		// B did not break the lease: it was served only once the dead
		// process's lease had run out in Redis.
		if expiry := measured.Add(pttl); r.at.Before(expiry.Add(-50 * time.Millisecond)) {
			t.Fatalf("B was served %v before the dead replica's lease ran out", expiry.Sub(r.at))
		}
	}
	if waited > lease+30*time.Second {
		t.Fatalf("B waited %v after the kill, more than one lease (%v) plus a 30 s allowance for this machine", waited, lease)
	}
	if r.s.Cached {
		t.Fatal("B's answer came from a cache: nobody else could have exchanged")
	}
	if _, user := f.whoami(t, r.s.Credentials); user != "bob" {
		t.Fatalf("B served a session of %q, want bob", user)
	}
	if n := f.exchanges(t); n != 1 || f.held(t, "sso-oauth") != 1 {
		t.Fatalf("CreateTokenWithIAM calls that reached Identity Center = %d (want 1, B's), parked = %d (want 1, A's)", n, f.held(t, "sso-oauth"))
	}
	if n := f.sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity"); n != 2 {
		t.Fatalf("AssumeRoleWithWebIdentity = %d, want 2 (A's step 1 and B's)", n)
	}
	if n := metric(b.b, "exchanges"); n != 1 {
		t.Fatalf("B ran the chain %d times, want 1", n)
	}
	// Later requests on B are hits on what B stored under its own lease.
	if s, err := b.b.Credentials(ctx, bob.user()); err != nil || !s.Cached || s.Credentials.AccessKeyID != r.s.Credentials.AccessKeyID {
		t.Fatalf("next request: %v %+v", err, s)
	}
	if n := metric(b.b, "fenced"); n != 0 {
		t.Fatalf("B's store was fenced off %d times", n)
	}
}

// held is the number of requests to service parked in an injected delay.
func (f *fixture) held(t testing.TB, service string) int {
	t.Helper()
	h, _ := f.control(t, http.MethodGet, "/_sandbox/faults", "")["held"].(map[string]any)
	n, _ := h[service].(float64)
	return int(n)
}
