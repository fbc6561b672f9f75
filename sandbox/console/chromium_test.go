package console_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/cloudtrail/cttest"
	"github.com/tipctl/tipctl/sandbox/console"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

const browserFixture = "../../test/fixtures/browser"

func needChromium(t *testing.T) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		skip("%s is missing; install Debian's chromium (apt-get install -y chromium) to run the console browser test", chromium)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("node is not installed; the console browser test drives Chromium with playwright-core")
	}
	if _, err := os.Stat(filepath.Join(browserFixture, "node_modules", "playwright-core", "package.json")); err != nil {
		skip("the browser fixture is not installed; run `npm ci --prefix test/fixtures/browser`")
	}
}

// TestConsoleInChromium opens the console in headless Chromium, then plays
// alice's day (the demo's flow: sign-in, the three-step chain, an allowed
// read of emea/, a refused read of apac/) while the page is open: the page
// must draw her chain with three hops and her refused call live, and its
// matrix must mark emea/ allowed and apac/ denied for her. The screenshot
// is kept (path in the log; TIPCTL_ARTIFACT_DIR keeps it after the test).
// The matrix must also show alice's Redshift table with the row-level
// security her role carries, and the Q Business documents her group's ACL
// lets her see (and not APAC's).
func TestConsoleInChromium(t *testing.T) {
	needChromium(t)
	sb := ststest.Sandbox(t, nil)
	dir := os.Getenv("TIPCTL_ARTIFACT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "console-"+time.Now().UTC().Format("20060102T150405")+".png")
	const (
		emea = "s3://analytics-data/emea/"
		apac = "s3://analytics-data/apac/"
	)
	const (
		salesData = "redshift:redshift-tip-enabled/dev/public.sales_data"
		emeaDoc   = "qbusiness:tip-sandbox-assistant/emea-q3-pipeline"
		apacDoc   = "qbusiness:tip-sandbox-assistant/apac-q3-pipeline"
	)
	cmd := exec.Command("node", filepath.Join(browserFixture, "console.js"), sb.URL()+console.Prefix, shot, "alice@example.com", emea, apac,
		salesData, emeaDoc, apacDoc)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		_ = cmd.Wait()
		t.Fatalf("the console did not load: %q %s", lines.Text(), stderr.String())
	}
	cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", emea, apac)
	if !lines.Scan() {
		_ = cmd.Wait()
		t.Fatalf("the page never showed alice's chain: %s", stderr.String())
	}
	var got struct {
		Hops                                []string
		IDToken, DeniedCall, TimelineDenied string
		AllowedCell, DeniedCell             string
		Cells                               map[string]*struct{ Class, Text, Title string }
		Errors                              []string
	}
	if err := json.Unmarshal(lines.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, lines.Text())
	}
	t.Logf("screenshot: %s", shot)
	if strings.Join(got.Hops, ",") != "bridge session,Identity Center token,identity-enhanced session" {
		t.Errorf("hops %v", got.Hops)
	}
	if !strings.Contains(got.IDToken, "alice@example.com") {
		t.Errorf("the IdP id_token box does not show alice's claims: %s", got.IDToken)
	}
	if !strings.Contains(got.DeniedCall, "GetDataAccess") || !strings.Contains(got.DeniedCall, "apac") || !strings.Contains(got.DeniedCall, "no access grant") {
		t.Errorf("denied call: %s", got.DeniedCall)
	}
	if !strings.Contains(got.TimelineDenied, "access-grants") {
		t.Errorf("timeline refusal lacks its reason: %s", got.TimelineDenied)
	}
	if !strings.Contains(got.AllowedCell, "allowed") || !strings.Contains(got.DeniedCell, "denied") {
		t.Errorf("matrix: emea %q apac %q", got.AllowedCell, got.DeniedCell)
	}
	cell := func(res string) struct{ Class, Text, Title string } {
		c := got.Cells[res]
		if c == nil {
			t.Errorf("the matrix has no cell for alice × %s", res)
			return struct{ Class, Text, Title string }{}
		}
		return *c
	}
	if c := cell(salesData); !strings.Contains(c.Class, "allowed") || !strings.Contains(c.Text, "RLS eu_region_filter rows") ||
		!strings.Contains(c.Title, "AWSIDC:emea-sales") {
		t.Errorf("alice × sales_data: %+v", c)
	}
	if c := cell(emeaDoc); !strings.Contains(c.Class, "allowed") || !strings.Contains(c.Text, "group emea-sales") {
		t.Errorf("alice × %s: %+v", emeaDoc, c)
	}
	if c := cell(apacDoc); !strings.Contains(c.Class, "denied") || !strings.Contains(c.Title, "group apac-sales") {
		t.Errorf("alice × %s: %+v", apacDoc, c)
	}
	if len(got.Errors) > 0 {
		t.Errorf("page errors: %v", got.Errors)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 1000 {
		t.Errorf("no screenshot at %s: %v", shot, err)
	}
}
