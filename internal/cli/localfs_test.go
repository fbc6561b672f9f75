//go:build linux

package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/config"
)

// tmpfs mounts a tmpfs with opts on dir for the test (root only: the
// faults these tests drive, a read-only or full file system, cannot be
// made otherwise without root).
func tmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test needs root to mount a tmpfs")
		}
		t.Skip("needs root to mount a tmpfs (read-only or full file system)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
}

// TestLoginIntoReadOnlyHomeFailsBeforeSignIn: with a read-only state
// directory, login fails at once naming the path and the fix, with the
// exit code of local errors, and never opens the browser.
func TestLoginIntoReadOnlyHomeFailsBeforeSignIn(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	d, _ := config.Paths()
	os.RemoveAll(d.State)
	tmpfs(t, d.State, "ro,size=1m")
	opened := false
	prev := openBrowser
	t.Cleanup(func() { openBrowser = prev })
	openBrowser = func(string) error { opened = true; return errors.New("no") }
	out, stderr, code := run(t, "auth", "login", "--timeout", "5s")
	if code != ExitConfig || out != "" || opened {
		t.Fatalf("login into a read-only home: code %d, browser opened %v, %q %q", code, opened, out, stderr)
	}
	if !strings.Contains(stderr, d.State) || !strings.Contains(stderr, "read-only") || strings.Contains(stderr, "network") ||
		strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("stderr %q", stderr)
	}
	if n := sb.Env.Stats.Get("idp:authorize"); n != 0 {
		t.Fatalf("the sign-in started (%d authorize requests)", n)
	}
}

// TestRefreshOnAFullDiskKeepsTheLogin: with no room left for the rotated
// refresh token, `auth refresh` does not redeem the refresh token; it says
// what is full. Once there is room again, the login still works.
func TestRefreshOnAFullDiskKeepsTheLogin(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	d, _ := config.Paths()
	os.RemoveAll(d.State)
	tmpfs(t, d.State, "size=256k")
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}
	// Fill the disk.
	filler := filepath.Join(d.State, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	before := sb.Env.Stats.Get("idp:token")
	out, stderr, code := run(t, "auth", "refresh")
	if code != ExitConfig || out != "" || !strings.Contains(stderr, "full") || !strings.Contains(stderr, d.State) ||
		strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("refresh on a full disk: %d %q %q", code, out, stderr)
	}
	if n := sb.Env.Stats.Get("idp:token"); n != before {
		t.Fatalf("the refresh token was redeemed (%d token requests) although its successor could not be saved", n-before)
	}
	os.Remove(filler)
	if out, stderr, code := run(t, "auth", "refresh"); code != 0 {
		t.Fatalf("refresh once there is room again: %d %q %q", code, out, stderr)
	}
}
