package cli

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCtrlCDuringLogin: Ctrl-C while login waits for the browser ends
// tipctl with 130 and a plain message, not "context canceled".
func TestCtrlCDuringLogin(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatalf("configure sandbox: %s", stderr)
	}
	for _, flow := range [][]string{{"--no-browser"}, {"--device"}} {
		c := exec.Command(tipctlBin(t), append([]string{"auth", "login"}, flow...)...)
		c.Env = procEnv(t)
		var stderr lockedBuffer
		c.Stderr = &stderr
		var stdout bytes.Buffer
		c.Stdout = &stdout
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the login prompt", func() bool { return strings.Contains(stderr.String(), "http") })
		if err := c.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		_ = c.Wait()
		got := stderr.String()
		last := got[strings.LastIndex(strings.TrimSuffix(got, "\n"), "\n")+1:]
		if code := c.ProcessState.ExitCode(); code != ExitInterrupted || last != "tipctl: interrupted\n" || stdout.Len() != 0 ||
			strings.Contains(got, "context canceled") {
			t.Errorf("login %v after Ctrl-C: exit %d stdout %q stderr %q", flow, code, stdout.String(), got)
		}
	}
}
