package awsconf

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// Tracer is an http.RoundTripper that writes one line per call to Out:
// method, URL (query secrets redacted), status, duration and the AWS
// request id. Bodies are never logged.
type Tracer struct {
	Next http.RoundTripper
	Out  io.Writer
	mu   sync.Mutex
}

// Trace wraps c's transport with a Tracer writing to out.
func Trace(c *http.Client, out io.Writer) *http.Client {
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp := *c
	cp.Transport = &Tracer{Next: next, Out: out}
	return &cp
}

// secretParams are query parameters whose values are secrets.
var secretParams = lazyre.New(`(?i)^(x-amz-signature|x-amz-security-token|x-amz-credential|code|code_verifier|state|nonce|token|refresh_token|id_token|access_token|assertion|password|client_secret|webidentitytoken|device_code|user_code|id_token_hint)$`)

// RedactURL removes secrets from a URL's query.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	cp := *u
	cp.User = nil
	q := cp.Query()
	changed := false
	for k := range q {
		if secretParams.MatchString(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		cp.RawQuery = q.Encode()
	}
	return cp.String()
}

type secretURLKey struct{}

// WithSecretURL marks a request whose URL is itself a credential: a
// download URL that carries a bearer token in its path or a presigned
// query (QuickSight snapshot results; curl downloads the file with it
// alone). The tracer then prints only its scheme and host.
func WithSecretURL(ctx context.Context) context.Context {
	return context.WithValue(ctx, secretURLKey{}, true)
}

// RoundTrip implements http.RoundTripper.
func (t *Tracer) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.Next.RoundTrip(r)
	d := time.Since(start).Round(100 * time.Microsecond)
	op := ""
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		op = " " + target
	}
	shown := RedactURL(r.URL)
	if secret, _ := r.Context().Value(secretURLKey{}).(bool); secret {
		shown = r.URL.Scheme + "://" + r.URL.Host + "/REDACTED"
	}
	var line string
	if err != nil {
		msg := err.Error()
		if shown != RedactURL(r.URL) {
			msg = strings.ReplaceAll(msg, r.URL.String(), shown)
		}
		line = fmt.Sprintf("[debug] %s %s%s -> error after %s: %s", r.Method, shown, op, d, redactText(msg))
	} else {
		rid := resp.Header.Get("X-Amzn-Requestid")
		if rid == "" {
			rid = resp.Header.Get("X-Amz-Request-Id")
		}
		if rid != "" {
			rid = " request-id=" + rid
		}
		line = fmt.Sprintf("[debug] %s %s%s -> %d in %s%s", r.Method, shown, op, resp.StatusCode, d, rid)
	}
	t.mu.Lock()
	fmt.Fprintln(t.Out, line)
	t.mu.Unlock()
	return resp, err
}

var urlInText = lazyre.New(`https?://[^\s"]+`)

// redactText redacts secrets in URLs embedded in an error message.
func redactText(s string) string {
	return urlInText.ReplaceAllStringFunc(s, func(m string) string {
		u, err := url.Parse(strings.TrimRight(m, ":"))
		if err != nil {
			return "URL"
		}
		return RedactURL(u)
	})
}
