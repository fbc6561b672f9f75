package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestBrowserEnvWithoutDisplay: on Linux without a display, BROWSER still
// means "use this browser": login opens it (here a remote-opener script
// that hands the URL on) instead of switching to the device flow.
func TestBrowserEnvWithoutDisplay(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	sb := ststest.Sandbox(t, nil)
	dir := home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	urlFile := filepath.Join(dir, "opened-url")
	opener := filepath.Join(dir, "remote-open")
	if err := os.WriteFile(opener, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+shQuote(urlFile+".tmp")+" && mv "+shQuote(urlFile+".tmp")+" "+shQuote(urlFile)+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(tipctlBin(t), "auth", "login")
	c.Env = procEnv(t, "DISPLAY=", "WAYLAND_DISPLAY=", "BROWSER="+opener)
	var stdout, stderr lockedBuffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Process.Kill() }()
	var u []byte
	waitFor(t, "BROWSER to be run with the login URL", func() bool {
		u, _ = os.ReadFile(urlFile)
		return len(u) > 0
	})
	if err := ststest.SignIn(context.Background(), string(u), "alice@example.com", "alice-sandbox-pw"); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	if code := c.ProcessState.ExitCode(); code != 0 || !strings.Contains(stdout.String(), "Logged in as alice@example.com") ||
		strings.Contains(stderr.String(), "device flow") {
		t.Fatalf("login with BROWSER and no display: exit %d stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
}
