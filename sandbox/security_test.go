package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

var adminKeys = aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// send sends req with body (set after signing, as an attacker replaying a
// captured request would) and returns the status and the reply.
func send(t *testing.T, req *http.Request, body string) (int, string) {
	t.Helper()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signedSTS is a header-signed awsQuery POST whose signature covers the
// declared payload hash of declaredBody, and not its Content-Length.
func signedSTS(t *testing.T, sb *sandbox.Sandbox, declaredBody, region string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, sb.URL()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("X-Amz-Content-Sha256", sha256Hex(declaredBody))
	if err := v4.NewSigner().SignHTTP(context.Background(), adminKeys, req, sha256Hex(declaredBody), "sts", region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestSignedBodyCannotBeSwapped: outside S3 the signature covers the body
// received, whatever X-Amz-Content-Sha256 declares. The attack: capture a
// signed GetCallerIdentity and resend it with an AssumeRole body and the
// original body's hash in the header. STS answered 200 with credentials.
func TestSignedBodyCannotBeSwapped(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	region := sb.Env.World.Region
	orig := "Action=GetCallerIdentity&Version=2011-06-15"
	evil := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
		"RoleArn": {ststest.Role(sb, "quicksight-snapshots")}, "RoleSessionName": {"swapped"}}.Encode()

	status, body := send(t, signedSTS(t, sb, orig, region, sb.Env.Now()), orig)
	if status != 200 || !strings.Contains(body, "<GetCallerIdentityResult>") {
		t.Fatalf("the signed request with its own body: %d %s", status, body)
	}
	status, body = send(t, signedSTS(t, sb, orig, region, sb.Env.Now()), evil)
	if status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("the swapped body: %d %s, want 403 SignatureDoesNotMatch", status, body)
	}
	if strings.Contains(body, "SecretAccessKey") {
		t.Error("the swapped body got credentials")
	}
}

// TestS3NeedsADeclaredPayloadHash: a header-signed S3 request declares its
// payload hash, as S3 requires, so the sandbox verifies the signature
// before it reads the body.
func TestS3NeedsADeclaredPayloadHash(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	req, _ := http.NewRequest(http.MethodPut, sb.URL()+"/quicksight-snapshots/undeclared.txt", nil)
	body := "a body whose hash is signed but not declared"
	if err := v4.NewSigner().SignHTTP(context.Background(), adminKeys, req, sha256Hex(body), "s3", sb.Env.World.Region, sb.Env.Now()); err != nil {
		t.Fatal(err)
	}
	status, reply := send(t, req, body)
	if status != 400 || !strings.Contains(reply, "<Code>InvalidRequest</Code>") || !strings.Contains(reply, "x-amz-content-sha256") {
		t.Errorf("%d %s, want 400 InvalidRequest naming x-amz-content-sha256", status, reply)
	}
}

func s3Client(sb *sandbox.Sandbox, region string) *awss3.Client {
	cfg := ststest.Config(sb, ststest.Admin())
	cfg.Region = region
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) { o.UsePathStyle = true })
}

// TestCredentialScopeMustNameTheSandboxRegion: a scope naming another
// region (bogus-region, *) was accepted. STS answers as AWS does,
// SignatureDoesNotMatch "Credential should be scoped to a valid region",
// and S3 with AuthorizationHeaderMalformed naming the expected region.
func TestCredentialScopeMustNameTheSandboxRegion(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	region := sb.Env.World.Region
	for _, bad := range []string{"bogus-region", "*", "eu-west-1"} {
		status, body := send(t, signedSTS(t, sb, "Action=GetCallerIdentity&Version=2011-06-15", bad, sb.Env.Now()), "Action=GetCallerIdentity&Version=2011-06-15")
		if status != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") ||
			!strings.Contains(body, "Credential should be scoped to a valid region, not &#39;"+bad+"&#39;") || !strings.Contains(body, region) {
			t.Errorf("STS signed for %s: %d %s", bad, status, body)
		}
	}
	// The SDK, configured for another region.
	cfg := ststest.Config(sb, ststest.Admin())
	cfg.Region = "eu-west-1"
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	ststest.WantAPIError(t, err, "SignatureDoesNotMatch", 403)
	if _, err := ststest.STS(sb, ststest.Admin()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("the sandbox's region: %v", err)
	}

	_, err = s3Client(sb, "eu-west-1").ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots")})
	msg := ststest.WantAPIError(t, err, "AuthorizationHeaderMalformed", 400)
	if want := "the region 'eu-west-1' is wrong; expecting '" + region + "'"; !strings.Contains(msg, want) {
		t.Errorf("S3 message %q lacks %q", msg, want)
	}
	if _, err := s3Client(sb, region).ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots")}); err != nil {
		t.Fatalf("S3 in the sandbox's region: %v", err)
	}

	// The scope's date must be the request's date.
	req := signedSTS(t, sb, "Action=GetCallerIdentity&Version=2011-06-15", region, sb.Env.Now())
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/"+sb.Env.Now().Format("20060102")+"/",
		"/"+sb.Env.Now().Add(-48*time.Hour).Format("20060102")+"/", 1))
	if status, body := send(t, req, "Action=GetCallerIdentity&Version=2011-06-15"); status != 403 || !strings.Contains(body, "Date in Credential scope does not match") {
		t.Errorf("scope date two days old: %d %s", status, body)
	}
}

// presign returns a presigned GET URL of an S3 object, signed at signTime
// for region, valid for expires seconds.
func presign(t *testing.T, sb *sandbox.Sandbox, path, region string, signTime time.Time, expires int) string {
	t.Helper()
	u := sb.URL() + path + "?X-Amz-Expires=" + strconv.Itoa(expires)
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), adminKeys, req, "UNSIGNED-PAYLOAD", "s3", region, signTime,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPresignedURLFromTheFuture: a presigned URL whose X-Amz-Date is a
// year ahead was valid for a year plus its expiry. S3 answers AccessDenied
// "Request is not yet valid"; a wrong region in its credential is
// AuthorizationQueryParametersError; an expiry beyond 7 days is refused.
func TestPresignedURLFromTheFuture(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	region := sb.Env.World.Region
	if _, err := s3Client(sb, region).PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"),
		Key: aws.String("presigned.txt"), Body: strings.NewReader("presigned content")}); err != nil {
		t.Fatal(err)
	}
	const path = "/quicksight-snapshots/presigned.txt"
	now := sb.Env.Now()
	if status, body := get(t, presign(t, sb, path, region, now, 3600)); status != 200 || body != "presigned content" {
		t.Fatalf("a URL signed now: %d %s", status, body)
	}
	if status, body := get(t, presign(t, sb, path, region, now.Add(5*time.Minute), 3600)); status != 200 {
		t.Errorf("a URL signed 5 minutes ahead (within the clock skew): %d %s", status, body)
	}
	status, body := get(t, presign(t, sb, path, region, now.AddDate(1, 0, 0), 3600))
	if status != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, "Request is not yet valid") {
		t.Errorf("a URL signed a year ahead: %d %s", status, body)
	}
	status, body = get(t, presign(t, sb, path, "eu-west-1", now, 3600))
	if status != 400 || !strings.Contains(body, "AuthorizationQueryParametersError") || !strings.Contains(body, "expecting &#39;"+region+"&#39;") ||
		!strings.Contains(body, "<Region>"+region+"</Region>") { // SDKs that redirect read <Region>
		t.Errorf("a URL signed for eu-west-1: %d %s", status, body)
	}
	if status, body := get(t, presign(t, sb, path, region, now, 7*24*3600+1)); status < 400 {
		t.Errorf("a URL valid for more than 7 days: %d %s", status, body)
	}
	if status, body := get(t, presign(t, sb, path, region, now.Add(-2*time.Hour), 3600)); status != 403 || !strings.Contains(body, "Request has expired") {
		t.Errorf("an expired URL: %d %s", status, body)
	}
}

// TestPresignedSTSStillVerifies: outside S3 a presigned request signs the
// hash of its (empty) body; a presigned GetCallerIdentity, the shape EKS
// tokens use, is accepted, and refused once its query is changed.
func TestPresignedSTSStillVerifies(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	// X-Amz-Expires goes in the query before signing, as EKS token generators do.
	expires := func(stack *middleware.Stack) error {
		return stack.Build.Add(middleware.BuildMiddlewareFunc("expires", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				q := req.URL.Query()
				q.Set("X-Amz-Expires", "60")
				req.URL.RawQuery = q.Encode()
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
	}
	p, err := sts.NewPresignClient(ststest.STS(sb, ststest.Admin())).PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{},
		func(o *sts.PresignOptions) {
			o.ClientOptions = append(o.ClientOptions, func(o *sts.Options) { o.APIOptions = append(o.APIOptions, expires) })
		})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(p.Method, p.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range p.SignedHeader {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	status, body := send(t, req, "")
	if status != 200 || !strings.Contains(body, ":user/admin") {
		t.Fatalf("presigned GetCallerIdentity: %d %s", status, body)
	}
	req, _ = http.NewRequest(p.Method, p.URL+"&RoleSessionName=added", nil)
	if status, body := send(t, req, ""); status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("presigned URL with a parameter added: %d %s", status, body)
	}
	req, _ = http.NewRequest(p.Method, p.URL, nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, body := send(t, req, "RoleSessionName=added"); status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("presigned URL with a body added: %d %s", status, body)
	}
}
