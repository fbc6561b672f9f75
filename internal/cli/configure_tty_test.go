package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/tip/config"
)

// On a terminal, `configure idp` asks for each missing value, showing the
// current value as the default; pressing Enter keeps it.
func TestConfigureIdPPromptsOnATerminal(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 (for a pseudo-terminal) is not installed")
	}
	dir := home(t)
	// python3 runs tipctl on a pseudo-terminal and answers each prompt
	// "KEY (help) [default]: " from the answers given as KEY=VALUE.
	script := `import os, pty, sys
answers = dict(a.split("=", 1) for a in sys.argv[1].split(";") if a)
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
        os.write(fd, answers.get(key, "").encode() + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))`
	answers := strings.Join([]string{
		"org_url=https://dev-123456.okta.com", "keep=y", "client_id=0oa1example", "region=eu-west-1",
		"application_arn=arn:aws:sso::111122223333:application/ssoins-1111222233334444/apl-1111222233334444",
		"bridge_role_arn=arn:aws:iam::111122223333:role/tip-bridge", "enhanced_role_arn=arn:aws:iam::111122223333:role/tip-enhanced",
	}, ";")
	run := func(answers string, args ...string) (string, int) {
		c := exec.Command(py, append([]string{"-c", script, answers, tipctlBin(t)}, args...)...)
		c.Env = append(os.Environ(), "TIPCTL_HOME="+dir, "NO_COLOR=1")
		out, _ := c.CombinedOutput()
		return string(out), c.ProcessState.ExitCode()
	}
	out, code := run(answers, "configure", "idp", "--provider", "okta", "--profile", "okta")
	if code != 0 || !strings.Contains(out, "org_url (") || !strings.Contains(out, "saved") {
		t.Fatalf("first configure: %d\n%s", code, out)
	}
	cfg, err := config.LoadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Get("okta")
	if err != nil || p.Issuer != "https://dev-123456.okta.com/oauth2/default" || p.Region != "eu-west-1" {
		t.Fatalf("profile %+v: %v", p, err)
	}
	// Reconfiguring with one value changed: nothing else is asked for.
	out, code = run("", "configure", "idp", "--profile", "okta", "--config", `{"region": "us-west-2"}`)
	if code != 0 || strings.Contains(out, "org_url (") {
		t.Fatalf("reconfigure asked again: %d\n%s", code, out)
	}
	cfg, _ = config.LoadFile(filepath.Join(dir, "config.yaml"))
	if p, _ := cfg.Get("okta"); p == nil || p.Region != "us-west-2" || p.ClientID != "0oa1example" {
		t.Fatalf("reconfigured profile %+v", p)
	}
}
