package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func TestCompletionScripts(t *testing.T) {
	home(t)
	for shell, marker := range map[string]string{
		"bash": "__start_tipctl", "zsh": "#compdef tipctl", "fish": "complete -c tipctl", "powershell": "Register-ArgumentCompleter",
	} {
		out, stderr, code := run(t, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Fatalf("completion %s: %d %q (%d bytes)", shell, code, stderr, len(out))
		}
		if shell == "bash" {
			if _, err := exec.LookPath("bash"); err == nil {
				f := filepath.Join(t.TempDir(), "c.bash")
				os.WriteFile(f, []byte(out), 0o600)
				if b, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
					t.Fatalf("bash -n: %v %s", err, b)
				}
			}
		}
	}
	if _, _, code := run(t, "completion", "tcsh"); code != ExitUsage {
		t.Fatalf("unknown shell: %d", code)
	}
}

// complete runs cobra's hidden __complete command like the shell scripts do.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	out, stderr, code := run(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: %d %s", args, code, stderr)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" || strings.HasPrefix(l, ":") {
			continue
		}
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names
}

func TestCompletionOfProfiles(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	dir := home(t)
	for _, p := range []string{"alpha", "beta", "default"} {
		if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL(), "--profile", p); code != 0 {
			t.Fatal(stderr)
		}
	}
	if got := strings.Join(complete(t, "auth", "status", "--profile", ""), ","); got != "alpha,beta,default" {
		t.Fatalf("--profile completions: %q", got)
	}
	if got := strings.Join(complete(t, "exec", "-p", "b"), ","); got != "beta" {
		t.Fatalf("-p b completions: %q", got)
	}
	if got := strings.Join(complete(t, "serve", "--output", ""), ","); got != "text,json" {
		t.Fatalf("--output completions: %q", got)
	}
	// The AWS profile name of configure aws-profile: the AWS config's.
	cfg := filepath.Join(dir, "aws-config")
	os.WriteFile(cfg, []byte("[default]\n[profile analytics]\n[sso-session x]\n[profile ops]\n"), 0o600)
	t.Setenv("AWS_CONFIG_FILE", cfg)
	if got := strings.Join(complete(t, "configure", "aws-profile", ""), ","); got != "default,analytics,ops" {
		t.Fatalf("aws-profile completions: %q", got)
	}
}

func TestHelpExitCodes(t *testing.T) {
	home(t)
	out, _, code := run(t, "help", "exit-codes")
	if code != 0 {
		t.Fatalf("help exit-codes: %d", code)
	}
	for _, e := range exitCodes {
		if !strings.Contains(out, e.Text) {
			t.Fatalf("exit code %d missing from:\n%s", e.Code, out)
		}
	}
	for _, c := range []int{ExitOK, ExitFailure, ExitUsage, ExitConfig, ExitAuth, ExitAWS, ExitNetwork, ExitBusy, ExitInterrupted, ExitNotFound, ExitCannotRun} {
		found := false
		for _, e := range exitCodes {
			found = found || e.Code == c
		}
		if !found {
			t.Fatalf("exit code %d is not documented", c)
		}
	}
	out, _, _ = run(t, "--help")
	if !strings.Contains(out, "exit-codes") {
		t.Fatal("the exit-codes topic is not listed in tipctl --help")
	}
}
