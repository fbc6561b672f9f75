package idp_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/idp"
)

const browserFixture = "../../test/fixtures/browser"

// TestLoginChromium: a real browser (Debian's headless Chromium, driven by
// playwright-core through the BROWSER wrapper) opens the sandbox IdP's
// login page, signs in, and is redirected back to the loopback; Login uses
// OpenBrowser exactly as tipctl does.
func TestLoginChromium(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s is missing; install Debian's chromium (apt-get install -y chromium) to run the real-browser login test", chromium)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; the real-browser login test drives Chromium with playwright-core")
	}
	if _, err := os.Stat(filepath.Join(browserFixture, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Skip("the browser fixture is not installed; run `npm ci --prefix test/fixtures/browser`")
	}
	wrapper, err := filepath.Abs(filepath.Join(browserFixture, "open-in-chromium.sh"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROWSER", wrapper)
	t.Setenv("TIPCTL_TEST_USER", alice)
	t.Setenv("TIPCTL_TEST_PASSWORD", alicePW)

	sb := ststest.Sandbox(t, nil)
	var out syncBuffer
	start := time.Now()
	opened := make(chan error, 1)
	open := func(u string) error {
		err := idp.OpenBrowser(u) // runs the BROWSER wrapper until the browser shows the loopback page
		opened <- err
		return err
	}
	toks, err := idp.Login(context.Background(), sandboxConfig(sb), idp.LoginOptions{Open: open, Out: &out, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatalf("Login with Chromium: %v\nOut: %s", err, out.String())
	}
	// The wrapper exits 0 only when Chromium shows the loopback's success page.
	select {
	case err := <-opened:
		if err != nil {
			t.Errorf("the browser did not end on the success page: %v", err)
		}
	case <-time.After(time.Minute):
		t.Errorf("the browser wrapper did not finish")
	}
	t.Logf("Chromium login took %v", time.Since(start).Round(time.Millisecond))
	if toks.Claims.Email != alice || toks.RefreshToken == "" {
		t.Errorf("tokens: email %q refresh %v", toks.Claims.Email, toks.RefreshToken != "")
	}
	if strings.Contains(out.String(), "Could not open a browser") {
		t.Errorf("Out = %s", out.String())
	}
	// The browser really went through the IdP's login page.
	if sb.Env.Stats.Get("idp:authorize") < 1 || sb.Env.Stats.Get("idp:login") != 1 || sb.Env.Stats.Get("idp:token") != 1 {
		t.Errorf("IdP stats: authorize %d login %d token %d", sb.Env.Stats.Get("idp:authorize"), sb.Env.Stats.Get("idp:login"), sb.Env.Stats.Get("idp:token"))
	}
}
