// Package e2e runs the real tipctl binary as separate processes, the way
// users and the AWS CLI run it, against a sandbox.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

var tipctl, tipctlCreds string // paths of the built binaries

// TestMain builds tipctl once. When run as BROWSER (TIPCTL_E2E_BROWSER set)
// the test binary signs in on the sandbox login page as a person would and
// follows the redirect back to tipctl's loopback listener.
func TestMain(m *testing.M) {
	if os.Getenv("TIPCTL_E2E_BROWSER") != "" {
		os.Exit(actAsBrowser(os.Args[len(os.Args)-1]))
	}
	dir, err := os.MkdirTemp("", "tipctl-e2e-")
	if err != nil {
		panic(err)
	}
	tipctl = filepath.Join(dir, "tipctl")
	tipctlCreds = filepath.Join(dir, "tipctl-creds")
	for bin, pkg := range map[string]string{tipctl: "../cmd/tipctl", tipctlCreds: "../cmd/tipctl-creds"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func actAsBrowser(authURL string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ststest.SignIn(ctx, authURL, os.Getenv("TIPCTL_TEST_USER"), os.Getenv("TIPCTL_TEST_PASSWORD")); err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	return 0
}

// env is an isolated environment for tipctl processes.
type env struct {
	t    *testing.T
	home string
	vars []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	home := t.TempDir()
	e := &env{t: t, home: home}
	e.vars = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TIPCTL_HOME=" + filepath.Join(home, "tipctl"),
		"TIPCTL_KEYRING_BACKEND=file", "DISPLAY=:0",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "aws-credentials"),
	}
	return e
}

func (e *env) with(kv ...string) []string { return append(append([]string{}, e.vars...), kv...) }

// run runs tipctl and returns stdout, stderr and the exit code.
func (e *env) run(extra []string, args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command(tipctl, args...)
	cmd.Env = e.with(extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running tipctl: %v", err)
	}
	return out.String(), errb.String(), code
}

// login configures a sandbox profile and logs in as email through the
// browser flow, with this test binary as the browser.
func (e *env) login(sb *sandbox.Sandbox, email, password string) {
	e.t.Helper()
	if _, stderr, code := e.run(nil, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		e.t.Fatalf("configure sandbox: %s", stderr)
	}
	self, _ := os.Executable()
	out, stderr, code := e.run([]string{"BROWSER=" + self, "TIPCTL_E2E_BROWSER=1", "TIPCTL_TEST_USER=" + email, "TIPCTL_TEST_PASSWORD=" + password},
		"auth", "login", "--browser")
	if code != 0 || !strings.Contains(out, "Logged in as "+email) {
		e.t.Fatalf("login: %d %q %q", code, out, stderr)
	}
}

type processCreds struct {
	Version                                    int
	AccessKeyId, SecretAccessKey, SessionToken string
	Expiration                                 string
}

// TestFiftyProcessesOneExchange: 50 credential_process calls at once with
// nothing cached cause exactly one exchange, and all get valid credentials.
func TestFiftyProcessesOneExchange(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	e.login(sb, "alice@example.com", "alice-sandbox-pw")
	sb.Env.Stats.Reset()

	const n = 50
	type res struct {
		out, errs string
		code      int
	}
	results := make(chan res, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		go func() {
			<-start
			out, errs, code := e.run(nil, "auth", "get-iam-credentials")
			results <- res{out, errs, code}
		}()
	}
	close(start)
	keys := map[string]bool{}
	for i := 0; i < n; i++ {
		r := <-results
		if r.code != 0 {
			t.Fatalf("process failed: %d %s", r.code, r.errs)
		}
		var pc processCreds
		if err := json.Unmarshal([]byte(r.out), &pc); err != nil || pc.Version != 1 {
			t.Fatalf("bad output %q", r.out)
		}
		p, ok := sb.Env.Registry.Resolve(pc.AccessKeyId, pc.SessionToken)
		if !ok || p.Context == nil || p.SessionToken != pc.SessionToken {
			t.Fatalf("credentials %s are not a valid identity-enhanced session", pc.AccessKeyId)
		}
		keys[pc.AccessKeyId] = true
	}
	if got := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); got != 1 {
		t.Fatalf("CreateTokenWithIAM calls = %d, want 1", got)
	}
	if got := sb.Env.Stats.Get("sts:AssumeRole"); got != 1 {
		t.Fatalf("identity-enhanced AssumeRole calls = %d, want 1", got)
	}
	if len(keys) != 1 {
		t.Fatalf("%d different sessions handed out, want 1", len(keys))
	}
}

// TestAWSCLICredentialProcess: the real AWS CLI uses tipctl as its
// credential_process.
func TestAWSCLICredentialProcess(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (`aws`) is not installed; `pip install awscli` to run this test")
	}
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	e.login(sb, "carol@example.com", "carol-sandbox-pw")
	conf := fmt.Sprintf("[profile tip]\nregion = us-east-1\ncredential_process = %s auth get-iam-credentials --profile default\n", tipctl)
	if err := os.WriteFile(filepath.Join(e.home, "aws-config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("aws", "sts", "get-caller-identity", "--profile", "tip", "--endpoint-url", sb.URL(), "--output", "json")
	cmd.Env = e.vars
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws: %v\n%s", err, out)
	}
	var who struct{ Arn, Account string }
	if err := json.Unmarshal(out, &who); err != nil || !strings.Contains(who.Arn, ":assumed-role/tip-enhanced/tip-") || who.Account != "123456789012" {
		t.Fatalf("caller identity %s", out)
	}
}

// TestSandboxProcessWithAWSCLI runs `tipctl sandbox` as a process and drives
// the three-step chain with the real AWS CLI against it.
func TestSandboxProcessWithAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (`aws`) is not installed; `pip install awscli` to run this test")
	}
	e := newEnv(t)
	sbCmd := exec.Command(tipctl, "sandbox", "--listen", "127.0.0.1:0")
	sbCmd.Env = e.vars
	stdout, _ := sbCmd.StdoutPipe()
	if err := sbCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sbCmd.Process.Signal(os.Interrupt); _ = sbCmd.Wait() }()
	buf := make([]byte, 256)
	n, err := stdout.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(string(buf[:n]))
	var info struct {
		IdentityCenter struct {
			ApplicationArn string `json:"application_arn"`
		} `json:"identity_center"`
		Roles struct{ Bridge, Enhanced string }
	}
	resp, err := http.Get(url + "/_sandbox/info")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	token := ststest.PasswordLogin(t, url, "alice@example.com", "alice-sandbox-pw", "openid email profile").IDToken

	aws := func(extra []string, args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append(args, "--endpoint-url", url, "--region", "us-east-1", "--output", "json")...)
		cmd.Env = append(e.with(extra...), "AWS_EC2_METADATA_DISABLED=true")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("aws %s printed %s", args[1], out)
		}
		return m
	}
	creds := func(m map[string]any) []string {
		c := m["Credentials"].(map[string]any)
		return []string{"AWS_ACCESS_KEY_ID=" + c["AccessKeyId"].(string), "AWS_SECRET_ACCESS_KEY=" + c["SecretAccessKey"].(string),
			"AWS_SESSION_TOKEN=" + c["SessionToken"].(string)}
	}
	web := aws(nil, "sts", "assume-role-with-web-identity", "--role-arn", info.Roles.Bridge, "--role-session-name", "cli", "--web-identity-token", token)
	tok := aws(creds(web), "sso-oidc", "create-token-with-iam", "--client-id", info.IdentityCenter.ApplicationArn,
		"--grant-type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "--assertion", token)
	ctxAssertion := tok["awsAdditionalDetails"].(map[string]any)["identityContext"].(string)
	enh := aws(creds(web), "sts", "assume-role", "--role-arn", info.Roles.Enhanced, "--role-session-name", "tip-cli",
		"--provided-contexts", fmt.Sprintf(`[{"ProviderArn":"arn:aws:iam::aws:contextProvider/IdentityCenter","ContextAssertion":%q}]`, ctxAssertion))
	who := aws(creds(enh), "sts", "get-caller-identity")
	if arn, _ := who["Arn"].(string); !strings.HasSuffix(arn, ":assumed-role/tip-enhanced/tip-cli") {
		t.Fatalf("caller %v", who)
	}
	// The sandbox process stops cleanly on SIGINT.
	if runtime.GOOS != "windows" {
		_ = sbCmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- sbCmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("sandbox exit: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("sandbox did not stop on SIGINT")
		}
	}
}

// TestChromiumDrivesLogin: headless Chromium types into the sandbox login
// page for `tipctl auth login`, submits, and is redirected to the loopback.
func TestChromiumDrivesLogin(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("Chromium is not installed (apt-get install -y chromium); .ci/run installs it")
	}
	wrapper, _ := filepath.Abs("../test/fixtures/browser/open-in-chromium.sh")
	if _, err := os.Stat(filepath.Join(filepath.Dir(wrapper), "node_modules")); err != nil {
		t.Skip("the browser fixture is not installed: run `npm ci --prefix test/fixtures/browser`")
	}
	sb := ststest.Sandbox(t, nil)
	e := newEnv(t)
	if _, stderr, code := e.run(nil, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	out, stderr, code := e.run([]string{"BROWSER=" + wrapper, "TIPCTL_TEST_USER=bob@example.com", "TIPCTL_TEST_PASSWORD=bob-sandbox-pw",
		"CHROMIUM=" + chromium}, "auth", "login", "--browser", "--verify", "--timeout", "90s")
	if code != 0 || !strings.Contains(out, "Logged in as bob@example.com") || !strings.Contains(out, "assumed-role/tip-enhanced/") {
		t.Fatalf("chromium login: %d\n%s\n%s", code, out, stderr)
	}
	if sb.Env.Stats.Get("idp:login") == 0 {
		t.Fatal("the sandbox login page was never submitted")
	}
}
