package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/diag"
)

// dtResult is one CLI invocation's outcome.
type dtResult struct {
	code           int
	stdout, stderr string
}

// dtRun runs tipctl with args, env as the whole environment and stdin.
func dtRun(t *testing.T, env map[string]string, stdin string, args ...string) dtResult {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code := Run(context.Background(), app, args)
	return dtResult{code, out.String(), errb.String()}
}

// dtIsolate points tipctl's config at an empty directory.
func dtIsolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(config.EnvHome, dir)
	t.Setenv(config.EnvProfile, "")
	return dir
}

func dtSandbox(t *testing.T, edit func(string) string) *sandbox.Sandbox {
	t.Helper()
	y := string(world.DefaultYAML())
	if edit != nil {
		y = edit(y)
	}
	return ststest.Sandbox(t, []byte(y))
}

func dtLogin(t *testing.T, sb *sandbox.Sandbox, user string) string {
	t.Helper()
	return ststest.PasswordLogin(t, sb.URL(), user+"@example.com", user+"-sandbox-pw", "openid email profile groups").IDToken
}

// dtARNs are the diag flags naming sb's application and roles.
func dtARNs(sb *sandbox.Sandbox) []string {
	return []string{"--application-arn", sb.Env.World.IdentityCenter.Applications[0].Arn,
		"--bridge-role-arn", "arn:aws:iam::123456789012:role/tip-bridge",
		"--enhanced-role-arn", "arn:aws:iam::123456789012:role/tip-enhanced",
		"--endpoint-url", sb.URL(), "--region", "us-east-1"}
}

var dtAdminEnv = map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}

func dtReport(t *testing.T, stdout string) *diag.Report {
	t.Helper()
	var rep diag.Report
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a diag report: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout has more than the report:\n%s", stdout)
	}
	return &rep
}

func TestDiagJSONAllPass(t *testing.T) {
	dtIsolate(t)
	sb := dtSandbox(t, nil)
	args := append([]string{"diag", "--output", "json", "--services", "s3ag,quicksight", "--jwt", dtLogin(t, sb, "alice")}, dtARNs(sb)...)
	r := dtRun(t, dtAdminEnv, "", args...)
	if r.code != ExitOK {
		t.Fatalf("exit %d\nstderr: %s\nstdout: %s", r.code, r.stderr, r.stdout)
	}
	rep := dtReport(t, r.stdout)
	if len(rep.Checks) != len(diag.CheckIDs()) || rep.Summary.Pass != len(rep.Checks) || !rep.Summary.OK || !rep.Summary.TokenConsumed {
		t.Fatalf("report %+v", rep.Summary)
	}
	if !strings.Contains(r.stderr, "exchanges the token") {
		t.Fatalf("stderr does not warn about the dry run: %q", r.stderr)
	}
}

func TestDiagFailureExitAndText(t *testing.T) {
	dtIsolate(t)
	sb := dtSandbox(t, func(y string) string {
		return strings.Replace(y, "    - name: tipctl-sandbox-app\n      status: ENABLED\n", "    - name: tipctl-sandbox-app\n      status: DISABLED\n", 1)
	})
	appArn := sb.Env.World.IdentityCenter.Applications[0].Arn

	r := dtRun(t, dtAdminEnv, "", append([]string{"diag", "-o", "json", "--jwt", dtLogin(t, sb, "alice")}, dtARNs(sb)...)...)
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s", r.code, ExitFailure, r.stderr)
	}
	rep := dtReport(t, r.stdout)
	if c := rep.Find("idc.application"); c.Status != diag.Fail || !strings.Contains(c.Fix, "update-application --application-arn "+appArn+" --status ENABLED") {
		t.Fatalf("idc.application %+v", c)
	}
	if !strings.Contains(r.stderr, "tipctl: diag:") || !strings.Contains(r.stderr, "idc.application") {
		t.Fatalf("stderr %q", r.stderr)
	}

	// Text: a checklist with the fix under the failed check; no colour off a terminal.
	r = dtRun(t, dtAdminEnv, "", append([]string{"diag", "--jwt", dtLogin(t, sb, "alice")}, dtARNs(sb)...)...)
	if r.code != ExitFailure {
		t.Fatalf("exit %d", r.code)
	}
	lines := strings.Split(r.stdout, "\n")
	var failLine int = -1
	for i, l := range lines {
		if strings.HasPrefix(l, "  FAIL  idc.application ") {
			failLine = i
		}
	}
	if failLine < 0 || !strings.Contains(lines[failLine+1], "fix: aws sso-admin update-application") {
		t.Fatalf("text output:\n%s", r.stdout)
	}
	if !strings.HasPrefix(lines[0], "  PASS  token.structure") || strings.Contains(r.stdout, "\x1b[") {
		t.Fatalf("text output:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "— start with idc.application") || strings.Contains(r.stdout, "exchanged the token") {
		t.Fatalf("summary line missing:\n%s", r.stdout)
	}
}

func TestDiagColour(t *testing.T) {
	dtIsolate(t)
	sb := dtSandbox(t, nil)
	old := diagIsTerminal
	diagIsTerminal = func(io.Writer) bool { return true }
	t.Cleanup(func() { diagIsTerminal = old })
	base := append([]string{"diag", "--no-e2e", "--jwt", dtLogin(t, sb, "alice")}, dtARNs(sb)...)

	r := dtRun(t, dtAdminEnv, "", base...)
	if r.code != ExitOK || !strings.Contains(r.stdout, "\x1b[32mPASS\x1b[0m") {
		t.Fatalf("no colour on a terminal (exit %d):\n%q", r.code, r.stdout)
	}
	env := map[string]string{"NO_COLOR": "1"}
	for k, v := range dtAdminEnv {
		env[k] = v
	}
	for name, res := range map[string]dtResult{
		"NO_COLOR":   dtRun(t, env, "", base...),
		"--no-color": dtRun(t, dtAdminEnv, "", append([]string{"--no-color"}, base...)...),
	} {
		if res.code != ExitOK || strings.Contains(res.stdout, "\x1b[") || !strings.Contains(res.stdout, "PASS  token.structure") {
			t.Fatalf("%s: exit %d, colour in:\n%q", name, res.code, res.stdout)
		}
	}
}

func TestDiagTokenInputs(t *testing.T) {
	dtIsolate(t)
	sb := dtSandbox(t, nil)
	tok := dtLogin(t, sb, "alice")
	r := dtRun(t, dtAdminEnv, tok+"\n", append([]string{"diag", "-o", "json", "--no-e2e", "--jwt-file", "-"}, dtARNs(sb)...)...)
	if r.code != ExitOK || dtReport(t, r.stdout).Summary.TokenConsumed {
		t.Fatalf("--jwt-file -: exit %d %s", r.code, r.stderr)
	}
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := dtRun(t, dtAdminEnv, "", append([]string{"diag", "-o", "json", "--no-e2e", "--jwt-file", f}, dtARNs(sb)...)...); r.code != ExitOK {
		t.Fatalf("--jwt-file FILE: exit %d %s", r.code, r.stderr)
	}
	if r := dtRun(t, dtAdminEnv, "", "diag", "--jwt", tok, "--jwt-file", f); r.code != ExitUsage {
		t.Fatalf("--jwt with --jwt-file: exit %d", r.code)
	}
	if r := dtRun(t, dtAdminEnv, "", "diag", "--jwt-file", filepath.Join(t.TempDir(), "missing")); r.code != ExitUsage || !strings.Contains(r.stderr, "cannot read") {
		t.Fatalf("missing file: exit %d %s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, tok) {
		t.Fatal("the token was printed")
	}
	// No token at all: the checklist says so, and diag fails.
	r = dtRun(t, dtAdminEnv, "", append([]string{"diag", "-o", "json"}, dtARNs(sb)...)...)
	if r.code != ExitFailure || dtReport(t, r.stdout).Find("token.structure").Status != diag.Fail {
		t.Fatalf("no token: exit %d\n%s", r.code, r.stdout)
	}
}

func TestDiagProfileDefaults(t *testing.T) {
	dir := dtIsolate(t)
	sb := dtSandbox(t, nil)
	cfg, err := config.LoadFile(filepath.Join(dir, config.ConfigFileName))
	if err != nil {
		t.Fatal(err)
	}
	p := &config.Profile{Name: "sb", Provider: config.ProviderSandbox, Issuer: sb.URL() + "/idp", ClientID: "tipctl",
		ApplicationARN: sb.Env.World.IdentityCenter.Applications[0].Arn, BridgeRoleARN: "arn:aws:iam::123456789012:role/tip-bridge",
		EnhancedRoleARN: "arn:aws:iam::123456789012:role/tip-enhanced", Region: "us-east-1", EndpointURL: sb.URL(),
		SandboxAdminKeyID: "test", SandboxAdminSecretKey: "test"}
	if err := cfg.Set(p); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Save(); err != nil {
		t.Fatal(err)
	}
	// Everything but the token comes from the profile, including the admin keys.
	r := dtRun(t, map[string]string{}, "", "--profile", "sb", "diag", "-o", "json", "--services", "s3ag", "--jwt", dtLogin(t, sb, "alice"))
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stderr, r.stdout)
	}
	if rep := dtReport(t, r.stdout); rep.Summary.Pass != len(diag.CheckIDs()) {
		t.Fatalf("summary %+v", rep.Summary)
	}
	// TIPCTL_PROFILE selects it too; a flag overrides the profile's value.
	r = dtRun(t, map[string]string{config.EnvProfile: "sb"}, "", "diag", "-o", "json", "--no-e2e", "--jwt", dtLogin(t, sb, "alice"),
		"--enhanced-role-arn", "arn:aws:iam::123456789012:role/tip-no-setcontext")
	if r.code != ExitFailure || dtReport(t, r.stdout).Find("iam.enhanced.trust").Status != diag.Fail {
		t.Fatalf("override: exit %d\n%s", r.code, r.stdout)
	}
	if r := dtRun(t, map[string]string{}, "", "--profile", "nope", "diag", "--jwt", "x"); r.code != ExitConfig {
		t.Fatalf("unknown profile: exit %d %s", r.code, r.stderr)
	}
}

// TestDiagStoredLogin diagnoses the profile's stored login with no flag at
// all, and leaves the session usable although the dry run spent its token.
func TestDiagStoredLogin(t *testing.T) {
	sb := dtSandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatalf("configure sandbox: %d %s", code, stderr)
	}
	// Not logged in yet: the checklist says there is no token.
	out, stderr, code := run(t, "diag", "-o", "json", "--no-e2e")
	if code != ExitFailure || dtReport(t, out).Find("token.structure").Status != diag.Fail || !strings.Contains(stderr, "auth login") {
		t.Fatalf("before login: %d %s", code, stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatalf("login: %d %s", code, stderr)
	}
	out, stderr, code = run(t, "diag", "-o", "json", "--services", "quicksight")
	if code != ExitOK {
		t.Fatalf("diag: %d %s\n%s", code, stderr, out)
	}
	if rep := dtReport(t, out); rep.Summary.Pass != len(diag.CheckIDs()) || !rep.Summary.TokenConsumed {
		t.Fatalf("summary %+v", rep.Summary)
	}
	if !strings.Contains(stderr, "refreshed it through the IdP") {
		t.Fatalf("stderr %q", stderr)
	}
	exchanges := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM")
	out, stderr, code = run(t, "auth", "get-iam-credentials")
	if code != 0 || !strings.Contains(out, `"AccessKeyId"`) {
		t.Fatalf("get-iam-credentials after diag: %d %s", code, stderr)
	}
	if n := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); n != exchanges+1 {
		t.Fatalf("exchanges %d → %d", exchanges, n)
	}
	// And diag again right away: the stored token is fresh.
	if out, stderr, code := run(t, "diag", "-o", "json"); code != ExitOK {
		t.Fatalf("second diag: %d %s\n%s", code, stderr, out)
	}
}

// TestDiagServices (E5): --services checks the scopes against the services
// used; without it those checks say what to pass; an unknown service is a
// usage error.
func TestDiagServices(t *testing.T) {
	dtIsolate(t)
	sb := dtSandbox(t, nil)
	r := dtRun(t, dtAdminEnv, "", append([]string{"diag", "-o", "json", "--no-e2e", "--jwt", dtLogin(t, sb, "alice")}, dtARNs(sb)...)...)
	rep := dtReport(t, r.stdout)
	for _, id := range []string{"idc.scope.services", "s3ag.instance"} {
		if c := rep.Find(id); r.code != ExitOK || c.Status != diag.Skip || !strings.Contains(c.Fix, "--services") {
			t.Fatalf("%s without --services: exit %d %+v", id, r.code, c)
		}
	}
	r = dtRun(t, dtAdminEnv, "", append([]string{"diag", "-o", "json", "--no-e2e", "--services", "s3ag,qbusiness", "--jwt", dtLogin(t, sb, "alice")}, dtARNs(sb)...)...)
	if c := dtReport(t, r.stdout).Find("idc.scope.services"); r.code != ExitFailure || c.Status != diag.Fail || !strings.Contains(c.Message, "Q Business") {
		t.Fatalf("qbusiness without its scope: exit %d %+v", r.code, c)
	}
	r = dtRun(t, dtAdminEnv, "", append([]string{"diag", "--services", "s3,athena", "--jwt", "x"}, dtARNs(sb)...)...)
	if r.code != ExitUsage || !strings.Contains(r.stderr, `unknown service "s3"`) || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("unknown service: exit %d %q", r.code, r.stderr)
	}
}
