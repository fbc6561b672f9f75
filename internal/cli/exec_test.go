package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// binDir holds the tipctl binary built for process-level tests.
var (
	binDir   string
	binOnce  sync.Once
	binError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// tipctlBin builds cmd/tipctl once and returns its path.
func tipctlBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tipctl-cli-test-")
		if err != nil {
			binError = err
			return
		}
		binDir = dir
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "tipctl"), "../../cmd/tipctl").CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return filepath.Join(binDir, "tipctl")
}

// procEnv is the environment of tipctl child processes: the test's, with
// the built tipctl first on PATH.
func procEnv(t *testing.T, extra ...string) []string {
	bin := tipctlBin(t)
	env := setEnv(os.Environ(), "PATH", filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, v)
	}
	return env
}

// tipctlProc runs the tipctl binary and returns stdout, stderr and the
// exit code.
func tipctlProc(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	c := exec.Command(tipctlBin(t), args...)
	c.Env = procEnv(t)
	c.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("running tipctl: %v", err)
		}
	}
	return out.String(), errb.String(), c.ProcessState.ExitCode()
}

// startProc starts the tipctl binary with args, its stdout on a pipe and its
// stderr collected.
func startProc(t *testing.T, args ...string) (*exec.Cmd, io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	c := exec.Command(tipctlBin(t), args...)
	c.Env = procEnv(t)
	stdout, _ := c.StdoutPipe()
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c, stdout, &errb
}

// loggedIn starts a sandbox, configures the default profile for it, logs
// alice in, and isolates the AWS config files. No credentials are minted.
func loggedIn(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb := ststest.Sandbox(t, nil)
	dir := home(t)
	for _, k := range credentialVars {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", EnvExecProfile} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatalf("configure sandbox: %s", stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	return sb
}

func needAWSCLI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed")
	}
}

func assertEnhancedArn(t *testing.T, out string) {
	t.Helper()
	var who struct{ Arn string }
	if err := json.Unmarshal([]byte(out), &who); err != nil {
		t.Fatalf("get-caller-identity output %q: %v", out, err)
	}
	if !strings.Contains(who.Arn, ":assumed-role/tip-enhanced/tip-") {
		t.Fatalf("caller %s is not an identity-enhanced session", who.Arn)
	}
}

func TestExecAWSCLI(t *testing.T) {
	needAWSCLI(t)
	sb := loggedIn(t)
	out, stderr, code := tipctlProc(t, "", "exec", "--", "aws", "sts", "get-caller-identity", "--endpoint-url", sb.URL(), "--output", "json")
	if code != 0 {
		t.Fatalf("exec aws: %d %s", code, stderr)
	}
	assertEnhancedArn(t, out)
	// Without --endpoint-url: AWS_ENDPOINT_URL of the sandbox profile.
	out, stderr, code = tipctlProc(t, "", "exec", "aws", "sts", "get-caller-identity", "--output", "json")
	if code != 0 {
		t.Fatalf("exec aws (AWS_ENDPOINT_URL): %d %s", code, stderr)
	}
	assertEnhancedArn(t, out)
	if n := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); n != 1 {
		t.Fatalf("%d exchanges for two commands; the second should use the cached session", n)
	}
	// aws s3 reaches the sandbox through AWS_ENDPOINT_URL too (path style,
	// since the endpoint is an IP address), with Access Grants credentials.
	out, stderr, code = tipctlProc(t, "", "exec", "--s3ag", "s3://analytics-data/emea/", "--", "aws", "s3", "cp", "s3://analytics-data/emea/customers.csv", "-")
	if code != 0 || !strings.Contains(out, "customer_id") {
		t.Fatalf("exec --s3ag aws s3 cp: %d %q %s", code, out, stderr)
	}
}

// envOf runs exec in-process with a command printing variables.
func envOf(t *testing.T, args ...string) map[string]string {
	t.Helper()
	script := `for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_WEB_IDENTITY_TOKEN_FILE TIPCTL_EXEC_PROFILE; do eval "printf '%s=%s\n' $v \"\${$v-<unset>}\""; done`
	out, stderr, code := run(t, append(append([]string{"exec", "--env"}, args...), "--", "sh", "-c", script)...)
	if code != 0 {
		t.Fatalf("exec: %d %s", code, stderr)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

func TestExecEnvironment(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	sb := loggedIn(t)
	cfg := os.Getenv("AWS_CONFIG_FILE")
	os.WriteFile(cfg, []byte(`[profile loop]
credential_process = /opt/bin/tipctl auth get-iam-credentials --profile default
[profile chained]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = loop
[profile plain]
region = eu-west-3
`), 0o600)
	t.Setenv("AWS_PROFILE", "chained")
	t.Setenv("AWS_DEFAULT_PROFILE", "plain")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAINHERITED")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "inherited-secret")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/token")
	env := envOf(t)
	if !strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "ASIA") || env["AWS_SECRET_ACCESS_KEY"] == "inherited-secret" || env["AWS_SESSION_TOKEN"] == "" {
		t.Fatalf("credentials not set: %v", env)
	}
	if _, err := time.Parse(time.RFC3339, env["AWS_CREDENTIAL_EXPIRATION"]); err != nil {
		t.Fatalf("AWS_CREDENTIAL_EXPIRATION %q", env["AWS_CREDENTIAL_EXPIRATION"])
	}
	if env["AWS_REGION"] != "us-east-1" || env["AWS_DEFAULT_REGION"] != "us-east-1" || env["AWS_ENDPOINT_URL"] != sb.URL() {
		t.Fatalf("region/endpoint: %v", env)
	}
	if env["AWS_PROFILE"] != "<unset>" {
		t.Fatalf("AWS_PROFILE=chained loops back to tipctl through its source profile but was kept: %v", env)
	}
	if env["AWS_DEFAULT_PROFILE"] != "plain" {
		t.Fatalf("an unrelated AWS_DEFAULT_PROFILE was removed: %v", env)
	}
	if env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != "<unset>" || env["AWS_WEB_IDENTITY_TOKEN_FILE"] != "<unset>" {
		t.Fatalf("inherited credential sources kept: %v", env)
	}
	if env["TIPCTL_EXEC_PROFILE"] != "default" {
		t.Fatalf("TIPCTL_EXEC_PROFILE: %v", env)
	}
	// The keys are the identity-enhanced session's.
	cfgAWS := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])}
	who, err := sts.NewFromConfig(cfgAWS).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(aws.ToString(who.Arn), ":assumed-role/tip-enhanced/tip-") {
		t.Fatalf("caller: %v %v", who, err)
	}
	if env := envOf(t, "--region", "eu-west-1"); env["AWS_REGION"] != "eu-west-1" {
		t.Fatalf("--region: %v", env)
	}

	// Nesting is refused with the profile named.
	t.Setenv(EnvExecProfile, "work")
	_, stderr, code := run(t, "exec", "--", "true")
	if code != ExitUsage || !strings.Contains(stderr, "already inside `tipctl exec` for profile work; exit that shell first") {
		t.Fatalf("nested exec: %d %q", code, stderr)
	}
}

func TestExecProcessBehaviour(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh and POSIX signals")
	}
	loggedIn(t)
	// Exit codes pass through; tipctl adds nothing to stderr.
	out, stderr, code := tipctlProc(t, "", "exec", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
	if code != 7 || out != "out\n" || stderr != "err\n" {
		t.Fatalf("exit 7: code %d stdout %q stderr %q", code, out, stderr)
	}
	// stdin reaches the command.
	if out, _, code := tipctlProc(t, "line one\nline two\n", "exec", "--", "cat"); code != 0 || out != "line one\nline two\n" {
		t.Fatalf("stdin: %d %q", code, out)
	}
	// Killed by a signal: 128+N.
	if _, _, code := tipctlProc(t, "", "exec", "--", "sh", "-c", "kill -TERM $$"); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("killed by SIGTERM: exit %d", code)
	}
	// No such command: 127 and one line.
	_, stderr, code = tipctlProc(t, "", "exec", "--", "no-such-command-tipctl")
	if code != ExitNotFound || !strings.Contains(stderr, "no-such-command-tipctl: command not found") {
		t.Fatalf("missing command: %d %q", code, stderr)
	}
	// Nested for real: the inner tipctl refuses, the outer passes its code on.
	_, stderr, code = tipctlProc(t, "", "exec", "--", "tipctl", "exec", "--", "true")
	if code != ExitUsage || !strings.Contains(stderr, "already inside `tipctl exec` for profile default") {
		t.Fatalf("nested: %d %q", code, stderr)
	}

	// Signals are passed on: the command traps SIGTERM and exits 42.
	c, stdout, errb := startProc(t, "exec", "--", "sh", "-c", `trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		c.Process.Kill()
		t.Fatalf("child said %q (%s)", line, errb.String())
	}
	c.Process.Signal(syscall.SIGTERM)
	go io.Copy(io.Discard, stdout)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		c.Process.Kill()
		t.Fatal("tipctl exec did not end after SIGTERM")
	}
	if code := c.ProcessState.ExitCode(); code != 42 {
		t.Fatalf("after SIGTERM: exit %d, stderr %q", code, errb.String())
	}
}

func TestExecS3AccessGrants(t *testing.T) {
	sb := loggedIn(t)
	env := envOf(t, "--s3ag", "s3://analytics-data/emea/", "--permission", "READ")
	creds := credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
	client := s3.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), Credentials: creds},
		func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/customers.csv")}); err != nil {
		t.Fatalf("reading inside the grant: %v", err)
	}
	if _, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("apac/sales-2025-q4.csv")}); err == nil {
		t.Fatal("Access Grants credentials for emea/ read apac/")
	}
	if sb.Env.Stats.Get("s3:GetDataAccess") != 1 {
		t.Fatalf("GetDataAccess calls: %d", sb.Env.Stats.Get("s3:GetDataAccess"))
	}
	// No grant: a clear error, exit 5, the command never runs.
	out, stderr, code := run(t, "exec", "--s3ag", "s3://analytics-data/apac/", "--", "sh", "-c", "echo ran")
	if code != ExitAWS || out != "" || !strings.Contains(stderr, "access denied") {
		t.Fatalf("no grant: %d %q %q", code, out, stderr)
	}
	_, stderr, code = run(t, "exec", "--permission", "WRITE", "--", "true")
	if code != ExitUsage || !strings.Contains(stderr, "--s3ag") {
		t.Fatalf("--permission without --s3ag: %d %q", code, stderr)
	}
	_, stderr, code = run(t, "exec", "--s3ag", "not-a-uri", "--", "true")
	if code != ExitUsage {
		t.Fatalf("bad URI: %d %q", code, stderr)
	}
}
