package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
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
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// serveProc starts `tipctl serve` and returns its exported variables.
func serveProc(t *testing.T, args ...string) (*exec.Cmd, map[string]string, *bytes.Buffer) {
	t.Helper()
	c, stdout, errb := startProc(t, append([]string{"serve"}, args...)...)
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	vars := map[string]string{}
	r := bufio.NewReader(stdout)
	for len(vars) < 4 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("serve printed %v then %v; stderr %q", vars, err, errb.String())
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
		if !ok {
			t.Fatalf("unexpected line %q", line)
		}
		vars[k] = strings.Trim(v, "'")
	}
	return c, vars, errb
}

func getCreds(t *testing.T, url, token string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	m := map[string]string{}
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestServe(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX signals")
	}
	sb := loggedIn(t)
	c, vars, stderr := serveProc(t)
	url, token := vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"], vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
	if !strings.HasPrefix(url, "http://127.0.0.1:") || len(token) < 32 || vars["AWS_REGION"] != "us-east-1" || vars["AWS_ENDPOINT_URL"] != sb.URL() {
		t.Fatalf("exports: %v", vars)
	}

	// No token, wrong token: 401, and nothing minted.
	if code, _ := getCreds(t, url, ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := getCreds(t, url, token[:len(token)-1]+"x"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	if n := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); n != 0 {
		t.Fatalf("minted before any authorized request: %d", n)
	}

	// 20 concurrent requests with nothing cached: one exchange.
	var wg sync.WaitGroup
	keys := make([]string, 20)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, m := getCreds(t, url, token)
			if code != 200 {
				t.Errorf("request %d: %d %v", i, code, m)
			}
			keys[i] = m["AccessKeyId"]
		}()
	}
	wg.Wait()
	if n := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); n != 1 {
		t.Fatalf("%d CreateTokenWithIAM calls for 20 concurrent requests", n)
	}
	for _, k := range keys {
		if k != keys[0] || !strings.HasPrefix(k, "ASIA") {
			t.Fatalf("keys differ: %v", keys)
		}
	}

	// aws-sdk-go-v2's default chain with only the two variables.
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	who, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(sb.URL()) }).
		GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(aws.ToString(who.Arn), ":assumed-role/tip-enhanced/tip-") {
		t.Fatalf("aws-sdk-go-v2 through serve: %v %v", who, err)
	}

	// boto3, with nothing but the two variables.
	if py, err := exec.LookPath("python3"); err != nil || exec.Command(py, "-c", "import boto3").Run() != nil {
		t.Log("boto3 is not installed: skipping the boto3 check")
	} else {
		home := t.TempDir()
		cmd := exec.Command(py, "-c", `import boto3, sys
print(boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1").get_caller_identity()["Arn"])`, sb.URL())
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_CONTAINER_CREDENTIALS_FULL_URI=" + url,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + token, "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none")}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), ":assumed-role/tip-enhanced/tip-") {
			t.Fatalf("boto3 through serve: %v %s", err, out)
		}
	}
	if n := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); n != 1 {
		t.Fatalf("clients caused %d exchanges; the server's cache should serve them", n)
	}

	// SIGTERM: a clean stop, exit 0.
	c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if code := c.ProcessState.ExitCode(); code != 0 || !strings.Contains(stderr.String(), "stopping") {
		t.Fatalf("after SIGTERM: exit %d, stderr %q", code, stderr.String())
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("still listening after stopping")
	}
}

func TestServeExec(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	sb := loggedIn(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAINHERITED")
	out, stderr, code := tipctlProc(t, "", "serve", "--exec", `echo "$AWS_ACCESS_KEY_ID|$AWS_CONTAINER_CREDENTIALS_FULL_URI|$AWS_ENDPOINT_URL"; exit 3`)
	parts := strings.Split(strings.TrimSpace(out), "|")
	if code != 3 || len(parts) != 3 || parts[0] != "" || !strings.HasPrefix(parts[1], "http://127.0.0.1:") || parts[2] != sb.URL() {
		t.Fatalf("serve --exec: code %d out %q stderr %q", code, out, stderr)
	}
	if _, err := exec.LookPath("aws"); err == nil {
		out, stderr, code = tipctlProc(t, "", "serve", "--", "aws", "sts", "get-caller-identity", "--output", "json")
		if code != 0 {
			t.Fatalf("serve -- aws: %d %s", code, stderr)
		}
		assertEnhancedArn(t, out)
	}
}

func TestServeRefusals(t *testing.T) {
	loggedIn(t)
	for _, l := range []string{"0.0.0.0:0", ":8080", "192.0.2.10:0"} {
		_, stderr, code := run(t, "serve", "--listen", l)
		if code != ExitUsage || !strings.Contains(stderr, "loopback") {
			t.Fatalf("--listen %s: %d %q", l, code, stderr)
		}
	}
	_, stderr, code := run(t, "serve", "--exec", "true", "--", "true")
	if code != ExitUsage {
		t.Fatalf("--exec and --: %d %q", code, stderr)
	}
	run(t, "auth", "logout")
	_, stderr, code = run(t, "serve")
	if code != ExitAuth || !strings.Contains(stderr, "tipctl auth login") {
		t.Fatalf("not logged in: %d %q", code, stderr)
	}
}

func TestServeJSON(t *testing.T) {
	loggedIn(t)
	c, stdout, _ := startProc(t, "serve", "-o", "json")
	defer func() { c.Process.Kill(); c.Wait() }()
	var doc struct {
		Profile, URL string
		Env          map[string]string
	}
	if err := json.NewDecoder(stdout).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Profile != "default" || doc.Env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != doc.URL || doc.Env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == "" {
		t.Fatalf("json: %+v", doc)
	}
	if code, _ := getCreds(t, doc.URL, doc.Env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]); code != 200 {
		t.Fatalf("GET: %d", code)
	}
}
