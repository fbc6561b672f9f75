package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// Environment of helper processes (the test binary re-executed).
const (
	envHelper = "TIPCTL_STORE_TEST_HELPER"
	envState  = "TIPCTL_STORE_TEST_STATE"
	envArg    = "TIPCTL_STORE_TEST_ARG"
)

var (
	valueA = bytes.Repeat([]byte("A"), 200<<10)
	valueB = bytes.Repeat([]byte("B"), 300<<10)
)

// TestHelperProcess is not a test: it is the body of child processes
// started by the tests below.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		t.Skip("helper process only")
	}
	state := os.Getenv(envState)
	arg := os.Getenv(envArg)
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "helper %s pid %d: "+format+"\n", append([]any{mode, os.Getpid()}, args...)...)
		os.Exit(3)
	}
	ctx := context.Background()
	switch mode {
	case "getorrefresh":
		// Wait for the parent's start signal so that all children race.
		fmt.Println("ready")
		for {
			if _, err := os.Stat(arg); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		v, err := Open(Options{StateDir: state})
		if err != nil {
			fail("open: %v", err)
		}
		got, err := v.GetOrRefresh(ctx, "profile/p/token", func(b []byte) bool { return len(b) > 0 },
			func(ctx context.Context, old []byte) ([]byte, error) {
				f, err := os.OpenFile(filepath.Join(state, "refresh-count"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(f, "%d\n", os.Getpid())
				f.Close()
				time.Sleep(20 * time.Millisecond) // a slow IdP widens the race window
				return []byte(fmt.Sprintf("token-from-%d", os.Getpid())), nil
			})
		if err != nil {
			fail("GetOrRefresh: %v", err)
		}
		fmt.Println(string(got))
	case "hold":
		v, err := Open(Options{StateDir: state})
		if err != nil {
			fail("open: %v", err)
		}
		if _, err := v.Lock(ctx, arg, time.Minute); err != nil {
			fail("lock: %v", err)
		}
		fmt.Println("locked")
		time.Sleep(time.Hour) // until SIGKILLed
	case "writer":
		v, err := Open(Options{StateDir: state})
		if err != nil {
			fail("open: %v", err)
		}
		for i := 0; ; i++ {
			val := valueA
			if i%2 == 1 {
				val = valueB
			}
			if err := v.Set("k", val); err != nil {
				fail("set: %v", err)
			}
			if i == 1 {
				fmt.Println("writing")
			}
		}
	case "rotate":
		n, _ := strconv.Atoi(arg)
		v, err := Open(Options{StateDir: state})
		if err != nil {
			fail("open: %v", err)
		}
		idp := &rotatingIdP{ledger: filepath.Join(state, "ledger")}
		for i := 0; i < n; i++ {
			_, err := v.GetOrRefresh(ctx, "profile/p/idp-token", func([]byte) bool { return false }, idp.refresh)
			if err != nil {
				fail("GetOrRefresh #%d: %v", i, err)
			}
		}
		fmt.Println("done")
	default:
		fail("unknown mode")
	}
	os.Exit(0)
}

// helper starts the test binary as a child process in the given mode.
func helper(t *testing.T, mode, state, arg string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(withoutEnv(os.Environ(), EnvPassphrase), envHelper+"="+mode, envState+"="+state, envArg+"="+arg, EnvBackend+"=file")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("helper %s stderr: %s", mode, stderr.String())
		}
	})
	return cmd, bufio.NewReader(out)
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading helper output: %q %v", line, err)
	}
	return strings.TrimSpace(line)
}

// fileVault opens the same store and locks as Open(Options{StateDir:
// state}) with the file backend in key-file mode, as the helpers do.
func fileVault(t *testing.T, state string) *Vault {
	t.Helper()
	return NewVault(newFS(t, filepath.Join(state, "secrets"), nil), filepath.Join(state, "locks"))
}

func TestLockExcludesAndTimesOut(t *testing.T) {
	state := t.TempDir()
	v := fileVault(t, state)
	ctx := context.Background()

	unlock, err := v.Lock(ctx, "profile/p/refresh", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if m := mode(t, v.LockDir()); m != 0o700 {
			t.Errorf("lock dir mode %o", m)
		}
	}
	// A second taker in the same process waits and times out, and the
	// error names the holder (this process) and the lock file.
	_, err = v.Lock(ctx, "profile/p/refresh", 30*time.Millisecond)
	var lte *LockTimeoutError
	if !errors.As(err, &lte) || !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("want LockTimeoutError, got %v", err)
	}
	if lte.Holder == nil || lte.Holder.PID != os.Getpid() || !strings.Contains(err.Error(), lte.Path) || !strings.Contains(err.Error(), "same process") {
		t.Errorf("timeout error: %v (holder %+v)", err, lte.Holder)
	}
	// A different lock name is independent.
	u2, err := v.Lock(ctx, "other", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	u2()
	// Context cancellation ends the wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := v.Lock(cctx, "profile/p/refresh", time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	unlock()
	unlock() // idempotent
	u3, err := v.Lock(ctx, "profile/p/refresh", time.Second)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	u3()

	// Mutual exclusion among goroutines.
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				u, err := v.Lock(ctx, "shared", 10*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				if n > maxInside.Load() {
					maxInside.Store(n)
				}
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				u()
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Errorf("%d goroutines held the lock at once", maxInside.Load())
	}
}

// A process SIGKILLed while holding the lock does not leave it stuck.
func TestLockReleasedWhenHolderIsKilled(t *testing.T) {
	state := t.TempDir()
	cmd, out := helper(t, "hold", state, "profile/p/refresh")
	if line := readLine(t, out); line != "locked" {
		t.Fatalf("helper said %q", line)
	}
	v := fileVault(t, state)
	_, err := v.Lock(context.Background(), "profile/p/refresh", 100*time.Millisecond)
	var lte *LockTimeoutError
	if !errors.As(err, &lte) {
		t.Fatalf("lock held by the child: want a timeout, got %v", err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if lte.Holder == nil || lte.Holder.PID != cmd.Process.Pid || !strings.Contains(err.Error(), "kill "+pid) || !strings.Contains(lte.Holder.Command, "TestHelperProcess") {
		t.Errorf("timeout error should blame pid %s and say what to do: %v", pid, err)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	cmd.Wait()
	const timeout = 10 * time.Second
	start := time.Now()
	unlock, err := v.Lock(context.Background(), "profile/p/refresh", timeout)
	if err != nil {
		t.Fatalf("lock after the holder died: %v", err)
	}
	defer unlock()
	if waited := time.Since(start); waited > timeout/2 {
		t.Errorf("took %s to get a lock whose holder is dead", waited)
	}
}

// 50 processes call GetOrRefresh at once on an empty store: the refresh runs
// exactly once and all get the same value.
func TestGetOrRefreshFiftyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 50 processes")
	}
	const n = 50
	state := t.TempDir()
	start := filepath.Join(t.TempDir(), "go")
	type child struct {
		cmd *exec.Cmd
		out *bufio.Reader
	}
	children := make([]child, n)
	for i := range children {
		cmd, out := helper(t, "getorrefresh", state, start)
		children[i] = child{cmd, out}
	}
	for _, c := range children {
		if line := readLine(t, c.out); line != "ready" {
			t.Fatalf("child said %q", line)
		}
	}
	os.WriteFile(start, nil, 0o600)
	results := map[string]int{}
	for _, c := range children {
		results[readLine(t, c.out)]++
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("child %d: %v", c.cmd.Process.Pid, err)
		}
	}
	count, _ := os.ReadFile(filepath.Join(state, "refresh-count"))
	lines := strings.Fields(string(count))
	if len(lines) != 1 {
		t.Fatalf("refresh ran %d times (pids %v), want exactly once", len(lines), lines)
	}
	want := "token-from-" + lines[0]
	if len(results) != 1 || results[want] != n {
		t.Errorf("results %v, want all %d = %q", results, n, want)
	}
	if got, err := fileVault(t, state).Get("profile/p/token"); err != nil || string(got) != want {
		t.Errorf("stored %q %v", got, err)
	}
}

// rotatingIdP models an IdP with refresh-token rotation and reuse
// detection: each refresh token works once, and presenting an old one is
// an error (real IdPs then revoke the whole session). Its ledger is guarded
// by its own flock, independent of the Vault's locks under test.
type rotatingIdP struct{ ledger string }

type rtItem struct {
	RT string `json:"rt"`
}

func (p *rotatingIdP) refresh(_ context.Context, old []byte) ([]byte, error) {
	fl := flock.New(p.ledger + ".lock")
	if err := fl.Lock(); err != nil {
		return nil, err
	}
	defer fl.Unlock()
	data, err := os.ReadFile(p.ledger)
	if err != nil {
		return nil, err
	}
	issued := strings.Fields(string(data))
	current := issued[len(issued)-1]
	var it rtItem
	if old == nil || json.Unmarshal(old, &it) != nil {
		return nil, fmt.Errorf("no refresh token to present")
	}
	if it.RT != current {
		return nil, fmt.Errorf("refresh token reuse detected: %s presented, %s is current", it.RT, current)
	}
	next := fmt.Sprintf("rt-%d", len(issued))
	f, err := os.OpenFile(p.ledger, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(f, next)
	f.Close()
	return json.Marshal(rtItem{RT: next})
}

func seedRotation(t *testing.T, v *Vault, state string) *rotatingIdP {
	t.Helper()
	idp := &rotatingIdP{ledger: filepath.Join(state, "ledger")}
	os.WriteFile(idp.ledger, []byte("rt-0\n"), 0o600)
	b, _ := json.Marshal(rtItem{RT: "rt-0"})
	if err := v.Set("profile/p/idp-token", b); err != nil {
		t.Fatal(err)
	}
	return idp
}

// The detector works: two refreshers that both read rt-0 without the lock
// trip it. (This is the race GetOrRefresh exists to prevent.)
func TestRotatingIdPDetectsReuse(t *testing.T) {
	state := t.TempDir()
	v := fileVault(t, state)
	idp := seedRotation(t, v, state)
	old1, _ := v.Get("profile/p/idp-token")
	old2, _ := v.Get("profile/p/idp-token")
	if _, err := idp.refresh(context.Background(), old1); err != nil {
		t.Fatal(err)
	}
	if _, err := idp.refresh(context.Background(), old2); err == nil || !strings.Contains(err.Error(), "reuse") {
		t.Fatalf("reuse not detected: %v", err)
	}
}

// Rotated refresh tokens are persisted before anyone can read the old one:
// several processes each force many refreshes; every refresh must present
// the current token, so the ledger is one unbroken chain.
func TestGetOrRefreshRotationAcrossProcesses(t *testing.T) {
	const procs, each = 6, 12
	state := t.TempDir()
	v := fileVault(t, state)
	idp := seedRotation(t, v, state)
	var cmds []*exec.Cmd
	var outs []*bufio.Reader
	for range procs {
		cmd, out := helper(t, "rotate", state, strconv.Itoa(each))
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	// This process joins in with goroutines too.
	var wg sync.WaitGroup
	var local atomic.Int32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := v.GetOrRefresh(context.Background(), "profile/p/idp-token", func([]byte) bool { return false },
					func(ctx context.Context, old []byte) ([]byte, error) {
						local.Add(1)
						return idp.refresh(ctx, old)
					}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, cmd := range cmds {
		if line, _ := outs[i].ReadString('\n'); strings.TrimSpace(line) != "done" {
			t.Errorf("child %d: %q", i, line)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d failed: %v", i, err)
		}
	}
	data, _ := os.ReadFile(idp.ledger)
	issued := strings.Fields(string(data))
	want := 1 + procs*each + int(local.Load())
	if len(issued) != want {
		t.Errorf("ledger has %d tokens, want %d", len(issued), want)
	}
	for i, rt := range issued {
		if rt != fmt.Sprintf("rt-%d", i) {
			t.Fatalf("ledger entry %d is %s", i, rt)
		}
	}
	var it rtItem
	b, _ := v.Get("profile/p/idp-token")
	json.Unmarshal(b, &it)
	if it.RT != issued[len(issued)-1] {
		t.Errorf("stored %s, latest issued %s", it.RT, issued[len(issued)-1])
	}
}

func TestGetOrRefreshInProcess(t *testing.T) {
	state := t.TempDir()
	v := fileVault(t, state)
	ctx := context.Background()
	var calls atomic.Int32
	release := make(chan struct{})
	fresh := func(b []byte) bool { return bytes.HasPrefix(b, []byte("good")) }
	refresh := func(ctx context.Context, old []byte) ([]byte, error) {
		calls.Add(1)
		<-release
		return []byte("good-1"), nil
	}
	var wg sync.WaitGroup
	results := make([][]byte, 20)
	errs := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = v.GetOrRefresh(ctx, "k", fresh, refresh)
		}()
	}
	// Let everyone pile up on the one in-flight refresh, then finish it.
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("refresh ran %d times", calls.Load())
	}
	for i := range results {
		if errs[i] != nil || string(results[i]) != "good-1" {
			t.Errorf("caller %d: %q %v", i, results[i], errs[i])
		}
	}
	results[0][0] = 'X' // callers get their own copies
	if string(results[1]) != "good-1" {
		t.Error("callers share one slice")
	}

	// Fresh value: no refresh.
	got, err := v.GetOrRefresh(ctx, "k", fresh, func(context.Context, []byte) ([]byte, error) {
		t.Error("refresh called for a fresh value")
		return nil, nil
	})
	if err != nil || string(got) != "good-1" {
		t.Errorf("fresh: %q %v", got, err)
	}

	// Stale value: refresh sees the old value; an error writes nothing.
	v.Set("k", []byte("stale"))
	boom := errors.New("idp down")
	_, err = v.GetOrRefresh(ctx, "k", fresh, func(_ context.Context, old []byte) ([]byte, error) {
		if string(old) != "stale" {
			t.Errorf("old = %q", old)
		}
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("refresh error: %v", err)
	}
	if b, _ := v.Get("k"); string(b) != "stale" {
		t.Errorf("failed refresh overwrote the value: %q", b)
	}
	// A panicking refresh becomes an error and releases the lock.
	_, err = v.GetOrRefresh(ctx, "k", fresh, func(context.Context, []byte) ([]byte, error) { panic("oops") })
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("panic: %v", err)
	}
	if u, err := v.Lock(ctx, "item:k", time.Second); err != nil {
		t.Errorf("lock not released after panic: %v", err)
	} else {
		u()
	}

	// A corrupt item is replaced (refresh gets nil).
	fs := v.Store.(*FileStore)
	p, _ := fs.path("k")
	os.WriteFile(p, []byte("garbage garbage garbage garbage garbage garbage garbage"), 0o600)
	got, err = v.GetOrRefresh(ctx, "k", fresh, func(_ context.Context, old []byte) ([]byte, error) {
		if old != nil {
			t.Errorf("old = %q, want nil for a corrupt item", old)
		}
		return []byte("good-2"), nil
	})
	if err != nil || string(got) != "good-2" {
		t.Errorf("corrupt: %q %v", got, err)
	}
	// Insecure permissions are not papered over.
	if runtime.GOOS != "windows" {
		os.Chmod(p, 0o644)
		if _, err := v.GetOrRefresh(ctx, "k", fresh, refresh); !errors.Is(err, ErrInsecurePermissions) {
			t.Errorf("loose file: %v", err)
		}
		os.Chmod(p, 0o600)
	}
	// Put takes the same lock as GetOrRefresh.
	u, _ := v.Lock(ctx, "item:k", time.Second)
	v.LockTimeout = 30 * time.Millisecond
	if err := v.Put(ctx, "k", []byte("x")); !errors.Is(err, ErrLockTimeout) {
		t.Errorf("Put while the key is locked: %v", err)
	}
	u()
	if err := v.Put(ctx, "k", []byte("good-3")); err != nil {
		t.Error(err)
	}
	// A caller whose context ends stops waiting.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	v.Set("k", []byte("stale"))
	if _, err := v.GetOrRefresh(cctx, "k", fresh, refresh); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// SIGKILL of a process in the middle of writing leaves the old or the new
// value, never a torn file.
func TestKilledWriterLeavesWholeValue(t *testing.T) {
	state := t.TempDir()
	for round := range 4 {
		cmd, out := helper(t, "writer", state, "")
		if line := readLine(t, out); line != "writing" {
			t.Fatalf("helper said %q", line)
		}
		time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		v := fileVault(t, state)
		got, err := v.Get("k")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !bytes.Equal(got, valueA) && !bytes.Equal(got, valueB) {
			t.Fatalf("round %d: torn value of %d bytes", round, len(got))
		}
		if keys, _ := v.Keys(""); len(keys) != 1 || keys[0] != "k" {
			t.Errorf("round %d: keys %v (temporary files must not show)", round, keys)
		}
		if runtime.GOOS != "windows" {
			p, _ := v.Store.(*FileStore).path("k")
			if m := mode(t, p); m != 0o600 {
				t.Errorf("mode %o", m)
			}
		}
	}
}
