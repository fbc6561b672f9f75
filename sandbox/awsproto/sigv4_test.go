package awsproto

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	testNow    = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	testLookup = func(id string) (Key, bool) { return Key{Secret: "secret"}, id == "AKID" }
)

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// signed is a POST signed for service and region whose signature covers
// the declared X-Amz-Content-Sha256 of declared.
func signed(t *testing.T, service, region, declared string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://sandbox.test/", nil)
	r.ContentLength = 0
	r.Header.Set("X-Amz-Content-Sha256", hashOf(declared))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"},
		r, hashOf(declared), service, region, testNow); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestVerifyHashesTheBodyOutsideS3: a declared X-Amz-Content-Sha256 does
// not vouch for the body outside S3; in S3 the signature covers the
// declaration and the S3 handler holds the body to it.
func TestVerifyHashesTheBodyOutsideS3(t *testing.T) {
	for _, service := range []string{"sts", "sso-oauth", "quicksight", "s3"} {
		r := signed(t, service, "us-east-1", "Action=GetCallerIdentity")
		if _, e := Verify(r, []byte("Action=GetCallerIdentity"), testNow, testLookup, VerifyOptions{S3: service == "s3"}); e != nil {
			t.Errorf("%s, the signed body: %v", service, e)
		}
		_, e := Verify(r, []byte("Action=AssumeRole"), testNow, testLookup, VerifyOptions{S3: service == "s3"})
		switch {
		case service == "s3" && e != nil:
			t.Errorf("s3 verifies the declaration, not the body (the handler compares them): %v", e)
		case service != "s3" && (e == nil || e.Code != "SignatureDoesNotMatch"):
			t.Errorf("%s, another body under the declared hash: %v, want SignatureDoesNotMatch", service, e)
		}
	}
}

// TestVerifyScope: the credential scope names the sandbox's region (IAM,
// a global service, signs for us-east-1) and the request's date.
func TestVerifyScope(t *testing.T) {
	const body = "Action=GetCallerIdentity"
	cases := []struct {
		service, region, sandbox string
		s3                       bool
		code, msg                string
	}{
		{"sts", "eu-west-1", "eu-west-1", false, "", ""},
		{"sts", "bogus-region", "eu-west-1", false, "SignatureDoesNotMatch", "Credential should be scoped to a valid region, not 'bogus-region'"},
		{"sts", "*", "eu-west-1", false, "SignatureDoesNotMatch", "'eu-west-1'"},
		{"iam", "us-east-1", "eu-west-1", false, "", ""},
		{"iam", "eu-west-1", "eu-west-1", false, "", ""},
		{"iam", "ap-south-1", "eu-west-1", false, "SignatureDoesNotMatch", "valid region"},
		{"s3", "us-east-1", "eu-west-1", true, "AuthorizationHeaderMalformed", "the region 'us-east-1' is wrong; expecting 'eu-west-1'"},
	}
	for _, c := range cases {
		r := signed(t, c.service, c.region, body)
		_, e := Verify(r, []byte(body), testNow, testLookup, VerifyOptions{S3: c.s3, Region: c.sandbox})
		if c.code == "" {
			if e != nil {
				t.Errorf("%s signed for %s in a %s sandbox: %v", c.service, c.region, c.sandbox, e)
			}
			continue
		}
		if e == nil || e.Code != c.code || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s signed for %s in a %s sandbox: %v, want %s %q", c.service, c.region, c.sandbox, e, c.code, c.msg)
		}
	}
	// A scope dated the day before X-Amz-Date.
	r := signed(t, "sts", "us-east-1", body)
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20261122/", "/20261121/", 1))
	if _, e := Verify(r, []byte(body), testNow, testLookup, VerifyOptions{Region: "us-east-1"}); e == nil || !strings.Contains(e.Message, "Date in Credential scope") {
		t.Errorf("scope date mismatch: %v", e)
	}
}
