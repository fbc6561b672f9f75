package awsproto

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzParseAuthorization: any header either parses into a complete
// signature or is refused with IncompleteSignature; never a panic.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd",
		"AWS4-HMAC-SHA256 Credential=/a/b/c/aws4_request,SignedHeaders=,Signature=",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 Credential",
		"Basic dXNlcjpwYXNz",
		"AWS4-HMAC-SHA256 Credential=A/1/2/3/aws4_request, SignedHeaders=a;b;;c, Signature=x, Extra=y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		sig, err := ParseAuthorization(h)
		if err != nil {
			if err.Code != "IncompleteSignature" {
				t.Fatalf("unexpected code %q", err.Code)
			}
			return
		}
		if sig.AccessKeyID == "" || sig.Signature == "" || len(sig.SignedHeaders) == 0 {
			t.Fatalf("accepted an incomplete header %q", h)
		}
	})
}

// FuzzVerifyRequest: a request with arbitrary headers and body is either
// verified (impossible without the secret) or refused with a modeled code.
func FuzzVerifyRequest(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=test/20261122/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20261122T000000Z", "Action=GetCallerIdentity")
	f.Add("AWS4-HMAC-SHA256 Credential=test/20261122/us-east-1/sts/aws4_request, SignedHeaders=content-length;host, Signature=00", "bad", "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256")
	codes := map[string]bool{"IncompleteSignature": true, "InvalidClientTokenId": true, "SignatureDoesNotMatch": true,
		"RequestTimeTooSkewed": true, "ExpiredToken": true, "MissingAuthenticationToken": true, "AccessDenied": true}
	f.Fuzz(func(t *testing.T, auth, date, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(body)))
		r.URL.RawQuery = body // arbitrary, possibly invalid, query
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		lookup := func(id string) (Key, bool) { return Key{Secret: "test"}, id == "test" }
		now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
		sig, err := Verify(r, []byte(body), now, lookup, VerifyOptions{})
		if err == nil {
			t.Fatalf("verified a forged request: %+v", sig)
		}
		if !codes[err.Code] {
			t.Fatalf("unmodeled error code %q", err.Code)
		}
	})
}

// FuzzDecodeBodies: the awsQuery form and JSON decoders return a modeled
// error or a value for any input.
func FuzzDecodeBodies(f *testing.F) {
	for _, s := range []string{"Action=AssumeRole&RoleArn=arn", "%zz", "a=1&a=2&&=", `{"clientId":"x"}`, `{"a":`, `[1,2]`, "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseForm(b); err != nil && err.Status != http.StatusBadRequest {
			t.Fatalf("form error status %d", err.Status)
		}
		var v struct {
			ClientID string `json:"clientId"`
			Scope    []string
		}
		if err := DecodeJSON(b, &v, "InvalidRequestException"); err != nil && err.Code != "InvalidRequestException" {
			t.Fatalf("json error code %q", err.Code)
		}
	})
}
