package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sandboxWorld is GET /_sandbox/world of the sandbox at url.
func sandboxWorld(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/_sandbox/world")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /_sandbox/world: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// TestSetupApplyDestroyOnBareSandbox: against `tipctl sandbox --bare`,
// setup plan lists every resource, apply creates them and writes the
// profile with which alice logs in and gets identity-enhanced credentials,
// a second plan and apply change nothing, and destroy returns the account
// to bare (the exported world compares equal).
func TestSetupApplyDestroyOnBareSandbox(t *testing.T) {
	e := newEnv(t)
	url := startSandboxProcess(t, e, "--bare")
	before := sandboxWorld(t, url)

	file := filepath.Join(e.home, "tip-setup.yaml")
	if _, stderr, code := e.run(nil, "setup", "init", "-f", file, "--issuer", url+"/idp", "--audience", "tipctl",
		"--endpoint-url", url, "--provider", "sandbox"); code != 0 {
		t.Fatalf("setup init: %d %s", code, stderr)
	}
	starter, _ := os.ReadFile(file)
	spec := strings.Replace(string(starter), "    assigned_groups: []\n", "    assigned_groups: [emea-sales, apac-sales]\n", 1) + `
access_grants:
  locations: [s3://analytics-data/]
  grants:
    - {group: emea-sales, permission: READ, target: "s3://analytics-data/emea/*"}
    - {group: apac-sales, permission: READ, target: "s3://analytics-data/apac/*"}
`
	if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}

	plan, stderr, code := e.run(nil, "setup", "plan", "-f", file)
	if code != 2 || !strings.Contains(plan, "+ create iam-role tip-bridge") || !strings.Contains(plan, "access-grant emea-sales READ") {
		t.Fatalf("plan on bare: %d\n%s\n%s", code, plan, stderr)
	}
	out, stderr, code := e.run(nil, "setup", "apply", "-f", file)
	if code != 0 || !strings.Contains(out, "arn:aws:iam::123456789012:role/tip-enhanced") ||
		!strings.Contains(out, "arn:aws:sso::123456789012:application/") {
		t.Fatalf("apply: %d\n%s\n%s", code, out, stderr)
	}
	if plan, stderr, code := e.run(nil, "setup", "plan", "-f", file); code != 0 || !strings.Contains(plan, "No changes") {
		t.Fatalf("plan after apply: %d\n%s\n%s", code, plan, stderr)
	}
	if out, stderr, code := e.run(nil, "setup", "apply", "-f", file); code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("second apply: %d\n%s\n%s", code, out, stderr)
	}

	// The profile apply wrote works for alice.
	self, _ := os.Executable()
	lo, stderr, code := e.run([]string{"BROWSER=" + self, "TIPCTL_E2E_BROWSER=1", "TIPCTL_TEST_USER=alice@example.com",
		"TIPCTL_TEST_PASSWORD=alice-sandbox-pw"}, "auth", "login", "--browser")
	if code != 0 || !strings.Contains(lo, "Logged in as alice@example.com") {
		t.Fatalf("login: %d %q %q", code, lo, stderr)
	}
	if creds, stderr, code := e.run(nil, "auth", "get-iam-credentials"); code != 0 || !strings.Contains(creds, `"SessionToken"`) {
		t.Fatalf("get-iam-credentials: %d %s", code, stderr)
	}
	diagOut, stderr, code := e.run(nil, "diag")
	// The whole chain works for alice: diag's dry run gets the identity-enhanced session.
	if !strings.Contains(diagOut, "PASS  e2e.assume_role") || !strings.Contains(diagOut, "PASS  idc.user.mapping") {
		t.Fatalf("diag for alice: %d\n%s\n%s", code, diagOut, stderr)
	}
	if code != 0 {
		t.Fatalf("diag for alice is not all PASS: %d\n%s\n%s", code, diagOut, stderr)
	}
	if out, stderr, code := e.run(nil, "s3ag", "get-data-access", "s3://analytics-data/emea/", "--permission", "READ"); code != 0 ||
		!strings.Contains(out, `"AccessKeyId"`) {
		t.Fatalf("alice reading emea/: %d %s", code, stderr)
	}
	if _, stderr, code := e.run(nil, "s3ag", "get-data-access", "s3://analytics-data/apac/", "--permission", "READ"); code == 0 {
		t.Fatalf("alice was granted apac/: %s", stderr)
	}
	// dave is not in Identity Center: diag's user-mapping check fails.
	if lo, stderr, code := e.run([]string{"BROWSER=" + self, "TIPCTL_E2E_BROWSER=1", "TIPCTL_TEST_USER=dave@example.com",
		"TIPCTL_TEST_PASSWORD=dave-sandbox-pw"}, "auth", "login", "--browser"); code != 0 {
		t.Fatalf("login dave: %d %q %q", code, lo, stderr)
	}
	if out, _, code := e.run(nil, "diag", "--no-e2e"); code != 1 || !strings.Contains(out, "FAIL  idc.user.mapping") {
		t.Fatalf("diag for dave: %d\n%s", code, out)
	}

	out, stderr, code = e.run(nil, "setup", "destroy", "-f", file)
	if code != 0 || !strings.Contains(out, "deleted iam-role tip-bridge") {
		t.Fatalf("destroy: %d\n%s\n%s", code, out, stderr)
	}
	if after := sandboxWorld(t, url); after != before {
		t.Fatalf("the world after destroy differs from bare:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if plan, _, code := e.run(nil, "setup", "plan", "-f", file); code != 2 || !strings.Contains(plan, "+ create application tipctl") {
		t.Fatalf("plan after destroy: %d\n%s", code, plan)
	}
}
