package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/config"
)

// ptyAnswers is a python3 program that runs tipctl on a pseudo-terminal
// and answers each prompt ("WORD ...: " at the end of the output) from
// argv[1], "WORD=A|B|C;...": the answers to the prompts that start with
// WORD, in turn. An answer EOF sends Ctrl-D (end of input).
const ptyAnswers = `import os, pty, sys
answers = {}
for a in sys.argv[1].split(";"):
    if a:
        k, v = a.split("=", 1)
        answers[k] = v.split("|")
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
asked = 0
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    last = out.decode(errors="replace").split("\n")[-1]
    if last.endswith(": ") and out.count(b": ") > asked:
        asked = out.count(b": ")
        key = last.split(" ", 1)[0]
        queue = answers.get(key, [])
        a = queue.pop(0) if queue else ""
        os.write(fd, b"\x04" if a == "EOF" else a.encode() + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))`

func runOnPTY(t *testing.T, dir, answers string, args ...string) (string, int) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 (for a pseudo-terminal) is not installed")
		}
		t.Skip("python3 (for a pseudo-terminal) is not installed")
	}
	c := exec.Command(py, append([]string{"-c", ptyAnswers, answers, tipctlBin(t)}, args...)...)
	c.Env = append(os.Environ(), "TIPCTL_HOME="+dir, "NO_COLOR=1")
	out, _ := c.CombinedOutput()
	return string(out), c.ProcessState.ExitCode()
}

// TestConfigureIdPChecksEachAnswer (C2): on a terminal each answer is
// judged as it is given, and a wrong one is asked again with one line
// saying why: a value given with --config that is wrong, an issuer that
// is not a URL, a client id with a space, a role ARN given as the
// application ARN and the other way round. Right after the issuer is
// given, its discovery document is fetched: an unreachable one is said
// with its reason and may be refused (then asked again); a reachable one
// is reported with what was found.
func TestConfigureIdPChecksEachAnswer(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	dir := t.TempDir()
	issuer := sb.URL() + "/idp"
	answers := strings.Join([]string{
		"region=us-east-1",
		"issuer=not a url|http://127.0.0.1:1/nowhere|" + issuer,
		"keep=n",
		"client_id=my client|tipctl",
		"application_arn=arn:aws:iam::123456789012:role/tip-bridge|" + config.SandboxApplicationARN,
		"bridge_role_arn=" + config.SandboxApplicationARN + "|" + config.SandboxBridgeRoleARN,
		"enhanced_role_arn=arn:aws:sts::123456789012:assumed-role/tip-enhanced/x|" + config.SandboxEnhancedRoleARN,
	}, ";")
	out, code := runOnPTY(t, dir, answers, "configure", "idp", "--provider", "oidc", "--profile", "checked", "--config", `{"region": "mars"}`)
	if code != 0 || !strings.Contains(out, "saved") {
		t.Fatalf("configure: %d\n%s", code, out)
	}
	for _, want := range []string{
		`✗ region: "mars" is not an AWS region`,
		`✗ issuer: `, // not a URL
		"✗ cannot reach the identity provider at http://127.0.0.1:1/nowhere", // unreachable, said with its reason
		"keep the issuer http://127.0.0.1:1/nowhere anyway? [y/N]: ",
		"✓ found issuer " + issuer + ": token endpoint " + issuer + "/",
		`✗ client_id: "my client" must not contain whitespace`,
		`✗ application_arn: "arn:aws:iam::123456789012:role/tip-bridge" is an IAM ARN; use the Identity Center application's ARN`,
		`✗ bridge_role_arn: "` + config.SandboxApplicationARN + `" is not an IAM role ARN`,
		`✗ enhanced_role_arn: "arn:aws:sts::123456789012:assumed-role/tip-enhanced/x" is an assumed-role session ARN`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", out)
	}
	// Each problem is one line, asked again at once: the issuer prompt
	// came three times.
	if n := strings.Count(out, "issuer (OIDC issuer URL"); n != 3 {
		t.Fatalf("issuer asked %d times:\n%s", n, out)
	}
	cfg, err := config.LoadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Get("checked")
	if err != nil || p.Issuer != issuer || p.ClientID != "tipctl" || p.ApplicationARN != config.SandboxApplicationARN ||
		p.BridgeRoleARN != config.SandboxBridgeRoleARN || p.EnhancedRoleARN != config.SandboxEnhancedRoleARN || p.Region != "us-east-1" {
		t.Fatalf("profile %+v: %v", p, err)
	}
}

// TestConfigureIdPKeepsAnswers (C2): when the input ends before every
// value is given, nothing is saved to config.yaml but the answers given
// are kept; the next run offers to resume them and asks only the rest.
func TestConfigureIdPKeepsAnswers(t *testing.T) {
	dir := t.TempDir()
	first := "issuer=http://127.0.0.1:1/idp;keep=y;client_id=tipctl;application_arn=EOF"
	out, code := runOnPTY(t, dir, first, "configure", "idp", "--provider", "oidc", "--profile", "draft")
	if code != ExitConfig || !strings.Contains(out, "your answers are kept in") || !strings.Contains(out, "again to resume") {
		t.Fatalf("interrupted configure: %d\n%s", code, out)
	}
	if cfg, err := config.LoadFile(filepath.Join(dir, "config.yaml")); err == nil {
		if _, err := cfg.Get("draft"); err == nil {
			t.Fatal("an unfinished profile was saved")
		}
	}
	second := strings.Join([]string{"resume=y", "application_arn=" + config.SandboxApplicationARN,
		"bridge_role_arn=" + config.SandboxBridgeRoleARN, "enhanced_role_arn=" + config.SandboxEnhancedRoleARN, "region=eu-west-1"}, ";")
	out, code = runOnPTY(t, dir, second, "configure", "idp", "--profile", "draft")
	if code != 0 || !strings.Contains(out, "resume the answers you gave on") || strings.Contains(out, "issuer (") || strings.Contains(out, "client_id (") {
		t.Fatalf("resumed configure: %d\n%s", code, out)
	}
	cfg, err := config.LoadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := cfg.Get("draft"); err != nil || p.Issuer != "http://127.0.0.1:1/idp" || p.ClientID != "tipctl" || p.Region != "eu-west-1" {
		t.Fatalf("profile %+v: %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "drafts", "draft.json")); !os.IsNotExist(err) {
		t.Fatalf("the draft outlived the saved profile: %v", err)
	}
	// Declining a draft starts afresh.
	out, code = runOnPTY(t, dir, "issuer=http://127.0.0.1:1/idp;keep=y;client_id=EOF", "configure", "idp", "--provider", "oidc", "--profile", "other")
	if code != ExitConfig {
		t.Fatalf("%d\n%s", code, out)
	}
	out, code = runOnPTY(t, dir, "resume=n;issuer=EOF", "configure", "idp", "--provider", "oidc", "--profile", "other")
	if code != ExitConfig || !strings.Contains(out, "issuer (") {
		t.Fatalf("declined draft: %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "drafts", "other.json")); !os.IsNotExist(err) {
		t.Fatalf("a declined draft was kept: %v", err)
	}
}
