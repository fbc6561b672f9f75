package cli

import (
	"strings"
	"testing"

	"github.com/tipctl/tipctl/tip/diag"
)

// TestDiagWithoutAdminCredentials (E1): with no administrator credentials
// diag says so once, in one line, skips what needs them (no FAIL chain of
// IMDS errors, no SDK log line) and still runs the token checks and the
// dry run.
func TestDiagWithoutAdminCredentials(t *testing.T) {
	dtIsolate(t)
	sb := dtSandbox(t, nil)
	env := map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": t.TempDir() + "/none", "AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none"}
	t.Setenv("AWS_CONFIG_FILE", env["AWS_CONFIG_FILE"])
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", env["AWS_SHARED_CREDENTIALS_FILE"])
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range credentialVars {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_PROFILE", "")
	args := append([]string{"diag", "--services", "s3ag", "--jwt", dtLogin(t, sb, "alice")}, dtARNs(sb)...)
	r := dtRun(t, env, "", append(args, "-o", "json")...)
	rep := dtReport(t, r.stdout)
	if rep.Checks[0].ID != "aws.credentials" || rep.Checks[0].Status != diag.Warn || !strings.Contains(rep.Checks[0].Fix, "AWS_PROFILE") ||
		!strings.Contains(rep.Checks[0].Fix, "base_aws_profile") {
		t.Fatalf("first result %+v", rep.Checks[0])
	}
	for _, c := range rep.Checks[1:] {
		switch {
		case strings.HasPrefix(c.ID, "idc.") || strings.HasPrefix(c.ID, "iam.") || strings.HasPrefix(c.ID, "s3ag."):
			if c.Status != diag.Skip {
				t.Errorf("%s: %s %s", c.ID, c.Status, c.Message)
			}
		case c.Status != diag.Pass:
			t.Errorf("%s: %s %s (the token and the dry run need no administrator credentials)", c.ID, c.Status, c.Message)
		}
		if strings.Contains(c.Message, "IMDS") || strings.Contains(c.Message, "169.254") {
			t.Errorf("%s mentions IMDS: %s", c.ID, c.Message)
		}
	}
	if rep.Summary.Fail != 0 || strings.Contains(r.stderr, "SDK ") {
		t.Fatalf("summary %+v stderr %q", rep.Summary, r.stderr)
	}
}

// TestDiagMissingRole (E2): a misspelled bridge role is the first failure,
// and no fix grants or trusts the role that does not exist.
func TestDiagMissingRole(t *testing.T) {
	dtIsolate(t)
	sb := dtSandbox(t, nil)
	args := append([]string{"diag", "-o", "json", "--no-e2e", "--jwt", dtLogin(t, sb, "alice")}, dtARNs(sb)...)
	for i, a := range args {
		if a == "arn:aws:iam::123456789012:role/tip-bridge" {
			args[i] = "arn:aws:iam::123456789012:role/tip-brige"
		}
	}
	r := dtRun(t, dtAdminEnv, "", args...)
	rep := dtReport(t, r.stdout)
	if r.code != ExitFailure || rep.Summary.FirstFailure != "iam.roles" || !strings.Contains(rep.Checks[0].Message, "tip-brige does not exist") {
		t.Fatalf("exit %d first failure %q: %+v", r.code, rep.Summary.FirstFailure, rep.Checks[0])
	}
	for _, c := range rep.Checks[1:] {
		if strings.Contains(c.Fix, "tip-brige") && !strings.HasPrefix(c.Fix, "fix iam.roles first") {
			t.Errorf("%s names the missing role in its fix: %s", c.ID, c.Fix)
		}
	}
}

// TestDiagTextAfterRefresh (E3): after the dry run used the stored token
// and diag refreshed it, the report does not tell the user to log in.
func TestDiagTextAfterRefresh(t *testing.T) {
	sb := dtSandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}
	out, stderr, code := run(t, "diag")
	if code != ExitOK || strings.Contains(out, "log in again") || strings.Contains(stderr, "log in again") ||
		!strings.Contains(stderr, "the login works as before") {
		t.Fatalf("diag: %d\n%s\n%s", code, out, stderr)
	}
	if out, stderr, code := run(t, "auth", "get-iam-credentials"); code != 0 || !strings.Contains(out, "AccessKeyId") {
		t.Fatalf("right after diag: %d %s", code, stderr)
	}
}
