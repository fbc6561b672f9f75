package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/world"
)

// wireRecorder sits in front of the sandbox and sees every call made to
// it (tipctl's, the sandbox's own, the login "browser"'s). It collects every secret value that crosses the wire, whichever side sent
// it: authorization codes, PKCE verifiers, passwords, IdP and Identity
// Center tokens, assertions, access keys, secret keys and session tokens.
type wireRecorder struct {
	mu      sync.Mutex
	secrets map[string]string // value -> what it was first seen as
	kinds   map[string]bool   // every kind of secret seen
	next    http.Handler
}

var (
	secretFields = regexp.MustCompile(`^(code|code_verifier|codeVerifier|password|refresh_token|refreshToken|id_token|idToken|access_token|accessToken|assertion|subject_token|subjectToken|device_code|deviceCode|client_secret|WebIdentityToken|ProvidedContexts\.member\.\d+\.ContextAssertion|AccessKeyId|SecretAccessKey|SessionToken|Token)$`)
	xmlSecrets   = regexp.MustCompile(`<(AccessKeyId|SecretAccessKey|SessionToken)>([^<]+)</`)
)

func (r *wireRecorder) add(kind, v string) {
	if len(v) < 8 {
		return
	}
	r.mu.Lock()
	if _, ok := r.secrets[v]; !ok {
		r.secrets[v] = kind
	}
	r.kinds[kind] = true
	r.mu.Unlock()
}

func (r *wireRecorder) scanValues(vals url.Values, where string) {
	for k, vs := range vals {
		if secretFields.MatchString(k) {
			for _, v := range vs {
				r.add(where+" "+k, v)
			}
		}
	}
}

func (r *wireRecorder) scanJSON(b []byte, where string) {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				if s, ok := e.(string); ok && secretFields.MatchString(k) {
					r.add(where+" "+k, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
}

func (r *wireRecorder) scanBody(b []byte, contentType, where string) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		if vals, err := url.ParseQuery(string(b)); err == nil {
			r.scanValues(vals, where)
		}
	case strings.Contains(mt, "json") || bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")):
		r.scanJSON(b, where)
	}
	for _, m := range xmlSecrets.FindAllSubmatch(b, -1) {
		r.add(where+" "+string(m[1]), string(m[2]))
	}
}

func (r *wireRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.scanValues(req.URL.Query(), "request query")
	r.scanBody(body, req.Header.Get("Content-Type"), "request")
	r.add("request X-Amz-Security-Token", req.Header.Get("X-Amz-Security-Token"))
	req.Body = io.NopCloser(bytes.NewReader(body))
	rr := httptest.NewRecorder()
	r.next.ServeHTTP(rr, req)
	rb := rr.Body.Bytes()
	r.scanBody(rb, rr.Header().Get("Content-Type"), "response")
	if loc, err := url.Parse(rr.Header().Get("Location")); err == nil {
		r.scanValues(loc.Query(), "redirect")
	}
	for k, vs := range rr.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rr.Code)
	w.Write(rb)
}

// recordedSandbox starts a sandbox whose every request and reply passes
// through a wireRecorder: its world's endpoint (and so the IdP issuer and
// every URL it hands out) is the recorder's address.
func recordedSandbox(t *testing.T) (*wireRecorder, string) {
	t.Helper()
	rec := &wireRecorder{secrets: map[string]string{}, kinds: map[string]bool{}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	w, err := world.Default(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(w)
	if err != nil {
		t.Fatal(err)
	}
	rec.next = sb
	return rec, srv.URL
}

var traceLine = regexp.MustCompile(`(?m)^\[debug\] (GET|POST) (http://127\.0\.0\.1:\d+\S*)(?: \S+)? -> (\d{3}) in [0-9.]+(?:µs|ms|s)(?: request-id=(\S+))?$`)

func TestDebugTraceRedactsEverySecret(t *testing.T) {
	rec, endpoint := recordedSandbox(t)
	home(t)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/aws-config")
	var stderr, stdout strings.Builder
	step := func(args ...string) {
		t.Helper()
		out, errs, code := run(t, append([]string{"--debug"}, args...)...)
		stdout.WriteString(out)
		stderr.WriteString(errs)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
	}
	step("configure", "sandbox", "--endpoint", endpoint)
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	step("auth", "login")
	step("auth", "get-iam-credentials")
	step("auth", "refresh")
	step("exec", "--s3ag", "s3://analytics-data/emea/", "--", "sh", "-c", "exit 0")
	step("exec", "--", "sh", "-c", "exit 0")
	step("configure", "aws-profile", "analytics", "--yes")
	step("auth", "logout")
	trace := stderr.String()

	// The secrets of the flow: from the wire, and what tipctl printed.
	var pc processCreds
	for _, l := range strings.Split(stdout.String(), "\n") {
		if json.Unmarshal([]byte(l), &pc) == nil && pc.SecretAccessKey != "" {
			rec.add("credential_process SecretAccessKey", pc.SecretAccessKey)
			rec.add("credential_process SessionToken", pc.SessionToken)
			rec.add("credential_process AccessKeyId", pc.AccessKeyId)
		}
	}
	kinds := rec.kinds
	for v, kind := range rec.secrets {
		if strings.Contains(trace, v) {
			t.Errorf("--debug output holds a secret (%s)", kind)
		}
	}
	for _, want := range []string{"redirect code", "request code_verifier", "response id_token", "response refresh_token",
		"request refresh_token", "response accessToken", "response SecretAccessKey", "response SessionToken", "request password"} {
		if !kinds[want] {
			t.Errorf("the recorder saw no %q on the wire; saw %v", want, kinds)
		}
	}
	if len(rec.secrets) < 20 {
		t.Errorf("only %d secret values recorded", len(rec.secrets))
	}

	// One trace line per call with method, URL, status, duration and the
	// AWS request id, covering every kind of endpoint.
	lines := traceLine.FindAllStringSubmatch(trace, -1)
	seen := map[string]bool{}
	for _, m := range lines {
		u, _ := url.Parse(m[2])
		switch {
		case strings.HasSuffix(u.Path, "/.well-known/openid-configuration"):
			seen["discovery"] = true
		case strings.HasPrefix(u.Path, "/idp") && m[1] == "POST":
			seen["idp "+u.Path[strings.LastIndex(u.Path, "/")+1:]] = true
		case u.Path == "/token" && u.Query().Get("aws_iam") == "t":
			seen["sso-oauth"] = true
		case strings.HasPrefix(u.Path, "/v20180820/accessgrantsinstance/dataaccess"):
			seen["s3control"] = true
		case u.Path == "/" && m[1] == "POST":
			seen["sts"] = true
		}
		if m[4] != "" {
			seen["request-id"] = true
		}
	}
	for _, want := range []string{"discovery", "idp token", "sso-oauth", "sts", "s3control", "request-id"} {
		if !seen[want] {
			t.Errorf("no trace of %s in:\n%s", want, trace)
		}
	}
	if t.Failed() {
		t.Logf("trace:\n%s", trace)
	}
}
