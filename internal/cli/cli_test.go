package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// run executes tipctl in-process and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv}
	code := Run(context.Background(), app, args)
	return out.String(), errb.String(), code
}

// home gives the test its own tipctl home with the file secret store.
func home(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("TIPCTL_HOME", dir)
	t.Setenv("TIPCTL_KEYRING_BACKEND", "file")
	t.Setenv("TIPCTL_PROFILE", "")
	for _, v := range []string{"SSH_CONNECTION", "SSH_TTY", "WSL_DISTRO_NAME"} {
		t.Setenv(v, "")
	}
	t.Setenv("DISPLAY", ":0") // the browser flow, not the device flow
	return dir
}

// loginAs makes the login flow's "browser" sign in as a person would on
// the sandbox login page, then follow the redirect to the loopback.
func loginAs(t *testing.T, email, password string) {
	t.Helper()
	prev := openBrowser
	openBrowser = func(u string) error { return ststest.SignIn(context.Background(), u, email, password) }
	t.Cleanup(func() { openBrowser = prev })
}

type processCreds struct {
	Version                                    int
	AccessKeyId, SecretAccessKey, SessionToken string
	Expiration                                 string
}

func TestLoginAndCredentialProcess(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatalf("configure sandbox: %d %s", code, stderr)
	}
	// Before login: a clear error and exit code 4.
	out, stderr, code := run(t, "auth", "get-iam-credentials")
	if code != ExitAuth || out != "" || !strings.Contains(stderr, "tipctl auth login --profile default") {
		t.Fatalf("before login: code %d stdout %q stderr %q", code, out, stderr)
	}

	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	out, stderr, code = run(t, "auth", "login")
	if code != 0 || !strings.Contains(out, "Logged in as alice@example.com") {
		t.Fatalf("login: %d %q %q", code, out, stderr)
	}
	if n := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); n != 0 {
		t.Fatalf("login minted AWS credentials eagerly (%d exchanges)", n)
	}

	out, stderr, code = run(t, "auth", "get-iam-credentials")
	if code != 0 {
		t.Fatalf("get-iam-credentials: %d %s", code, stderr)
	}
	var pc processCreds
	if err := json.Unmarshal([]byte(out), &pc); err != nil || pc.Version != 1 || !strings.HasPrefix(pc.AccessKeyId, "ASIA") || pc.Expiration == "" {
		t.Fatalf("credential_process output %q: %v", out, err)
	}
	if stderr != "" {
		t.Fatalf("credential_process wrote to stderr: %q", stderr)
	}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(pc.AccessKeyId, pc.SecretAccessKey, pc.SessionToken)}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(who.Arn), ":assumed-role/tip-enhanced/tip-") {
		t.Fatalf("caller %s", aws.ToString(who.Arn))
	}

	// Cached: same keys, no new exchange.
	out2, _, _ := run(t, "auth", "get-iam-credentials")
	var pc2 processCreds
	_ = json.Unmarshal([]byte(out2), &pc2)
	if pc2.AccessKeyId != pc.AccessKeyId || sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != 1 {
		t.Fatalf("second call was not served from the cache")
	}

	// Forced: renewed with Identity Center's refresh token (D4), so the
	// used id_token is not refreshed at the IdP and no new bridge session
	// is made (the IdP path is TestRenewalUsesIdentityCenterRefreshToken's
	// fallback).
	tokenCalls := sb.Env.Stats.Get("idp:token")
	out3, stderr, code := run(t, "auth", "get-iam-credentials", "--force-new")
	var pc3 processCreds
	_ = json.Unmarshal([]byte(out3), &pc3)
	if code != 0 || pc3.AccessKeyId == pc.AccessKeyId {
		t.Fatalf("--force-new: %d %s", code, stderr)
	}
	if sb.Env.Stats.Get("idp:token") != tokenCalls || sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != 2 ||
		sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity") != 1 {
		t.Fatalf("force-new did not renew with the Identity Center refresh token alone: %v", sb.Env.Stats.Snapshot())
	}

	out, _, code = run(t, "auth", "status", "-o", "json")
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st["logged_in"] != true || st["email"] != "alice@example.com" {
		t.Fatalf("status: %d %s", code, out)
	}
	if strings.Contains(out, pc3.SecretAccessKey) || strings.Contains(out, pc3.SessionToken) {
		t.Fatal("status printed a secret")
	}

	out, _, code = run(t, "auth", "logout")
	if code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("logout: %d %q", code, out)
	}
	_, stderr, code = run(t, "auth", "get-iam-credentials")
	if code != ExitAuth || !strings.Contains(stderr, "not logged in") {
		t.Fatalf("after logout: %d %q", code, stderr)
	}
}

func TestBadInputGetsOneLineAndExitCode(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	dir := home(t)

	_, stderr, code := run(t, "auth", "get-iam-credentials", "--profile", "nope")
	if code != ExitConfig || !strings.Contains(stderr, `profile "nope" not found`) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("missing profile: %d %q", code, stderr)
	}
	_, stderr, code = run(t, "configure", "sandbox", "--endpoint", "http://127.0.0.1:1")
	if code != ExitNetwork || !strings.Contains(stderr, "no sandbox answers") {
		t.Fatalf("unreachable sandbox: %d %q", code, stderr)
	}
	_, stderr, code = run(t, "configure", "idp", "--provider", "okta", "--config", `{"client_id": "0oa1"}`)
	if code != ExitConfig || !strings.Contains(stderr, "missing values") {
		t.Fatalf("missing values without a TTY: %d %q", code, stderr)
	}
	_, stderr, code = run(t, "auth", "status", "--output", "yaml")
	if code != ExitUsage {
		t.Fatalf("bad --output: %d %q", code, stderr)
	}

	// A corrupt store: a clear message and a way out, never a crash.
	run(t, "configure", "sandbox", "--endpoint", sb.URL())
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "state", "secrets", "*"))
	corrupted := 0
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		if err := os.WriteFile(f, []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
		corrupted++
	}
	if corrupted == 0 {
		t.Fatalf("no secret files found under %s", dir)
	}
	out, stderr, code := run(t, "auth", "get-iam-credentials")
	if code == 0 || out != "" || !strings.Contains(stderr, "tipctl auth logout") {
		t.Fatalf("corrupt store: %d %q %q", code, out, stderr)
	}
	if _, stderr, code := run(t, "auth", "logout"); code != 0 {
		t.Fatalf("logout of a corrupt store: %d %q", code, stderr)
	}
	if out, _, code := run(t, "auth", "status"); code != ExitAuth || !strings.Contains(out, "not logged in") {
		t.Fatalf("status after logout: exit %d %q, want %d and not logged in", code, out, ExitAuth)
	}
}
