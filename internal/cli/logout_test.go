package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/store"
)

// TestLogoutWinsOverARefresh: `get-iam-credentials --force-new` is minting
// with a slow STS when `auth logout` runs. Logout waits for the refresh's
// locks and wipes after it, so afterwards `auth status` and the next
// get-iam-credentials agree: not logged in.
func TestLogoutWinsOverARefresh(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("lock holder records are POSIX paths here")
	}
	sb := loggedIn(t)
	d, err := config.Paths()
	if err != nil {
		t.Fatal(err)
	}
	owner := filepath.Join(d.State, "locks", "item%3aprofile%2fdefault%2faws-credentials.lock.owner")
	sb.Env.Faults.SetDelay("sts", 2*time.Second)

	c, _, errb := startProc(t, "auth", "get-iam-credentials", "--force-new")
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	// The refresher holds the credentials lock (it recorded itself).
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err := os.Stat(owner); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refresher never took the lock; stderr %q", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if out, stderr, code := run(t, "auth", "logout"); code != 0 || !strings.Contains(out, "Logged out") {
		t.Fatalf("logout: %d %q %q", code, out, stderr)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the refresher did not end")
	}
	sb.Env.Faults.SetDelay("sts", 0)

	if out, _, code := run(t, "auth", "status"); code != ExitAuth || !strings.Contains(out, "not logged in") {
		t.Fatalf("status after logout: %d %q", code, out)
	}
	if out, stderr, code := run(t, "auth", "get-iam-credentials"); code != ExitAuth || out != "" {
		t.Fatalf("get-iam-credentials after logout: %d %q %q (credentials survived the logout)", code, out, stderr)
	}
}

// TestLogoutWipesAnUndecryptableStore: with the passphrase lost (or a
// wrong one, or a corrupt key file) logout still wipes the profile, so the
// way out that every store error advises works.
func TestLogoutWipesAnUndecryptableStore(t *testing.T) {
	loggedIn(t)
	t.Setenv(store.EnvPassphrase, "")
	d, _ := config.Paths()
	secrets := filepath.Join(d.State, "secrets")

	for _, c := range []struct {
		name   string
		break_ func()
	}{
		{"wrong passphrase", func() { t.Setenv(store.EnvPassphrase, "not-the-one") }},
		{"corrupt key file", func() { os.WriteFile(filepath.Join(secrets, ".key"), []byte("{garbage"), 0o600) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			loginAs(t, "alice@example.com", "alice-sandbox-pw")
			if _, stderr, code := run(t, "auth", "login"); code != 0 {
				t.Fatal(stderr)
			}
			c.break_()
			if _, stderr, code := run(t, "auth", "status"); code != ExitConfig || !strings.Contains(stderr, "auth logout") {
				t.Fatalf("status with a broken store: %d %q", code, stderr)
			}
			out, stderr, code := run(t, "auth", "logout")
			if code != 0 || !strings.Contains(out, "wiped") {
				t.Fatalf("logout of a broken store: %d %q %q", code, out, stderr)
			}
			t.Setenv(store.EnvPassphrase, "")
			if out, stderr, code := run(t, "auth", "status"); code != ExitAuth || !strings.Contains(out, "not logged in") {
				t.Fatalf("status after the wipe: %d %q %q", code, out, stderr)
			}
		})
	}
}
