// Package nodeidp runs the node-oidc-provider fixture
// (test/fixtures/oidc-provider) for tests outside tip/idp, and signs in
// there as a person does: the devInteractions login and consent forms,
// then the redirect back to the loopback.
package nodeidp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// The fixture's account, client and API audience.
const (
	Account     = "nora"
	Email       = "nora@oidc-provider.test"
	ClientID    = "tipctl"
	APIAudience = "api://tipctl-tti"
	APIScope    = "api:read"
)

// IdP is a running node-oidc-provider.
type IdP struct {
	Issuer string
	stderr *buffer
}

type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// fixtureDir is test/fixtures/oidc-provider of this module.
func fixtureDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "test", "fixtures", "oidc-provider")
}

// Start runs `node server.js 0` and waits for its ready line. Without node
// or the fixture's node_modules the test is skipped, except in CI.
func Start(t *testing.T) *IdP {
	t.Helper()
	skip := t.Skip
	if os.Getenv("CI") == "true" {
		skip = t.Fatal
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed; the node-oidc-provider tests need Node.js >= 20")
	}
	dir := fixtureDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		skip("the oidc-provider fixture is not installed; run `npm ci --prefix test/fixtures/oidc-provider`")
	}
	cmd := exec.Command(node, "server.js", "0")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &IdP{stderr: &buffer{}}
	cmd.Stderr = n.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if issuer, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- issuer
			}
		}
	}()
	select {
	case n.Issuer = <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("node-oidc-provider did not start; stderr:\n%s", n.stderr.String())
	}
	return n
}

// SignIn goes through the provider's pages from authURL as a person does
// and follows the redirect back to the loopback (what a browser does when
// tipctl opens it).
func (n *IdP) SignIn(ctx context.Context, authURL string) error {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(n.Issuer)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	method, target, form := http.MethodGet, authURL, url.Values(nil)
	for step := 0; step < 20; step++ {
		resp, page, err := Fetch(ctx, c, method, target, form)
		if err != nil {
			return err
		}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return err
			}
			if loc.Host != u.Host { // back to the loopback
				r, err := http.Get(loc.String())
				if err != nil {
					return err
				}
				r.Body.Close()
				return nil
			}
			method, target, form = http.MethodGet, loc.String(), nil
			continue
		}
		doc, err := html.Parse(bytes.NewReader(page))
		if err != nil {
			return err
		}
		action, values, ok := FirstForm(doc)
		if resp.StatusCode != http.StatusOK || !ok {
			return fmt.Errorf("%s %s: HTTP %d without a form", method, target, resp.StatusCode)
		}
		FillLogin(values)
		next, _ := resp.Request.URL.Parse(action)
		method, target, form = http.MethodPost, next.String(), values
	}
	return errors.New("too many pages")
}

// Fetch is one page of a sign-in: GET target, or POST form to it, and
// read at most 1 MiB of the reply (the body is closed).
func Fetch(ctx context.Context, c *http.Client, method, target string, form url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp, page, nil
}

// FillLogin puts the fixture's account into a devInteractions login form
// (a form without a login field is left alone).
func FillLogin(form url.Values) {
	if form.Has("login") {
		form.Set("login", Account)
		form.Set("password", "any password (devInteractions ignores it)")
	}
}

// FirstForm finds the first form in a page: its action and the values of
// its named inputs.
func FirstForm(n *html.Node) (string, url.Values, bool) {
	if n.Type == html.ElementNode && n.Data == "form" {
		v := url.Values{}
		var walk func(*html.Node)
		walk = func(c *html.Node) {
			if c.Type == html.ElementNode && c.Data == "input" && Attr(c, "name") != "" {
				v.Set(Attr(c, "name"), Attr(c, "value"))
			}
			for ch := c.FirstChild; ch != nil; ch = ch.NextSibling {
				walk(ch)
			}
		}
		walk(n)
		return Attr(n, "action"), v, true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if a, v, ok := FirstForm(c); ok {
			return a, v, ok
		}
	}
	return "", nil, false
}

// Attr is the value of an element's attribute ("" when absent).
func Attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
