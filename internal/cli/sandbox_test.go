package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveSandbox runs `tipctl sandbox args…` in-process until it prints its
// URL, and stops it when the test ends. It returns the URL and stderr.
func serveSandbox(t *testing.T, args ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv}
	done := make(chan int, 1)
	go func() { done <- Run(ctx, app, append([]string{"sandbox"}, args...)) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.After(30 * time.Second)
	for {
		if line, _, ok := strings.Cut(out.String(), "\n"); ok {
			return line, &errb
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("tipctl sandbox %v exited %d: %s", args, code, errb.String())
		case <-deadline:
			t.Fatalf("tipctl sandbox %v printed no URL in 30 s: %s", args, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func health(t *testing.T, endpoint string) {
	t.Helper()
	resp, err := http.Get(endpoint + "/_sandbox/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s/_sandbox/health: %d", endpoint, resp.StatusCode)
	}
}

// TestSandboxListenIPv6: `tipctl sandbox --listen [::1]:0` failed with "the
// world file has errors: default world:200" although no world was given.
func TestSandboxListenIPv6(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback (::1): %v", err)
	} else {
		ln.Close()
	}
	url, _ := serveSandbox(t, "--listen", "[::1]:0")
	if !strings.HasPrefix(url, "http://[::1]:") {
		t.Fatalf("URL %q", url)
	}
	health(t, url)
}

// TestSandboxRemoteListen: a non-loopback address is refused (exit 2, one
// line naming the flag) unless --allow-remote, which warns on stderr.
func TestSandboxRemoteListen(t *testing.T) {
	_, stderr, code := run(t, "sandbox", "--listen", "0.0.0.0:0")
	if code != ExitUsage || !strings.Contains(stderr, "--allow-remote") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("--listen 0.0.0.0:0: exit %d, stderr %q", code, stderr)
	}
	url, errb := serveSandbox(t, "--listen", "0.0.0.0:0", "--allow-remote")
	if !strings.Contains(errb.String(), "WARNING") {
		t.Errorf("no warning on stderr: %q", errb.String())
	}
	health(t, url)
}
