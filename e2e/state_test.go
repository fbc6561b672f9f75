package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/tip/awsconf"
)

// sandboxProc starts `tipctl sandbox --listen 127.0.0.1:0 ARGS` and
// returns the process and its URL.
func sandboxProc(t *testing.T, e *env, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(tipctl, append([]string{"sandbox", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = e.with()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case u := <-line:
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("tipctl sandbox printed %q; stderr: %s", u, errb.String())
		}
		return cmd, u
	case <-time.After(60 * time.Second):
		t.Fatalf("tipctl sandbox did not print its URL within 60s: %s", errb.String())
	}
	return nil, ""
}

func adminConfig(url string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), HTTPClient: awsconf.SafeBodies(nil),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})}
}

func s3Client(url string) *s3.Client {
	return s3.NewFromConfig(adminConfig(url), func(o *s3.Options) { o.UsePathStyle = true })
}

// TestStateSurvivesSIGKILL: `tipctl sandbox --state DIR` writes every
// change before it answers. Writes through the APIs (a role, a bucket, a
// text and a binary object with metadata, a deletion, a completed
// multipart upload and one still in progress), then SIGKILL, then a new
// process on the same directory: everything acknowledged is there, byte
// for byte, and the upload in progress can be completed.
func TestStateSurvivesSIGKILL(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "state")
	cmd, url := sandboxProc(t, e, "--state", dir)
	ctx := context.Background()
	c := s3Client(url)

	if _, err := awsiam.NewFromConfig(adminConfig(url)).CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("kept-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kept-bucket")}); err != nil {
		t.Fatal(err)
	}
	binary := make([]byte, 300<<10)
	if _, err := rand.Read(binary); err != nil {
		t.Fatal(err)
	}
	binary[0], binary[1] = 0xff, 0xfe // never valid UTF-8
	put := func(bucket, key, ct string, body []byte, meta map[string]string) string {
		t.Helper()
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentType: aws.String(ct), Metadata: meta})
		if err != nil {
			t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
		}
		return aws.ToString(out.ETag)
	}
	binETag := put("kept-bucket", "blob/random.bin", "application/octet-stream", binary, map[string]string{"origin": "test"})
	put("kept-bucket", "notes/a.txt", "text/plain", []byte("first"), nil)
	put("kept-bucket", "notes/a.txt", "text/plain", []byte("second"), nil) // overwritten: the last one counts
	put("kept-bucket", "gone.txt", "text/plain", []byte("deleted below"), nil)
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("kept-bucket"), Key: aws.String("gone.txt")}); err != nil {
		t.Fatal(err)
	}
	// A world object deleted: it must not come back from the world file.
	worldObjs, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data")})
	if err != nil || len(worldObjs.Contents) == 0 {
		t.Fatalf("the default world's analytics-data bucket: %v", err)
	}
	deletedWorldKey := aws.ToString(worldObjs.Contents[0].Key)
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String(deletedWorldKey)}); err != nil {
		t.Fatal(err)
	}

	part1 := bytes.Repeat([]byte{0, 1, 2, 0xff}, (5<<20)/4) // parts but the last need 5 MiB
	part2 := []byte("tail of the multipart object")
	multipart := func(key string, complete bool) (string, string) {
		t.Helper()
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("kept-bucket"), Key: aws.String(key), ContentType: aws.String("application/x-test")})
		if err != nil {
			t.Fatal(err)
		}
		var parts []s3types.CompletedPart
		for i, body := range [][]byte{part1, part2} {
			if !complete && i == 1 {
				break
			}
			p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("kept-bucket"), Key: aws.String(key), UploadId: up.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(body)})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, s3types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(int32(i + 1))})
		}
		if !complete {
			return aws.ToString(up.UploadId), ""
		}
		out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("kept-bucket"), Key: aws.String(key), UploadId: up.UploadId,
			MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(up.UploadId), aws.ToString(out.ETag)
	}
	_, mpETag := multipart("big/complete.bin", true)
	pendingID, _ := multipart("big/pending.bin", false)

	// SIGKILL: no shutdown path runs.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, sandbox.S3StateDir)); err != nil {
		t.Fatalf("no S3 state: %v", err)
	}

	_, url = sandboxProc(t, e, "--state", dir)
	c = s3Client(url)
	if _, err := awsiam.NewFromConfig(adminConfig(url)).GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("kept-role")}); err != nil {
		t.Fatalf("the role after SIGKILL and restart: %v", err)
	}
	get := func(key string) ([]byte, *s3.GetObjectOutput) {
		t.Helper()
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("kept-bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s after restart: %v", key, err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b, out
	}
	if b, out := get("blob/random.bin"); !bytes.Equal(b, binary) || aws.ToString(out.ETag) != binETag ||
		aws.ToString(out.ContentType) != "application/octet-stream" || out.Metadata["origin"] != "test" {
		t.Fatalf("binary object after restart: %d bytes (equal %v), ETag %s (want %s), type %s, metadata %v",
			len(b), bytes.Equal(b, binary), aws.ToString(out.ETag), binETag, aws.ToString(out.ContentType), out.Metadata)
	}
	if b, _ := get("notes/a.txt"); string(b) != "second" {
		t.Fatalf("overwritten object after restart: %q", b)
	}
	if b, out := get("big/complete.bin"); !bytes.Equal(b, append(append([]byte{}, part1...), part2...)) || aws.ToString(out.ETag) != mpETag {
		t.Fatalf("multipart object after restart: %d bytes, ETag %s (want %s)", len(b), aws.ToString(out.ETag), mpETag)
	}
	var nsk *s3types.NoSuchKey
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("kept-bucket"), Key: aws.String("gone.txt")}); !errors.As(err, &nsk) {
		t.Fatalf("the deleted object after restart: %v", err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String(deletedWorldKey)}); !errors.As(err, &nsk) {
		t.Fatalf("the deleted world object after restart: %v", err)
	}

	// The upload in progress is still there, with its part: finish it.
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("kept-bucket")})
	if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].UploadId) != pendingID {
		t.Fatalf("uploads after restart: %+v, %v", ups, err)
	}
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("kept-bucket"), Key: aws.String("big/pending.bin"), UploadId: aws.String(pendingID)})
	if err != nil || len(parts.Parts) != 1 {
		t.Fatalf("parts after restart: %+v, %v", parts, err)
	}
	p2, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("kept-bucket"), Key: aws.String("big/pending.bin"), UploadId: aws.String(pendingID),
		PartNumber: aws.Int32(2), Body: bytes.NewReader(part2)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("kept-bucket"), Key: aws.String("big/pending.bin"),
		UploadId: aws.String(pendingID), MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{
			{ETag: parts.Parts[0].ETag, PartNumber: aws.Int32(1)}, {ETag: p2.ETag, PartNumber: aws.Int32(2)}}}}); err != nil {
		t.Fatalf("completing the upload started before the kill: %v", err)
	}
	if b, _ := get("big/pending.bin"); len(b) != len(part1)+len(part2) {
		t.Fatalf("the upload completed after restart: %d bytes", len(b))
	}
}
