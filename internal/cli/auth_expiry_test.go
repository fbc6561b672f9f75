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
// `auth status` still works.
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
	if out, _, code := run(t, "auth", "status"); code != 0 || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("status after the failed refresh: %d %q", code, out)
	}
}
