package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// buildTipctl builds ./cmd/tipctl into a temporary directory of t, for
// tests that run it as a real process (the Go build cache makes it quick).
func buildTipctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tipctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tipctl").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tipctl: %v\n%s", err, out)
	}
	return bin
}

// s3agLogin configures a profile for sb and logs in as email.
func s3agLogin(t *testing.T, endpoint, profile, email, password string) {
	t.Helper()
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", endpoint, "--profile", profile); code != 0 {
		t.Fatalf("configure sandbox: %d %s", code, stderr)
	}
	loginAs(t, email, password)
	if _, stderr, code := run(t, "auth", "login", "--profile", profile); code != 0 {
		t.Fatalf("login as %s: %d %s", email, code, stderr)
	}
}

// getDataAccess runs the command and decodes its credential_process JSON.
func getDataAccess(t *testing.T, args ...string) processCreds {
	t.Helper()
	out, stderr, code := run(t, append([]string{"s3ag", "get-data-access"}, args...)...)
	if code != 0 {
		t.Fatalf("get-data-access %v: %d %s", args, code, stderr)
	}
	if stderr != "" {
		t.Fatalf("get-data-access wrote to stderr: %q", stderr)
	}
	var pc processCreds
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pc); err != nil || pc.Version != 1 || !strings.HasPrefix(pc.AccessKeyId, "ASIA") || pc.SecretAccessKey == "" || pc.SessionToken == "" {
		t.Fatalf("credential_process output %q: %v", out, err)
	}
	if _, err := time.Parse(time.RFC3339, pc.Expiration); err != nil {
		t.Fatalf("Expiration %q: %v", pc.Expiration, err)
	}
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout holds more than the JSON document: %q", out)
	}
	return pc
}

func s3Client(endpoint string, pc processCreds) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(pc.AccessKeyId, pc.SecretAccessKey, pc.SessionToken)})
}

func readObject(c *s3.Client, key string) (string, error) {
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func putObject(c *s3.Client, key, body string) error {
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String(key), Body: strings.NewReader(body)})
	return err
}

func isDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied"
}

func TestS3agEndToEnd(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	s3agLogin(t, sb.URL(), "default", "alice@example.com", "alice-sandbox-pw")
	calls := func() int64 { return sb.Env.Stats.Get("s3:GetDataAccess") }

	// alice lists and reads emea/, is denied on apac/ and writing emea/.
	read := getDataAccess(t, "s3://analytics-data/emea/", "--permission", "READ")
	c := s3Client(sb.URL(), read)
	list, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("emea/")})
	if err != nil || len(list.Contents) < 2 {
		t.Fatalf("alice listing emea/: %v", err)
	}
	if body, err := readObject(c, "emea/sales-2025-q4.csv"); err != nil || !strings.Contains(body, "EMEA,DE,Widget") {
		t.Fatalf("alice reading emea/: %q %v", body, err)
	}
	if _, err := readObject(c, "apac/sales-2025-q4.csv"); !isDenied(err) {
		t.Fatalf("alice reading apac/ with emea/ credentials: %v", err)
	}
	if _, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("apac/")}); !isDenied(err) {
		t.Fatalf("alice listing apac/: %v", err)
	}
	if err := putObject(c, "emea/x.csv", "x"); !isDenied(err) {
		t.Fatalf("alice writing emea/ with READ credentials: %v", err)
	}

	// alice writes her own prefix, and still not emea/.
	rw := getDataAccess(t, "s3://analytics-data/users/alice/", "--permission", "READWRITE")
	w := s3Client(sb.URL(), rw)
	if err := putObject(w, "users/alice/x.csv", "a,b\n1,2\n"); err != nil {
		t.Fatalf("alice writing users/alice/x.csv: %v", err)
	}
	if body, err := readObject(w, "users/alice/x.csv"); err != nil || body != "a,b\n1,2\n" {
		t.Fatalf("read back: %q %v", body, err)
	}
	if err := putObject(w, "emea/x.csv", "x"); !isDenied(err) {
		t.Fatalf("alice writing emea/ with users/alice/ credentials: %v", err)
	}

	// The cache: again, a sub-prefix, and READ under the READWRITE grant
	// make no call; --force-new does.
	n := calls()
	if n != 2 {
		t.Fatalf("%d GetDataAccess calls so far, want 2", n)
	}
	for _, args := range [][]string{
		{"s3://analytics-data/emea/", "--permission", "READ"},
		{"s3://analytics-data/emea/2024/"},
		{"s3://analytics-data/emea/*", "--permission", "read"},
	} {
		if again := getDataAccess(t, args...); again.AccessKeyId != read.AccessKeyId {
			t.Fatalf("%v not served from the cache", args)
		}
	}
	if again := getDataAccess(t, "s3://analytics-data/users/alice/reports/", "--permission", "WRITE"); again.AccessKeyId != rw.AccessKeyId {
		t.Fatal("WRITE under users/alice/ not served by the READWRITE entry")
	}
	if calls() != n {
		t.Fatalf("cached requests called GetDataAccess %d times", calls()-n)
	}
	forced := getDataAccess(t, "s3://analytics-data/emea/", "--force-new")
	if forced.AccessKeyId == read.AccessKeyId || calls() != n+1 {
		t.Fatal("--force-new did not get new credentials")
	}
	if again := getDataAccess(t, "s3://analytics-data/emea/"); again.AccessKeyId != forced.AccessKeyId {
		t.Fatal("the forced credentials did not replace the cached ones")
	}

	// list-credentials: targets, permission, privilege, account, grantee,
	// expiry; never a secret.
	secrets := []string{read.SecretAccessKey, read.SessionToken, rw.SecretAccessKey, rw.SessionToken, forced.SecretAccessKey, forced.SessionToken}
	out, stderr, code := run(t, "s3ag", "list-credentials", "--output", "json")
	if code != 0 {
		t.Fatalf("list-credentials: %d %s", code, stderr)
	}
	var listed struct {
		Profile     string
		Credentials []struct {
			Scope, Permission, Privilege, State string
			AccountID                           string `json:"account_id"`
			Grantee                             struct{ Type, Identifier string }
			Expiration                          time.Time
		}
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed.Credentials) != 2 {
		t.Fatalf("list-credentials -o json: %v %s", err, out)
	}
	scopes := map[string]string{}
	for _, e := range listed.Credentials {
		scopes[e.Scope] = e.Permission
		if e.AccountID != "123456789012" || e.Privilege != "Default" || e.State != "valid" || e.Grantee.Type == "" || e.Grantee.Identifier == "" || time.Until(e.Expiration) < 30*time.Minute {
			t.Fatalf("entry %+v", e)
		}
	}
	if scopes["s3://analytics-data/emea/*"] != "READ" || scopes["s3://analytics-data/users/alice/*"] != "READWRITE" {
		t.Fatalf("scopes %v", scopes)
	}
	text, _, code := run(t, "s3ag", "list-credentials")
	if code != 0 || !strings.Contains(text, "s3://analytics-data/emea/*") || !strings.Contains(text, "DIRECTORY_USER:") || !strings.Contains(text, "123456789012") {
		t.Fatalf("list-credentials text: %q", text)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) || strings.Contains(text, s) {
			t.Fatal("list-credentials printed a secret")
		}
	}

	// carol, in a second profile: reads everything, alice's file included.
	s3agLogin(t, sb.URL(), "carol", "carol@example.com", "carol-sandbox-pw")
	cc := s3Client(sb.URL(), getDataAccess(t, "s3://analytics-data/", "--profile", "carol"))
	for _, key := range []string{"emea/sales-2025-q4.csv", "apac/sales-2025-q4.csv", "users/alice/x.csv"} {
		if _, err := readObject(cc, key); err != nil {
			t.Fatalf("carol reading %s: %v", key, err)
		}
	}
	if err := putObject(cc, "apac/x.csv", "x"); !isDenied(err) {
		t.Fatalf("carol writing with READ credentials: %v", err)
	}
	out, _, _ = run(t, "s3ag", "list-credentials", "-o", "json")
	if strings.Contains(out, "s3://analytics-data/*") {
		t.Fatal("carol's credentials are listed in alice's profile")
	}

	// clear-credentials empties the cache: the next request calls AWS.
	out, _, code = run(t, "s3ag", "clear-credentials")
	if code != 0 || !strings.Contains(out, "Cleared 2") {
		t.Fatalf("clear-credentials: %d %q", code, out)
	}
	out, _, _ = run(t, "s3ag", "list-credentials")
	if !strings.Contains(out, "No cached S3 Access Grants credentials") {
		t.Fatalf("after clear: %q", out)
	}
	n = calls()
	if again := getDataAccess(t, "s3://analytics-data/emea/"); again.AccessKeyId == forced.AccessKeyId || calls() != n+1 {
		t.Fatal("served from a cleared cache")
	}

	// logout wipes the profile's s3ag cache with its session.
	if _, stderr, code := run(t, "auth", "logout"); code != 0 {
		t.Fatalf("logout: %s", stderr)
	}
	out, _, _ = run(t, "s3ag", "list-credentials")
	if !strings.Contains(out, "No cached") {
		t.Fatalf("after logout: %q", out)
	}
}

func TestS3agBadInput(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	// Malformed URIs fail before anything else, even without a profile.
	for _, uri := range []string{"analytics-data/emea/", "s3://Bad_Bucket/x", "s3://analytics-data/e*a/", "s3://", "s3://analytics-data/\x01"} {
		out, stderr, code := run(t, "s3ag", "get-data-access", uri)
		if code != ExitUsage || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "not a valid S3 URI") {
			t.Errorf("%q: code %d stdout %q stderr %q", uri, code, out, stderr)
		}
	}
	for _, args := range [][]string{
		{},
		{"s3://analytics-data/emea/", "s3://analytics-data/apac/"},
		{"s3://analytics-data/emea/", "--duration-seconds", "-1"},
		{"s3://analytics-data/emea/", "--bogus"},
	} {
		out, stderr, code := run(t, append([]string{"s3ag", "get-data-access"}, args...)...)
		if code != ExitUsage || out != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: code %d stdout %q stderr %q", args, code, out, stderr)
		}
	}

	run(t, "configure", "sandbox", "--endpoint", sb.URL())
	out, stderr, code := run(t, "s3ag", "get-data-access", "s3://analytics-data/emea/")
	if code != ExitAuth || out != "" || !strings.Contains(stderr, "tipctl auth login") {
		t.Fatalf("not logged in: %d %q %q", code, out, stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatal(stderr)
	}

	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		// Bad options: usage errors, no AWS call.
		{[]string{"s3://analytics-data/emea/", "--permission", "ADMIN"}, ExitUsage, []string{"--permission", "not READ, WRITE or READWRITE"}},
		{[]string{"s3://analytics-data/emea/", "--privilege", "Max"}, ExitUsage, []string{"--privilege"}},
		{[]string{"s3://analytics-data/emea/", "--target-type", "Object"}, ExitUsage, []string{"one object"}},
		{[]string{"s3://analytics-data/emea/", "--duration-seconds", "60"}, ExitUsage, []string{"900-43200"}},
		{[]string{"s3://analytics-data/emea/", "--account-id", "abc"}, ExitUsage, []string{"12-digit"}},
		// A permission not granted: the fix names the one that is.
		{[]string{"s3://analytics-data/emea/", "--permission", "WRITE"}, ExitAWS, []string{"give READ, not WRITE", "request --permission READ"}},
		{[]string{"s3://analytics-data/emea/", "--permission", "READWRITE"}, ExitAWS, []string{"request --permission READ"}},
		// A target outside every grant: the fix says to ask for one and lists hers.
		{[]string{"s3://analytics-data/apac/"}, ExitAWS, []string{"no access grant of alice@example.com covers s3://analytics-data/apac/", "READ s3://analytics-data/emea/*", "ask your S3 Access Grants administrator"}},
		{[]string{"s3://another-bucket/"}, ExitAWS, []string{"no access grant"}},
		// The wrong account.
		{[]string{"s3://analytics-data/emea/", "--account-id", "210987654321"}, ExitAWS, []string{"AccessGrantsInstanceNotExistsError", "--account-id"}},
	} {
		out, stderr, code := run(t, append([]string{"s3ag", "get-data-access"}, tc.args...)...)
		if code != tc.code || out != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "tipctl: ") {
			t.Errorf("%v: code %d (want %d) stdout %q stderr %q", tc.args, code, tc.code, out, stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, stderr, w)
			}
		}
	}
	if n := sb.Env.Stats.Get("s3:GetDataAccess"); n != 5 {
		t.Fatalf("%d GetDataAccess calls, want 5 (usage errors make none)", n)
	}
}

// The identity-enhanced session is revoked (every session issued so far)
// while tipctl still has it cached: GetDataAccess answers
// InvalidAccessKeyId, tipctl mints a new session and retries once.
func TestS3agRevokedSessionRetried(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	s3agLogin(t, sb.URL(), "default", "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "get-iam-credentials"); code != 0 {
		t.Fatal(stderr)
	}
	logins := sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity")
	sb.Env.Registry.RevokeIssuedBefore(sb.Env.Now())

	pc := getDataAccess(t, "s3://analytics-data/emea/")
	if n := sb.Env.Stats.Get("s3:GetDataAccess"); n != 2 {
		t.Fatalf("%d GetDataAccess calls, want the refused one and one retry", n)
	}
	if sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity") != logins+1 {
		t.Fatal("the session was not renewed exactly once")
	}
	if _, err := readObject(s3Client(sb.URL(), pc), "emea/customers.csv"); err != nil {
		t.Fatal(err)
	}
}

// throttlingSandbox serves a sandbox behind a front that answers the first
// `throttled` GetDataAccess calls with S3 Control throttling errors.
func throttlingSandbox(t *testing.T, throttled int32) (endpoint string, sb *sandbox.Sandbox, attempts *atomic.Int32) {
	t.Helper()
	attempts = new(atomic.Int32)
	var inner atomic.Pointer[sandbox.Sandbox]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/v20180820/accessgrantsinstance/dataaccess") {
			if n := attempts.Add(1); n <= throttled {
				w.Header().Set("Content-Type", "application/xml")
				w.Header().Set("x-amz-request-id", "THROTTLED0000001")
				status, code, msg := http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."
				if n%2 == 0 {
					status, code, msg = http.StatusBadRequest, "Throttling", "Rate exceeded"
				}
				w.WriteHeader(status)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<ErrorResponse><Error><Code>`+code+`</Code><Message>`+msg+
					`</Message></Error><RequestId>THROTTLED0000001</RequestId><HostId>h</HostId></ErrorResponse>`)
				return
			}
		}
		inner.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	wd, err := world.Default(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sb, err = sandbox.New(wd)
	if err != nil {
		t.Fatal(err)
	}
	inner.Store(sb)
	return srv.URL, sb, attempts
}

func TestS3agThrottlingRetried(t *testing.T) {
	endpoint, sb, attempts := throttlingSandbox(t, 2)
	home(t)
	s3agLogin(t, endpoint, "default", "alice@example.com", "alice-sandbox-pw")
	pc := getDataAccess(t, "s3://analytics-data/emea/")
	if attempts.Load() != 3 || sb.Env.Stats.Get("s3:GetDataAccess") != 1 {
		t.Fatalf("attempts %d, served %d: want 2 throttled + 1 served", attempts.Load(), sb.Env.Stats.Get("s3:GetDataAccess"))
	}
	if _, err := readObject(s3Client(endpoint, pc), "emea/customers.csv"); err != nil {
		t.Fatal(err)
	}
}

func TestS3agThrottlingGivesUp(t *testing.T) {
	endpoint, sb, attempts := throttlingSandbox(t, 1000)
	home(t)
	s3agLogin(t, endpoint, "default", "alice@example.com", "alice-sandbox-pw")
	out, stderr, code := run(t, "s3ag", "get-data-access", "s3://analytics-data/emea/")
	if code != ExitAWS || out != "" || !strings.Contains(stderr, "throttling") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("code %d stdout %q stderr %q", code, out, stderr)
	}
	if attempts.Load() != 4 || sb.Env.Stats.Get("s3:GetDataAccess") != 0 {
		t.Fatalf("%d attempts, want 4 (the SDK's standard retryer as tipctl configures it)", attempts.Load())
	}
}

// The real AWS CLI uses `tipctl s3ag get-data-access` as credential_process.
func TestS3agWithAWSCLI(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI (aws) is not installed; skipping the credential_process test with the real AWS CLI")
	}
	bin := buildTipctl(t)
	sb := ststest.Sandbox(t, nil)
	dir := home(t)
	s3agLogin(t, sb.URL(), "default", "alice@example.com", "alice-sandbox-pw")

	cfgFile := filepath.Join(dir, "aws-config")
	cfg := `[profile emea]
region = us-east-1
credential_process = ` + bin + ` s3ag get-data-access s3://analytics-data/emea/ --permission READ --profile default
s3 =
    addressing_style = path

[profile alice-home]
region = us-east-1
credential_process = ` + bin + ` s3ag get-data-access s3://analytics-data/users/alice/ --permission READWRITE --profile default
s3 =
    addressing_style = path
`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	credsFile := filepath.Join(dir, "aws-credentials")
	if err := os.WriteFile(credsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"AWS_CONFIG_FILE=" + cfgFile, "AWS_SHARED_CREDENTIALS_FILE=" + credsFile, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv) // TIPCTL_HOME, TIPCTL_KEYRING_BACKEND, PATH, ...
		}
	}
	awsRun := func(profile string, args ...string) (string, string, error) {
		cmd := exec.Command(awsBin, append(args, "--endpoint-url", sb.URL(), "--profile", profile)...)
		cmd.Env = env
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}

	out, stderr, err := awsRun("emea", "s3", "ls", "s3://analytics-data/emea/")
	if err != nil || !strings.Contains(out, "sales-2025-q4.csv") || !strings.Contains(out, "customers.csv") {
		t.Fatalf("aws s3 ls: %v\n%s\n%s", err, out, stderr)
	}
	out, stderr, err = awsRun("emea", "s3", "cp", "s3://analytics-data/emea/sales-2025-q4.csv", "-")
	if err != nil || !strings.HasPrefix(out, "region,country,product") || !strings.Contains(out, "EMEA,DE,Widget") {
		t.Fatalf("aws s3 cp to stdout: %v\n%s\n%s", err, out, stderr)
	}
	if n := sb.Env.Stats.Get("s3:GetDataAccess"); n != 1 {
		t.Fatalf("two AWS CLI runs made %d GetDataAccess calls, want 1 (the second is cached)", n)
	}
	_, stderr, err = awsRun("emea", "s3", "cp", "s3://analytics-data/apac/sales-2025-q4.csv", "-")
	if err == nil || !strings.Contains(stderr, "403") && !strings.Contains(stderr, "AccessDenied") && !strings.Contains(stderr, "Forbidden") {
		t.Fatalf("aws s3 cp of apac/ with emea credentials: %v %s", err, stderr)
	}

	local := filepath.Join(dir, "x.csv")
	if err := os.WriteFile(local, []byte("id,value\n1,42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = awsRun("alice-home", "s3", "cp", local, "s3://analytics-data/users/alice/x.csv")
	if err != nil || !strings.Contains(out, "upload:") {
		t.Fatalf("aws s3 cp upload: %v\n%s\n%s", err, out, stderr)
	}
	admin := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if body, err := readObject(admin, "users/alice/x.csv"); err != nil || body != "id,value\n1,42\n" {
		t.Fatalf("uploaded object: %q %v", body, err)
	}
	_, stderr, err = awsRun("alice-home", "s3", "cp", local, "s3://analytics-data/emea/x.csv")
	if err == nil {
		t.Fatalf("aws s3 cp into emea/ with users/alice/ credentials succeeded: %s", stderr)
	}
}
