package s3control_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func runCmd(t *testing.T, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := runCmd(t, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// The AWS CLI's s3control commands put the account id in front of the
// endpoint host. Pointing HTTP_PROXY at the sandbox (which serves
// absolute-form proxy requests) makes 123456789012.127.0.0.1 reachable
// with no other change.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed")
	}
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales", "analysts"}, time.Hour)
	proxy := []string{"HTTP_PROXY=" + sb.URL(), "NO_PROXY=", "no_proxy="}
	out := mustRun(t, ststest.CLIEnv(t, alice.AccessKeyID, alice.SecretAccessKey, alice.SessionToken, proxy...), "aws", "s3control", "get-data-access",
		"--account-id", account, "--target", "s3://analytics-data/emea/*", "--permission", "READ", "--endpoint-url", sb.URL())
	var res struct {
		Credentials struct {
			AccessKeyId, SecretAccessKey, SessionToken, Expiration string
		}
		MatchedGrantTarget string
		Grantee            struct{ GranteeType, GranteeIdentifier string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("get-data-access output: %v\n%s", err, out)
	}
	if res.MatchedGrantTarget != "s3://analytics-data/emea/*" || res.Grantee.GranteeType != "DIRECTORY_GROUP" || res.Credentials.SessionToken == "" {
		t.Fatalf("get-data-access: %+v", res)
	}

	vended := ststest.CLIEnv(t, res.Credentials.AccessKeyId, res.Credentials.SecretAccessKey, res.Credentials.SessionToken)
	ls := mustRun(t, vended, "aws", "s3", "ls", "s3://analytics-data/emea/", "--endpoint-url", sb.URL())
	if !strings.Contains(ls, "customers.csv") || !strings.Contains(ls, "sales-2025-q4.csv") {
		t.Errorf("aws s3 ls with vended credentials:\n%s", ls)
	}
	dst := filepath.Join(t.TempDir(), "c.csv")
	mustRun(t, vended, "aws", "s3", "cp", "s3://analytics-data/emea/customers.csv", dst, "--endpoint-url", sb.URL(), "--only-show-errors")
	if b, err := os.ReadFile(dst); err != nil || !strings.Contains(string(b), "Müller GmbH") {
		t.Errorf("downloaded %q %v", b, err)
	}
	if _, errOut, err := runCmd(t, vended, "aws", "s3", "ls", "s3://analytics-data/apac/", "--endpoint-url", sb.URL()); err == nil || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("listing apac/ with emea credentials should be denied: %v %s", err, errOut)
	}

	grants := mustRun(t, ststest.CLIEnv(t, "test", "test", "", proxy...), "aws", "s3control", "list-access-grants", "--account-id", account, "--endpoint-url", sb.URL())
	if strings.Count(grants, "AccessGrantArn") != 7 { // 4 on analytics-data, 3 for Athena results
		t.Errorf("list-access-grants:\n%s", grants)
	}
}

const boto3Script = `
import sys, boto3, botocore.config, botocore.exceptions
url, akid, secret, token = sys.argv[1:5]
# botocore prefixes the host with the account id; send it through the sandbox as a proxy.
cfg = botocore.config.Config(proxies={"http": url}, retries={"max_attempts": 1})
ctl = boto3.client("s3control", endpoint_url=url, region_name="us-east-1", aws_access_key_id=akid,
                   aws_secret_access_key=secret, aws_session_token=token, config=cfg)
r = ctl.get_data_access(AccountId="123456789012", Target="s3://analytics-data/users/alice/*", Permission="READWRITE", DurationSeconds=900)
assert r["MatchedGrantTarget"] == "s3://analytics-data/users/alice/*", r
assert r["Grantee"]["GranteeType"] == "DIRECTORY_USER", r
c = r["Credentials"]
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                  aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
s3.put_object(Bucket="analytics-data", Key="users/alice/from-boto3.csv", Body=b"a\n1\n")
assert s3.get_object(Bucket="analytics-data", Key="users/alice/from-boto3.csv")["Body"].read() == b"a\n1\n"
for call in (lambda: s3.put_object(Bucket="analytics-data", Key="emea/x.csv", Body=b"x"),
             lambda: s3.get_object(Bucket="analytics-data", Key="apac/sales-2025-q4.csv")):
    try:
        call()
        raise SystemExit("not denied")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDenied", e.response
try:
    ctl.get_data_access(AccountId="123456789012", Target="s3://analytics-data/apac/*", Permission="READ")
    raise SystemExit("not denied")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e.response
try:
    ctl.get_data_access(AccountId="123456789012", Target="analytics-data/emea/*", Permission="READ")
    raise SystemExit("not refused")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidRequest", e.response
print("OK")
`

func TestBoto3(t *testing.T) {
	if exec.Command("python3", "-c", "import boto3").Run() != nil {
		t.Skip("python3 with boto3 is not installed")
	}
	sb := start(t, "")
	alice := enhanced(t, sb, "alice", []string{"emea-sales", "analysts"}, time.Hour)
	script := filepath.Join(t.TempDir(), "check.py")
	if err := os.WriteFile(script, []byte(boto3Script), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, ststest.CLIEnv(t, "", "", ""), "python3", script, sb.URL(), alice.AccessKeyID, alice.SecretAccessKey, alice.SessionToken)
	if strings.TrimSpace(out) != "OK" {
		t.Fatalf("boto3 script: %s", out)
	}
}

func BenchmarkGetDataAccess(b *testing.B) {
	sb := start(b, "")
	alice := enhanced(b, sb, "alice", []string{"emea-sales", "analysts"}, 12*time.Hour)
	c := controlClient(sb, staticCreds(alice))
	in := &s3control.GetDataAccessInput{AccountId: aws.String(account), Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.GetDataAccess(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetDataAccessThenGetObject is the whole data path: vend, then read.
func BenchmarkGetDataAccessThenGetObject(b *testing.B) {
	sb := start(b, "")
	alice := enhanced(b, sb, "alice", []string{"emea-sales", "analysts"}, 12*time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := getDataAccess(b, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := read(b, a.S3, "analytics-data", "emea/customers.csv"); err != nil {
			b.Fatal(err)
		}
	}
}
