package cli

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/session"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode 日本":   "plain text, ünïcode 日本",
		"two\nlines\tand a tab":    "two\nlines\tand a tab",
		"\x1b[2Jcleared":           `\x1b[2Jcleared`,
		"\x1b]0;title\x07":         `\x1b]0;title\x07`,
		"carriage\rreturn":         `carriage\x0dreturn`,
		"del\x7f c1\u009b31m":      `del\u007f c1\u009b31m`,
		"bidi \u202egnp.exe\u202c": `bidi \u202egnp.exe\u202c`,
		"isolate \u2067x\u2069":    `isolate \u2067x\u2069`,
		"bad utf-8 \xff\xfe end":   `bad utf-8 \xff\xfe end`,
		"line\u2028separator":      `line\u2028separator`,
		"":                         "",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIdPErrorDescriptionIsEscaped: an IdP that answers the sign-in with an
// error_description carrying escape sequences cannot clear the terminal:
// the one-line error shows them escaped.
func TestIdPErrorDescriptionIsEscaped(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	prev := openBrowser
	t.Cleanup(func() { openBrowser = prev })
	openBrowser = func(u string) error {
		au, _ := url.Parse(u)
		q := au.Query()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"error": {"access_denied"}, "state": {q.Get("state")},
			"iss":               {strings.TrimSuffix(sb.URL(), "/") + "/idp"},
			"error_description": {"\x1b[2J\x1b[Hall clear\x1b]0;pwned\x07 \u202eevil"}}.Encode()
		resp, err := http.Get(back.String())
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	out, stderr, code := run(t, "auth", "login", "--timeout", "1m")
	if code != ExitAuth || out != "" {
		t.Fatalf("login: %d %q %q", code, out, stderr)
	}
	if strings.ContainsAny(stderr, "\x1b\x07\u202e") {
		t.Fatalf("raw control characters reached the terminal: %q", stderr)
	}
	if !strings.Contains(stderr, `\x1b[2J\x1b[Hall clear\x1b]0;pwned\x07 \u202eevil`) {
		t.Fatalf("the description is not shown escaped: %q", stderr)
	}
}

// TestStatusEscapesClaims: claims from the IdP (email) are shown escaped by
// `auth status`, in text and in JSON.
func TestStatusEscapesClaims(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	a := &App{Stdin: strings.NewReader(""), Stdout: new(strings.Builder), Stderr: new(strings.Builder), Getenv: os.Getenv}
	_, m, err := a.session()
	if err != nil {
		t.Fatal(err)
	}
	evil := "alice@example.com\x1b[1A\x1b[2K\rUser:         root@example.com\u009b"
	if err := m.SaveLogin(context.Background(), &session.Tokens{IDToken: "x.y.z", Email: evil, Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"auth", "status"}, {"auth", "status", "-o", "json"}} {
		out, stderr, code := run(t, args...)
		if code != 0 && code != ExitAuth { // 4: the fake login cannot be refreshed
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
		if strings.ContainsAny(out, "\x1b\r\u009b") {
			t.Fatalf("%v printed raw control characters: %q", args, out)
		}
		if !strings.Contains(out, `\x1b[1A`) && !strings.Contains(out, `\u001b[1A`) {
			t.Fatalf("%v does not show the claim escaped: %q", args, out)
		}
	}
}

// TestWeakStoreIsExplained: without a keyring or passphrase, login and
// status say what the file store's key file protects against and how to
// set a passphrase or use a keyring; with a passphrase they do not.
func TestWeakStoreIsExplained(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	home(t)
	t.Setenv("TIPCTL_FILE_PASSPHRASE", "")
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	_, stderr, code := run(t, "auth", "login")
	if code != 0 || !strings.Contains(stderr, "keeps its key beside the secrets") || !strings.Contains(stderr, "TIPCTL_FILE_PASSPHRASE") {
		t.Fatalf("login: %d %q", code, stderr)
	}
	out, _, _ := run(t, "auth", "status")
	if !strings.Contains(out, "not against anyone who can read your files") || !strings.Contains(out, "OS keyring") {
		t.Fatalf("status: %q", out)
	}
	if _, _, code := run(t, "auth", "logout"); code != 0 {
		t.Fatal("logout")
	}
	t.Setenv("TIPCTL_FILE_PASSPHRASE", "correct horse battery staple")
	_, stderr, _ = run(t, "auth", "login")
	out, _, _ = run(t, "auth", "status")
	if strings.Contains(stderr+out, "beside the secrets") || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("with a passphrase: %q %q", stderr, out)
	}
}
