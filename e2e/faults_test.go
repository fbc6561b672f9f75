package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func setFault(t *testing.T, endpoint, service, delay string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"service": service, "delay": delay})
	req, err := http.NewRequest(http.MethodPost, endpoint+"/_sandbox/faults", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sandbox.ControlHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("setting fault: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestKilledRefresherDoesNotBlockOthers: a tipctl killed with SIGKILL while
// it holds the refresh lock (mid-exchange) leaves neither a stuck lock nor a
// broken store; the next caller proceeds at once.
func TestKilledRefresherDoesNotBlockOthers(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	e.login(sb, "alice@example.com", "alice-sandbox-pw")
	setFault(t, sb.URL(), "sso-oauth", "20s") // the exchange hangs in step 2

	victim := exec.Command(tipctl, "auth", "get-iam-credentials")
	victim.Env = e.vars
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity") == 0 {
		t.Fatal("the victim never started the exchange")
	}
	time.Sleep(100 * time.Millisecond) // now waiting on CreateTokenWithIAM, lock held
	_ = victim.Process.Signal(syscall.SIGKILL)
	_ = victim.Wait()
	setFault(t, sb.URL(), "sso-oauth", "")

	start := time.Now()
	out, stderr, code := e.run(nil, "auth", "get-iam-credentials")
	if code != 0 {
		t.Fatalf("next caller failed: %d %s", code, stderr)
	}
	if waited := time.Since(start); waited > 15*time.Second {
		t.Fatalf("next caller waited %s for the dead process's lock", waited)
	}
	var pc processCreds
	if json.Unmarshal([]byte(out), &pc) != nil || pc.Version != 1 {
		t.Fatalf("bad output %q", out)
	}
	// The store is intact and the victim's possibly-sent assertion was not reused.
	if _, stderr, code := e.run(nil, "auth", "status"); code != 0 {
		t.Fatalf("status after the kill: %s", stderr)
	}
	if strings.Contains(stderr, "already") {
		t.Fatalf("an exchanged assertion was reused: %s", stderr)
	}
}

// flakyProxy forwards to target; while drop > 0 it reads a request and
// closes the connection, as a sandbox stopped mid-call would.
func flakyProxy(t *testing.T, target string) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var drop atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if drop.Add(-1) >= 0 {
				buf := make([]byte, 1024)
				_, _ = c.Read(buf)
				c.Close()
				continue
			}
			drop.Store(0)
			go func(c net.Conn) {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}(c)
		}
	}()
	return "http://" + ln.Addr().String(), &drop
}

// TestDroppedConnectionsAreRetried: AWS calls cut off mid-flight are
// retried with backoff and the command still succeeds.
func TestDroppedConnectionsAreRetried(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	proxy, drop := flakyProxy(t, strings.TrimPrefix(sb.URL(), "http://"))
	// The profile sends AWS calls through the proxy (the IdP stays direct).
	if _, stderr, code := e.run(nil, "configure", "sandbox", "--endpoint", proxy); code != 0 {
		t.Fatalf("configure: %s", stderr)
	}
	e.login(sb, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := e.run(nil, "configure", "sandbox", "--endpoint", proxy); code != 0 {
		t.Fatalf("configure: %s", stderr)
	}
	drop.Store(2)
	out, stderr, code := e.run(nil, "auth", "get-iam-credentials", "--debug")
	if code != 0 {
		t.Fatalf("get-iam-credentials through a flaky endpoint: %d\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "error after"); n < 2 {
		t.Fatalf("expected two failed attempts in the trace, got %d:\n%s", n, stderr)
	}
	var pc processCreds
	if json.Unmarshal([]byte(out), &pc) != nil || pc.Version != 1 {
		t.Fatalf("bad output %q", out)
	}
}

// TestUnreachableEndpointIsReportedCleanly: with the sandbox gone, the
// command fails with one line, the network exit code and no stack trace.
func TestUnreachableEndpointIsReportedCleanly(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	e.login(sb, "alice@example.com", "alice-sandbox-pw")
	sb.Close()
	start := time.Now()
	out, stderr, code := e.run(nil, "auth", "get-iam-credentials")
	if code != 6 || out != "" {
		t.Fatalf("code %d stdout %q stderr %q", code, out, stderr)
	}
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || strings.Contains(stderr, "goroutine") || !strings.Contains(stderr, "tipctl:") {
		t.Fatalf("not one clean line: %q", stderr)
	}
	t.Logf("unreachable: %s", stderr)
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("took %s to give up", el)
	}
}

// TestSlowIdPTimesOut: a slow IdP makes the refresh time out with a clear
// message instead of hanging.
func TestSlowIdPTimesOut(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	e.login(sb, "alice@example.com", "alice-sandbox-pw")
	setFault(t, sb.URL(), "idp", "10s")
	start := time.Now()
	out, stderr, code := e.run([]string{"TIPCTL_HTTP_TIMEOUT=1s"}, "auth", "refresh")
	el := time.Since(start)
	if code != 6 || out != "" || !strings.Contains(strings.ToLower(stderr), "time") {
		t.Fatalf("code %d stdout %q stderr %q", code, out, stderr)
	}
	t.Logf("slow IdP: %s", stderr)
	if el > 8*time.Second {
		t.Fatalf("a 1s timeout took %s", el)
	}
}
