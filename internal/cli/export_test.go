package cli

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestExport: eval "$(tipctl export)" in sh gives the same credentials as
// credential_process, the AWS CLI accepts them, and every format writes
// the same variables.
func TestExport(t *testing.T) {
	loggedIn(t)
	out, stderr, code := run(t, "auth", "get-iam-credentials")
	if code != 0 {
		t.Fatal(stderr)
	}
	var pc processCreds
	if err := json.Unmarshal([]byte(out), &pc); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", `eval "$(tipctl export)" && printf '%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_REGION" "$AWS_ENDPOINT_URL"`)
	sh.Env = procEnv(t)
	got, err := sh.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if err != nil || len(lines) != 5 || lines[0] != pc.AccessKeyId || lines[1] != pc.SecretAccessKey || lines[2] != pc.SessionToken ||
		lines[3] != "us-east-1" || !strings.HasPrefix(lines[4], "http://127.0.0.1:") {
		t.Fatalf("eval export: %v\n%s", err, got)
	}
	if _, err := exec.LookPath("aws"); err == nil {
		sh := exec.Command("sh", "-c", `eval "$(tipctl export)" && aws sts get-caller-identity --output json`)
		sh.Env = procEnv(t)
		out, err := sh.Output()
		if err != nil {
			t.Fatalf("aws with exported credentials: %v %s", err, out)
		}
		assertEnhancedArn(t, string(out))
	}

	want := map[string]string{"AWS_ACCESS_KEY_ID": pc.AccessKeyId, "AWS_SECRET_ACCESS_KEY": pc.SecretAccessKey, "AWS_SESSION_TOKEN": pc.SessionToken}
	out, _, code = run(t, "export", "--format", "json")
	var m map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("json: %d %q", code, out)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("json %s = %q, want %q", k, m[k], v)
		}
	}
	for format, line := range map[string]string{"fish": "set -gx AWS_SECRET_ACCESS_KEY '%s';", "powershell": "$env:AWS_SECRET_ACCESS_KEY = '%s'",
		"dotenv": "AWS_SECRET_ACCESS_KEY=%s"} {
		out, _, code := run(t, "export", "--format", format)
		if code != 0 || !strings.Contains(out, strings.Replace(line, "%s", pc.SecretAccessKey, 1)+"\n") || strings.Count(out, "\n") != 7 {
			t.Errorf("%s: %d\n%s", format, code, out)
		}
	}
	if out, stderr, code := run(t, "export", "--format", "cmd"); code != ExitUsage || out != "" {
		t.Errorf("--format cmd: %d %q %q", code, out, stderr)
	}
	// Quoting: what a value holds is never run by the shell.
	if got := shQuote(`a'b$(touch x)`); got != `'a'\''b$(touch x)'` {
		t.Errorf("shQuote: %s", got)
	}
	if got := dotenvQuote(`x"y$z`); got != `"x\"y\$z"` {
		t.Errorf("dotenvQuote: %s", got)
	}
}
