package awsconf

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	u, _ := url.Parse("https://user:pw@idp.example/token?code=SECRETCODE&state=S1&X-Amz-Signature=abc&keep=1")
	got := RedactURL(u)
	for _, secret := range []string{"SECRETCODE", "S1", "abc", "pw"} {
		if strings.Contains(got, secret) {
			t.Fatalf("%q leaks %q", got, secret)
		}
	}
	if !strings.Contains(got, "keep=1") {
		t.Fatalf("%q dropped a harmless parameter", got)
	}
}

func TestTraceLinesCarryNoSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", "req-123")
		w.WriteHeader(418)
	}))
	defer srv.Close()
	var buf bytes.Buffer
	c := Trace(srv.Client(), &buf)
	resp, err := c.Get(srv.URL + "/x?refresh_token=TOPSECRET&a=b")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := buf.String()
	if !strings.Contains(line, "GET ") || !strings.Contains(line, "-> 418") || !strings.Contains(line, "request-id=req-123") {
		t.Fatalf("trace line %q", line)
	}
	if strings.Contains(line, "TOPSECRET") {
		t.Fatalf("trace leaks a token: %q", line)
	}
}

func TestEndpointPrecedence(t *testing.T) {
	env := map[string]string{"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_STS": "http://sts"}
	get := func(k string) string { return env[k] }
	if got := ServiceEndpoint("", "STS", get); got != "http://sts" {
		t.Fatalf("service variable: %q", got)
	}
	if got := ServiceEndpoint("", "S3", get); got != "http://all" {
		t.Fatalf("global variable: %q", got)
	}
	if got := ServiceEndpoint("http://explicit", "STS", get); got != "http://explicit" {
		t.Fatalf("explicit: %q", got)
	}
	for in, want := range map[string]bool{"http://127.0.0.1:4577": true, "http://localhost/x": true, "https://[::1]:9": true, "https://sts.amazonaws.com": false} {
		if IsLoopback(in) != want {
			t.Fatalf("IsLoopback(%q) != %v", in, want)
		}
	}
}

func TestCABundleErrors(t *testing.T) {
	if _, err := NewHTTPClient(filepath.Join(t.TempDir(), "missing.pem")); err == nil || !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
		t.Fatalf("missing bundle: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	c, err := NewHTTPClient(bad)
	if err != nil {
		t.Fatal(err) // read lazily
	}
	if _, err := c.Get("http://127.0.0.1:1/"); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("bad bundle on first request: %v", err)
	}
}
