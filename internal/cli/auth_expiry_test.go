package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestExpiredRefreshTokenAsksToLogInAgain: once the IdP session has expired
// the credential_process fails with exit code 4, one line telling the user
// to log in again, and nothing on stdout; the stored login is kept, so
// `auth status` still shows it and says it cannot renew; it exits 4 once
// nothing is usable without a new login.
func TestExpiredRefreshTokenAsksToLogInAgain(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := run(t, "auth", "get-iam-credentials"); code != 0 {
		t.Fatal(stderr) // spends the login's id_token
	}
	// The refresh token (720h in the default world) expires.
	sb.Env.Advance(721 * time.Hour)
	out, stderr, code := run(t, "auth", "get-iam-credentials", "--force-new")
	if code != ExitAuth || out != "" {
		t.Fatalf("code %d stdout %q stderr %q", code, out, stderr)
	}
	if !strings.Contains(stderr, "expired or was revoked") || !strings.Contains(stderr, "tipctl auth login --profile default") ||
		strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("stderr %q", stderr)
	}
	// status still shows the login and tells the truth about refreshing;
	// the credentials minted before are still good (this machine's clock
	// did not move), so the session is usable for now: exit 0.
	out, _, code = run(t, "auth", "status")
	if code != ExitOK || !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "refreshable: no, the IdP refused the refresh token") {
		t.Fatalf("status after the failed refresh: %d %q", code, out)
	}
	out, _, code = run(t, "auth", "status", "-o", "json")
	if code != ExitOK || !strings.Contains(out, `"can_refresh": false`) || !strings.Contains(out, `"usable": true`) || !strings.Contains(out, `"refresh_rejected_at"`) {
		t.Fatalf("status json after the failed refresh: %d %q", code, out)
	}
	// Once those credentials are within the mandatory window, nothing is
	// usable without a login: exit 4.
	out, _, code = runAt(t, time.Now().Add(55*time.Minute), "auth", "status")
	if code != ExitAuth || !strings.Contains(out, "Usable:       no") {
		t.Fatalf("status with no usable session: %d %q", code, out)
	}
}
