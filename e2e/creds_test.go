package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// runBin runs a binary with the env's variables.
func (e *env) runBin(bin string, extra []string, args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = e.with(extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// TestCredsFastPath: tipctl-creds answers fresh cached credentials by
// itself and hands everything else to tipctl, with tipctl's messages and
// exit codes.
func TestCredsFastPath(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	if _, stderr, code := e.run(nil, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	// Not logged in: tipctl's own error and exit code.
	out, stderr, code := e.runBin(tipctlCreds, nil, "auth", "get-iam-credentials")
	if code != 4 || out != "" || !strings.Contains(stderr, "tipctl auth login --profile default") {
		t.Fatalf("not logged in: %d %q %q", code, out, stderr)
	}
	e.login(sb, "alice@example.com", "alice-sandbox-pw")

	// A miss goes to tipctl, which mints; the next call is a hit.
	first, stderr, code := e.runBin(tipctlCreds, nil, "auth", "get-iam-credentials", "--profile", "default")
	if code != 0 {
		t.Fatalf("miss: %d %s", code, stderr)
	}
	// Alone in a directory, without tipctl anywhere, it still answers a hit.
	lone := filepath.Join(t.TempDir(), "tipctl-creds")
	b, _ := os.ReadFile(tipctlCreds)
	if err := os.WriteFile(lone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	noPath := []string{"PATH=/nonexistent"}
	calls := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM")
	hit, stderr, code := e.runBin(lone, noPath, "auth", "get-iam-credentials", "-p", "default")
	if code != 0 || hit != first {
		t.Fatalf("hit: %d %q (first %q) %s", code, hit, first, stderr)
	}
	if sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != calls {
		t.Fatal("the hit made an exchange")
	}
	var pc processCreds
	if json.Unmarshal([]byte(hit), &pc) != nil || pc.Version != 1 || pc.Expiration == "" {
		t.Fatalf("hit output %q", hit)
	}
	// Anything it does not serve itself needs tipctl: a clear message without it.
	_, stderr, code = e.runBin(lone, noPath, "auth", "get-iam-credentials", "--force-new")
	if code != 1 || !strings.Contains(stderr, "tipctl-creds: tipctl is neither next to tipctl-creds nor on PATH") {
		t.Fatalf("fallback without tipctl: %d %q", code, stderr)
	}

	// S3 Access Grants: a miss mints through tipctl, a sub-prefix is a hit.
	if _, stderr, code := e.runBin(tipctlCreds, nil, "s3ag", "get-data-access", "s3://analytics-data/emea/", "--permission", "READ"); code != 0 {
		t.Fatalf("s3ag miss: %s", stderr)
	}
	gda := sb.Env.Stats.Get("s3:GetDataAccess")
	out, stderr, code = e.runBin(lone, noPath, "s3ag", "get-data-access", "s3://analytics-data/emea/2025/", "--permission=READ")
	if code != 0 || !strings.Contains(out, `"Version":1`) || sb.Env.Stats.Get("s3:GetDataAccess") != gda {
		t.Fatalf("s3ag hit: %d %q %s", code, out, stderr)
	}
	// A refusal is tipctl's, with its exit code.
	out, stderr, code = e.runBin(tipctlCreds, nil, "s3ag", "get-data-access", "s3://analytics-data/apac/", "--permission", "READ")
	if code != 5 || out != "" || !strings.Contains(stderr, "no access grant of alice@example.com covers") {
		t.Fatalf("s3ag refusal: %d %q %q", code, out, stderr)
	}
	// Flags it does not know (--debug) go to tipctl.
	if _, stderr, code := e.runBin(tipctlCreds, nil, "auth", "get-iam-credentials", "--debug", "--force-new"); code != 0 || !strings.Contains(stderr, "[debug]") {
		t.Fatalf("--debug: %d %q", code, stderr)
	}
}

// TestAWSCLIWithCredsFastPath: the AWS CLI uses tipctl-creds as its
// credential_process.
func TestAWSCLIWithCredsFastPath(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (`aws`) is not installed; `pip install awscli` to run this test")
	}
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	e.login(sb, "alice@example.com", "alice-sandbox-pw")
	conf := "[profile tip]\nregion = us-east-1\ncredential_process = " + tipctlCreds + " auth get-iam-credentials --profile default\n"
	if err := os.WriteFile(filepath.Join(e.home, "aws-config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // a miss through tipctl, then a hit
		cmd := exec.Command("aws", "sts", "get-caller-identity", "--profile", "tip", "--endpoint-url", sb.URL(), "--output", "json")
		cmd.Env = e.vars
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), ":assumed-role/tip-enhanced/tip-") {
			t.Fatalf("aws run %d: %v\n%s", i, err, out)
		}
	}
	if n := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); n != 1 {
		t.Fatalf("%d exchanges for two AWS CLI runs", n)
	}
}

// TestAWSProfileUsesTheFastPath: `configure aws-profile` writes tipctl-creds
// into credential_process when it is installed beside tipctl.
func TestAWSProfileUsesTheFastPath(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	e.login(sb, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := e.run(nil, "configure", "aws-profile", "fast", "--yes"); code != 0 {
		t.Fatal(stderr)
	}
	b, err := os.ReadFile(filepath.Join(e.home, "aws-config"))
	if err != nil || !strings.Contains(string(b), "credential_process = "+tipctlCreds+" auth get-iam-credentials --profile default") {
		t.Fatalf("AWS config:\n%s (%v)", b, err)
	}
	out, stderr, code := e.run(nil, "generate", "aws-config", "--aws-profile", "fast")
	if code != 0 || !strings.Contains(out, tipctlCreds+" auth get-iam-credentials --profile default") {
		t.Fatalf("generate aws-config: %d %q %q", code, out, stderr)
	}
}
