package cli

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	sbidp "github.com/tipctl/tipctl/sandbox/idp"
)

// TestRefreshAfterACrashMidRefresh: a tipctl killed after the IdP rotated
// the refresh token, but before it saved the successor, leaves the old
// token in the store. Within the IdP's reuse grace window the next refresh
// works; past it, the reuse revokes the login and tipctl asks to log in.
func TestRefreshAfterACrashMidRefresh(t *testing.T) {
	for _, c := range []struct {
		name  string
		after time.Duration
		code  int
	}{
		{"within the grace window", time.Second, ExitOK},
		{"after the grace window", sbidp.DefaultRefreshReuseGrace + time.Second, ExitAuth},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := loggedIn(t)
			a := &App{Stdin: strings.NewReader(""), Stdout: new(strings.Builder), Stderr: new(strings.Builder), Getenv: os.Getenv}
			_, m, err := a.session()
			if err != nil {
				t.Fatal(err)
			}
			toks, err := m.Tokens()
			if err != nil || toks.RefreshToken == "" {
				t.Fatalf("stored tokens: %v", err)
			}
			// What the killed process did: the IdP answered, nobody saved it.
			resp, err := http.PostForm(strings.TrimSuffix(toks.Issuer, "/")+"/token", url.Values{
				"grant_type": {"refresh_token"}, "client_id": {"tipctl"}, "refresh_token": {toks.RefreshToken}})
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("the lost refresh: %v %v", resp, err)
			}
			resp.Body.Close()
			sb.Env.Advance(c.after)
			out, stderr, code := run(t, "auth", "refresh")
			if code != c.code {
				t.Fatalf("refresh %s: %d %q %q", c.name, code, out, stderr)
			}
			if code == ExitAuth && !strings.Contains(stderr, "tipctl auth login") {
				t.Fatalf("stderr %q", stderr)
			}
		})
	}
}
