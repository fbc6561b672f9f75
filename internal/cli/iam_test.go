package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIAMServices(t *testing.T) {
	dtIsolate(t)
	r := dtRun(t, nil, "", "iam", "services", "--search", "QuickSight", "-o", "json")
	var list []struct{ Name, Prefix, Source string }
	if r.code != ExitOK || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list) != 1 || list[0].Prefix != "quicksight" {
		t.Fatalf("exit %d %s", r.code, r.stdout)
	}
	r = dtRun(t, nil, "", "iam", "services")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != ExitOK || !strings.HasPrefix(lines[0], "PREFIX") || len(lines) < 200 || !strings.Contains(r.stdout, "\nsts ") {
		t.Fatalf("exit %d, %d lines", r.code, len(lines))
	}
	r = dtRun(t, nil, "", "iam", "services", "--search", "no such thing", "-o", "json")
	if r.code != ExitOK || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("empty search: %q", r.stdout)
	}
	if r := dtRun(t, nil, "", "iam"); r.code != ExitUsage {
		t.Fatalf("bare iam: exit %d", r.code)
	}
}

func TestIAMLintPolicy(t *testing.T) {
	dtIsolate(t)
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:AssumeRole"},
	  {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":"sts:SetContext",
	   "Condition":{"ForAllValues:ArnEquals":{"sts:RequestContextProviders":"arn:aws:iam::aws:contextProvider/IdentityCenter"},"Null":{"sts:RequestContextProviders":"false"}}}]}`)
	bad := write("bad.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":["sts:AssumeRole","stz:TagSession"]}]}`)

	r := dtRun(t, nil, "", "iam", "lint-policy", "--kind", "enhanced-trust", good)
	if r.code != ExitOK || !strings.Contains(r.stdout, "no findings") {
		t.Fatalf("good: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = dtRun(t, nil, "", "iam", "lint-policy", "--kind", "enhanced-trust", "-o", "json", bad)
	var rep struct {
		Kind     string
		Errors   int
		Findings []struct{ Severity, Code, Fix string }
	}
	if r.code != ExitFailure || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.Errors != 2 || rep.Kind != "enhanced-trust" {
		t.Fatalf("bad: exit %d %s", r.code, r.stdout)
	}
	codes := rep.Findings[0].Code + "," + rep.Findings[1].Code
	if !strings.Contains(codes, "unknown-service") || !strings.Contains(codes, "missing-set-context") {
		t.Fatalf("findings %+v", rep.Findings)
	}
	if !strings.Contains(r.stderr, "2 error(s)") {
		t.Fatalf("stderr %q", r.stderr)
	}
	// Text from stdin; a web-identity trust without aud.
	r = dtRun(t, nil, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/idp.example.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`,
		"iam", "lint-policy", "-")
	if r.code != ExitFailure || !strings.Contains(r.stdout, "web-identity-no-aud") || !strings.Contains(r.stdout, `fix: add "Condition"`) {
		t.Fatalf("stdin: exit %d %s", r.code, r.stdout)
	}
	// A warning alone does not fail.
	r = dtRun(t, nil, "", "iam", "lint-policy", "--kind", "trust", write("warn.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]}`))
	if r.code != ExitOK || !strings.Contains(r.stdout, "warning missing-set-context") {
		t.Fatalf("warning: exit %d %s", r.code, r.stdout)
	}
	for _, args := range [][]string{{"iam", "lint-policy", filepath.Join(dir, "missing.json")}, {"iam", "lint-policy", "--kind", "role", good}, {"iam", "lint-policy"}} {
		if r := dtRun(t, nil, "", args...); r.code != ExitUsage {
			t.Errorf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
}

// TestIAMLintPolicyEnhancedRole: the identity-enhanced role's trust and
// permissions as they were before issue 11 A5 (the default world's and
// generate cfn-template's) are security findings with the exact fix.
func TestIAMLintPolicyEnhancedRole(t *testing.T) {
	dtIsolate(t)
	dir := t.TempDir()
	trust := filepath.Join(dir, "trust.json")
	perms := filepath.Join(dir, "perms.json")
	if err := os.WriteFile(trust, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":["sts:AssumeRole","sts:SetContext","sts:SetSourceIdentity"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(perms, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetDataAccess","quicksight:StartDashboardSnapshotJob"],"Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := dtRun(t, nil, "", "iam", "lint-policy", "--kind", "enhanced-trust", trust)
	if r.code != ExitFailure || !strings.Contains(r.stdout, "error set-context-any-provider: Statement[1]") ||
		!strings.Contains(r.stdout, `fix: move "sts:SetContext" out of this statement into its own statement for the same Principal with "Condition": {"ForAllValues:ArnEquals": {"sts:RequestContextProviders": "arn:aws:iam::aws:contextProvider/IdentityCenter"}, "Null": {"sts:RequestContextProviders": "false"}}`) {
		t.Fatalf("enhanced trust: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = dtRun(t, nil, "", "iam", "lint-policy", "--kind", "enhanced", perms)
	if r.code != ExitFailure || !strings.Contains(r.stdout, "error no-identity-condition: Statement[1]") ||
		!strings.Contains(r.stdout, `fix: add "Condition": {"Null": {"identitystore:UserId": "false"}} to this statement`) {
		t.Fatalf("enhanced permissions: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Fixed as the fixes say, both are clean.
	if err := os.WriteFile(perms, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetDataAccess","quicksight:StartDashboardSnapshotJob"],"Resource":"*","Condition":{"Null":{"identitystore:UserId":"false"}}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := dtRun(t, nil, "", "iam", "lint-policy", "--kind", "enhanced", perms); r.code != ExitOK || !strings.Contains(r.stdout, "no findings") {
		t.Fatalf("fixed permissions: exit %d %s", r.code, r.stdout)
	}
}

// TestIAMLintMisspelledAction: the linter knows every action name of the
// Service Authorization Reference, and the catalog its services.
func TestIAMLintMisspelledAction(t *testing.T) {
	dtIsolate(t)
	r := dtRun(t, nil, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"*"}]}`, "iam", "lint-policy", "-")
	if r.code != ExitFailure || !strings.Contains(r.stdout, "unknown-action") || !strings.Contains(r.stdout, "did you mean s3:GetObject?") {
		t.Fatalf("s3:GetObjekt: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = dtRun(t, nil, "", "iam", "services", "--search", "kafka-cluster")
	if r.code != ExitOK || !strings.Contains(r.stdout, "kafka-cluster") {
		t.Fatalf("iam services --search kafka-cluster: %d %s", r.code, r.stdout)
	}
}
