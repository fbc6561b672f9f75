package s3_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// The AWS CLI (botocore) against the sandbox: listing, and cp up and down
// with a file large enough for a multipart upload.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed")
	}
	sb := ststest.Sandbox(t, nil)
	env := ststest.CLIEnv(t, "test", "test", "")
	ls := run(t, env, "aws", "s3", "ls", "s3://analytics-data/emea/", "--endpoint-url", sb.URL())
	if !strings.Contains(ls, "customers.csv") || !strings.Contains(ls, "sales-2025-q4.csv") || strings.Contains(ls, "apac") {
		t.Errorf("aws s3 ls emea/:\n%s", ls)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	data := make([]byte, 12<<20)
	_, _ = rand.Read(data)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, env, "aws", "s3", "cp", src, "s3://quicksight-snapshots/cli/big.bin", "--endpoint-url", sb.URL(), "--only-show-errors")
	if sb.Env.Stats.Get("s3:CompleteMultipartUpload") != 1 {
		t.Errorf("a 12 MiB cp should be a multipart upload: %v", sb.Env.Stats.Snapshot())
	}
	dst := filepath.Join(dir, "back.bin")
	run(t, env, "aws", "s3", "cp", "s3://quicksight-snapshots/cli/big.bin", dst, "--endpoint-url", sb.URL(), "--only-show-errors")
	back, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("downloaded %d bytes, want the %d uploaded", len(back), len(data))
	}
	out, _, err := get(t, client(sb.URL(), admin), &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("cli/big.bin")})
	if err != nil || !strings.HasSuffix(aws.ToString(out.ETag), `-2"`) {
		t.Errorf("the CLI upload: %v %v", out, err)
	}
	run(t, env, "aws", "s3", "rm", "s3://quicksight-snapshots/cli/", "--recursive", "--endpoint-url", sb.URL(), "--only-show-errors")
	left, err := client(sb.URL(), admin).ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots"), Prefix: aws.String("cli/")})
	if err != nil || len(left.Contents) != 0 {
		t.Errorf("left after rm --recursive: %v %v", left, err)
	}
}

const boto3Script = `
import sys, urllib.request, boto3, botocore.config
url, tls = sys.argv[1], sys.argv[2]
cfg = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
kw = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
s3 = boto3.client("s3", endpoint_url=url, **kw)
B = "quicksight-snapshots"
s3.put_object(Bucket=B, Key="py/a b+c.csv", Body=b"x,y\n1,2\n", ContentType="text/csv")
for k in ["py/d/1", "py/d/2", "py/e/1", "py/z"]:
    s3.put_object(Bucket=B, Key=k, Body=k.encode())
# botocore asks for encoding-type=url and decodes the keys.
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="py/a")["Contents"]]
assert keys == ["py/a b+c.csv"], keys
seen = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=B, Prefix="py/", Delimiter="/", PaginationConfig={"PageSize": 1}):
    seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
assert sorted(seen) == ["py/a b+c.csv", "py/d/", "py/e/", "py/z"], seen
v1 = [o["Key"] for o in s3.list_objects(Bucket=B, Prefix="py/d/")["Contents"]]
assert v1 == ["py/d/1", "py/d/2"], v1
r = s3.get_object(Bucket=B, Key="py/a b+c.csv", Range="bytes=2-4")
assert r["Body"].read() == b"y\n1" and r["ContentRange"] == "bytes 2-4/8", r
try:
    s3.get_object(Bucket=B, Key="nope")
    raise SystemExit("no error for a missing key")
except s3.exceptions.NoSuchKey:
    pass
try:
    s3.list_objects_v2(Bucket="no-such-bucket")
    raise SystemExit("no error for a missing bucket")
except s3.exceptions.NoSuchBucket:
    pass
u = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "py/z"}, ExpiresIn=300)
try:
    assert urllib.request.urlopen(u).read() == b"py/z"
except urllib.error.HTTPError as e:
    raise SystemExit(u + " " + e.read().decode())
try:
    urllib.request.urlopen(u.replace("py/z", "py/d/1"))
    raise SystemExit("a tampered presigned URL worked")
except urllib.error.HTTPError as e:
    assert e.code == 403, e.code
v4 = dict(kw, config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
u4 = boto3.client("s3", endpoint_url=url, **v4).generate_presigned_url("get_object", Params={"Bucket": B, "Key": "py/a b+c.csv"}, ExpiresIn=60)
assert "X-Amz-Signature=" in u4 and urllib.request.urlopen(u4).read() == b"x,y\n1,2\n"
# The legacy signature version 2 in headers (signature_version="s3").
v2 = dict(kw, config=botocore.config.Config(signature_version="s3", s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
s3v2 = boto3.client("s3", endpoint_url=url, **v2)
s3v2.put_object(Bucket=B, Key="py/v2 key", Body=b"v2", ContentType="text/plain")
assert s3v2.get_object(Bucket=B, Key="py/v2 key")["Body"].read() == b"v2"
# Over TLS botocore sends aws-chunked bodies with a trailing checksum.
s3t = boto3.client("s3", endpoint_url=tls, verify=False, **kw)
s3t.put_object(Bucket=B, Key="py/tls.bin", Body=b"z" * 100000)
assert s3.get_object(Bucket=B, Key="py/tls.bin")["Body"].read() == b"z" * 100000
print("OK")
`

// boto3 against the sandbox, over HTTP and over TLS (aws-chunked).
func TestBoto3(t *testing.T) {
	if exec.Command("python3", "-c", "import boto3").Run() != nil {
		t.Skip("python3 with boto3 is not installed")
	}
	sb := ststest.Sandbox(t, nil)
	ts, rc := tlsFront(t, sb)
	script := filepath.Join(t.TempDir(), "check.py")
	if err := os.WriteFile(script, []byte(boto3Script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(t, ststest.CLIEnv(t, "test", "test", ""), "python3", script, sb.URL(), ts.URL); strings.TrimSpace(out) != "OK" {
		t.Fatalf("boto3 script: %s", out)
	}
	chunked := false
	for _, p := range rc.puts {
		chunked = chunked || strings.HasPrefix(p, "STREAMING-UNSIGNED-PAYLOAD-TRAILER|aws-chunked|x-amz-checksum-")
	}
	if !chunked {
		t.Errorf("botocore did not send aws-chunked over TLS: %v", rc.puts)
	}
}

func BenchmarkGetObject(b *testing.B) {
	sb := ststest.Sandbox(b, nil)
	c := client(sb.URL(), admin)
	in := &awss3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/sales-2025-q4.csv")}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := get(b, c, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutObject(b *testing.B) {
	sb := ststest.Sandbox(b, nil)
	c := client(sb.URL(), admin)
	body := bytes.Repeat([]byte("r,1,2\n"), 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("bench.csv"), Body: bytes.NewReader(body)}); err != nil {
			b.Fatal(err)
		}
	}
}
