package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/tip/config"
)

// TestSetupInitFromProfileAndExport: init writes a valid commented file
// from a profile; export writes the template and lists what it leaves out;
// a bad file is one line with file:line and exit 3.
func TestSetupInitFromProfileAndExport(t *testing.T) {
	dir := dtIsolate(t)
	cfg, _ := config.LoadFile(filepath.Join(dir, config.ConfigFileName))
	if err := cfg.Set(&config.Profile{Name: "okta", Provider: config.ProviderOIDC, Issuer: "https://dev-1.okta.com/oauth2/default",
		ClientID: "0oaclient", ApplicationARN: "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-abcdef0123456789",
		BridgeRoleARN: "arn:aws:iam::123456789012:role/tip-bridge", EnhancedRoleARN: "arn:aws:iam::123456789012:role/tip-enhanced",
		Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Save(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tip-setup.yaml")
	if r := dtRun(t, nil, "", "-p", "okta", "setup", "init", "--from-profile", "-f", file); r.code != ExitOK {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), "issuer: https://dev-1.okta.com/oauth2/default") || !strings.Contains(string(b), "audiences: [0oaclient]") ||
		!strings.Contains(string(b), "region: eu-west-1") || !strings.Contains(string(b), "# The iss claim") {
		t.Fatalf("starter:\n%s", b)
	}
	if r := dtRun(t, nil, "", "setup", "init", "-f", file, "--issuer", "https://x.example", "--audience", "a"); r.code != ExitUsage {
		t.Fatalf("init over an existing file: %d", r.code)
	}

	r := dtRun(t, nil, "", "setup", "export", "--format", "cloudformation", "-f", file)
	if r.code != ExitOK || !strings.Contains(r.stderr, "trusted token issuer") {
		t.Fatalf("export: %d %s", r.code, r.stderr)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("export is not YAML: %v", err)
	}
	trust := m["Resources"].(map[string]any)["EnhancedRole"].(map[string]any)["Properties"].(map[string]any)["AssumeRolePolicyDocument"]
	if !strings.Contains(mustJSON(t, trust), `"arn:aws:iam::aws:contextProvider/IdentityCenter"`) {
		t.Fatalf("enhanced trust %v", trust)
	}

	if err := os.WriteFile(file, append(b, []byte("roles:\n  bridge:\n    name: \"no spaces\"\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	r = dtRun(t, nil, "", "setup", "plan", "-f", file)
	if r.code != ExitConfig || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, file+":") {
		t.Fatalf("bad file: %d %q", r.code, r.stderr)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
