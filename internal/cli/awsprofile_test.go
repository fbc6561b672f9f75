package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// userConfig is a hand-written AWS config file: comments of both kinds,
// odd spacing, [default], an sso-session, a services section, a nested
// value, and the profile tipctl will take over.
const userConfig = `# ~/.aws/config — hand-written; keep my comments!
;; second comment style

[default]
region=eu-west-1
output   =   json

[profile  dev ]
region = us-west-2
s3 =
    addressing_style = path
    max_concurrent_requests = 20
# trailing comment of dev

[profile analytics]
# analytics used to have static region only
region: eu-central-1
output = text
cli_pager =

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile sso-user]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = ReadOnly

[services local-s3]
s3 =
  endpoint_url = http://localhost:9000
`

func TestConfigureAWSProfileRoundTrip(t *testing.T) {
	sb := loggedIn(t)
	path := os.Getenv("AWS_CONFIG_FILE")
	if err := os.WriteFile(path, []byte(userConfig), 0o640); err != nil {
		t.Fatal(err)
	}
	head := userConfig[:strings.Index(userConfig, "[profile analytics]")]
	tail := userConfig[strings.Index(userConfig, "[sso-session corp]"):]

	// Without --yes and without a terminal: the diff, an error, no write.
	out, stderr, code := run(t, "configure", "aws-profile", "analytics")
	if code != ExitUsage || !strings.Contains(stderr, "pass --yes") || !strings.Contains(out, "+credential_process = tipctl auth get-iam-credentials --profile default") {
		t.Fatalf("no TTY: %d %q %q", code, out, stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != userConfig {
		t.Fatal("written without confirmation")
	}
	if _, _, code := run(t, "configure", "aws-profile", "analytics", "--dry-run"); code != 0 {
		t.Fatalf("--dry-run: %d", code)
	}
	if b, _ := os.ReadFile(path); string(b) != userConfig {
		t.Fatal("--dry-run wrote the file")
	}

	out, stderr, code = run(t, "configure", "aws-profile", "analytics", "--yes")
	if code != 0 {
		t.Fatalf("--yes: %d %s", code, stderr)
	}
	if !strings.Contains(out, "-region: eu-central-1\n+region: us-east-1\n") {
		t.Fatalf("diff shown:\n%s", out)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, tail) {
		t.Fatalf("bytes outside [profile analytics] changed:\n%s", got)
	}
	section := got[len(head) : len(got)-len(tail)]
	want := `[profile analytics]
# analytics used to have static region only
region: us-east-1
output = text
cli_pager =
credential_process = tipctl auth get-iam-credentials --profile default
endpoint_url = ` + sb.URL() + `

`
	if section != want {
		t.Fatalf("section:\n%s\nwant:\n%s", section, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Fatalf("mode changed to %v", st.Mode().Perm())
	}

	// Idempotent.
	_, stderr, code = run(t, "configure", "aws-profile", "analytics", "--yes")
	if b2, _ := os.ReadFile(path); code != 0 || string(b2) != got || !strings.Contains(stderr, "already up to date") {
		t.Fatalf("second run: %d %q", code, stderr)
	}

	// A new profile is appended; everything before stays.
	out, _, code = run(t, "configure", "aws-profile", "fresh", "--yes", "-o", "json")
	var res map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res["written"] != true || res["aws_profile"] != "fresh" {
		t.Fatalf("json: %d %q", code, out)
	}
	b3, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b3), got) || !strings.HasSuffix(string(b3), "\n[profile fresh]\ncredential_process = tipctl auth get-iam-credentials --profile default\nregion = us-east-1\nendpoint_url = "+sb.URL()+"\n") {
		t.Fatalf("append:\n%s", b3)
	}

	// A profile that gets credentials elsewhere is not taken over.
	_, stderr, code = run(t, "configure", "aws-profile", "sso-user", "--yes")
	if code != ExitConfig || !strings.Contains(stderr, "sso_session") {
		t.Fatalf("sso profile: %d %q", code, stderr)
	}
	if b4, _ := os.ReadFile(path); string(b4) != string(b3) {
		t.Fatal("a refused edit changed the file")
	}
	_, stderr, code = run(t, "configure", "aws-profile", "bad name", "--yes")
	if code != ExitUsage {
		t.Fatalf("bad name: %d %q", code, stderr)
	}
}

func TestConfigureAWSProfileCRLF(t *testing.T) {
	loggedIn(t)
	path := os.Getenv("AWS_CONFIG_FILE")
	in := "[default]\r\nregion = eu-west-1\r\n\r\n[profile analytics]\r\nregion = x\r\n\r\n[profile z]\r\noutput = json\r\n"
	os.WriteFile(path, []byte(in), 0o600)
	if _, stderr, code := run(t, "configure", "aws-profile", "analytics", "--yes"); code != 0 {
		t.Fatal(stderr)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	if !strings.HasPrefix(got, "[default]\r\nregion = eu-west-1\r\n\r\n[profile analytics]\r\nregion = us-east-1\r\ncredential_process = tipctl auth get-iam-credentials --profile default\r\n") ||
		!strings.HasSuffix(got, "\r\n\r\n[profile z]\r\noutput = json\r\n") || strings.Count(got, "\n") != strings.Count(got, "\r\n") {
		t.Fatalf("CRLF file:\n%q", got)
	}
}

// The AWS CLI uses a profile written by configure aws-profile.
func TestConfigureAWSProfileWithAWSCLI(t *testing.T) {
	needAWSCLI(t)
	sb := loggedIn(t)
	os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(userConfig), 0o600)
	if _, stderr, code := run(t, "configure", "aws-profile", "analytics", "--yes"); code != 0 {
		t.Fatal(stderr)
	}
	aws := func(args ...string) (string, string, error) {
		c := exec.Command("aws", args...)
		c.Env = procEnv(t)
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		return out.String(), errb.String(), err
	}
	out, stderr, err := aws("sts", "get-caller-identity", "--profile", "analytics", "--endpoint-url", sb.URL(), "--output", "json")
	if err != nil {
		t.Fatalf("aws --profile analytics: %v %s", err, stderr)
	}
	assertEnhancedArn(t, out)
	// endpoint_url in the profile is enough.
	out, stderr, err = aws("sts", "get-caller-identity", "--profile", "analytics", "--output", "json")
	if err != nil {
		t.Fatalf("aws --profile analytics (endpoint_url): %v %s", err, stderr)
	}
	assertEnhancedArn(t, out)

	// An S3 Access Grants profile reads inside its grant.
	if _, stderr, code := run(t, "configure", "aws-profile", "emea", "--s3ag", "s3://analytics-data/emea/", "--permission", "READ", "--yes"); code != 0 {
		t.Fatal(stderr)
	}
	if b, _ := os.ReadFile(os.Getenv("AWS_CONFIG_FILE")); !strings.Contains(string(b), "[profile emea]\ncredential_process = tipctl s3ag get-data-access s3://analytics-data/emea/ --permission READ --profile default\n") {
		t.Fatalf("s3ag profile:\n%s", b)
	}
	out, stderr, err = aws("s3", "cp", "s3://analytics-data/emea/customers.csv", "-", "--profile", "emea")
	if err != nil || !strings.Contains(out, "customer_id") {
		t.Fatalf("aws s3 cp through the s3ag profile: %v %q %s", err, out, stderr)
	}
	if _, _, err := aws("s3", "cp", "s3://analytics-data/apac/sales-2025-q4.csv", "-", "--profile", "emea"); err == nil {
		t.Fatal("the emea profile read apac/")
	}
}

// On a terminal, the change is written only after "y".
func TestConfigureAWSProfilePrompt(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 (for a pseudo-terminal) is not installed")
	}
	loggedIn(t)
	path := os.Getenv("AWS_CONFIG_FILE")
	os.WriteFile(path, []byte(userConfig), 0o600)
	// python3 runs tipctl on a pseudo-terminal and answers the prompt.
	script := `import os, pty, sys
answer = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
answered = False
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if not answered and b"[y/N]" in out:
        os.write(fd, answer + b"\n")
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))`
	ask := func(answer string) (string, int) {
		c := exec.Command(py, "-c", script, answer, tipctlBin(t), "configure", "aws-profile", "analytics")
		c.Env = procEnv(t)
		out, _ := c.CombinedOutput()
		return string(out), c.ProcessState.ExitCode()
	}
	out, code := ask("n")
	if code != 0 || !strings.Contains(out, "+credential_process = tipctl auth get-iam-credentials --profile default") || !strings.Contains(out, "nothing written") {
		t.Fatalf("answer n: %d %q", code, out)
	}
	if b, _ := os.ReadFile(path); string(b) != userConfig {
		t.Fatal("written after answering n")
	}
	out, code = ask("y")
	if code != 0 || !strings.Contains(out, "wrote AWS profile analytics") {
		t.Fatalf("answer y: %d %q", code, out)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "credential_process = tipctl auth get-iam-credentials --profile default") {
		t.Fatal("not written after answering y")
	}
}
