package setup

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const exportSpec = `region: eu-west-1
idp: {issuer: https://dev-1.okta.com/oauth2/default, audiences: [0oaclient]}
roles:
  enhanced: {services: [s3ag, quicksight]}
  quicksight_snapshot: {name: tip-qs-snapshots}
identity_center:
  instance_arn: arn:aws:sso:::instance/ssoins-1234567890abcdef
  application: {name: tipctl-web, scopes: [s3:access_grants:read_write], assignment_required: true, assigned_groups: [emea-sales, exec-global]}
access_grants:
  locations: ["s3://analytics-data/", "s3://logs/"]
  grants:
    - {group: emea-sales, permission: READ, target: "s3://analytics-data/emea/*"}
    - {group: exec-global, permission: READWRITE, target: "s3://analytics-data/*"}
    - {group: ops, permission: READ, target: "s3://logs/app/*"}
profile: {name: web, provider: oidc}
`

func exported(t *testing.T, spec string) map[string]any {
	t.Helper()
	s, err := ParseSpec([]byte(spec), "tip-setup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := RenderExport(s, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return m
}

func TestExportTemplateResources(t *testing.T) {
	m := exported(t, exportSpec)
	res := m["Resources"].(map[string]any)
	types := map[string]int{}
	for _, r := range res {
		types[r.(map[string]any)["Type"].(string)]++
	}
	want := map[string]int{"AWS::IAM::OIDCProvider": 1, "AWS::IAM::Role": 4, "AWS::SSO::Application": 1, "AWS::SSO::ApplicationAssignment": 2,
		"AWS::S3::AccessGrantsInstance": 1, "AWS::S3::AccessGrantsLocation": 2, "AWS::S3::AccessGrant": 3}
	for ty, n := range want {
		if types[ty] != n {
			t.Errorf("%d %s, want %d (all: %v)", types[ty], ty, n, types)
		}
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	props := func(id string) map[string]any {
		r, ok := res[id].(map[string]any)
		if !ok {
			t.Fatalf("no resource %s in %v", id, types)
		}
		return r["Properties"].(map[string]any)
	}

	// The bridge role may exchange tokens with this application only.
	params := m["Parameters"].(map[string]any)
	if _, ok := params["IdentityCenterApplicationArn"]; ok {
		t.Error("the application ARN is still a parameter (default *)")
	}
	if got := js(props("BridgeRole")["Policies"]); !strings.Contains(got, `{"Fn::GetAtt":["Application","ApplicationArn"]}`) || strings.Contains(got, `"Resource":"*"`) {
		t.Errorf("bridge policy %s", got)
	}
	// Groups are parameters with the Identity Store id's shape; the
	// assignments and grants use them.
	for _, p := range []string{"GroupIdEmeaSales", "GroupIdExecGlobal", "GroupIdOps", "IdentityCenterInstanceArn"} {
		if _, ok := params[p]; !ok {
			t.Errorf("no parameter %s", p)
		}
	}
	if got := js(props("AssignmentEmeaSales")); !strings.Contains(got, `"PrincipalId":{"Ref":"GroupIdEmeaSales"}`) || !strings.Contains(got, `"PrincipalType":"GROUP"`) {
		t.Errorf("assignment %s", got)
	}
	// A grant under a location: its sub-prefix and the location's id.
	g := js(props("AccessGrantEmeaSalesREADS3AnalyticsDataEmea"))
	for _, w := range []string{`"S3SubPrefix":"emea/*"`, `{"Fn::GetAtt":["AccessGrantsLocationAnalyticsData","AccessGrantsLocationId"]}`,
		`"GranteeIdentifier":{"Ref":"GroupIdEmeaSales"}`, `"GranteeType":"DIRECTORY_GROUP"`, `"Permission":"READ"`} {
		if !strings.Contains(g, w) {
			t.Errorf("grant lacks %s: %s", w, g)
		}
	}
	// Each grant falls under its own location.
	if g := js(props("AccessGrantOpsREADS3LogsApp")); !strings.Contains(g, `"AccessGrantsLocationLogs","AccessGrantsLocationId"`) || !strings.Contains(g, `"S3SubPrefix":"app/*"`) {
		t.Errorf("grant under s3://logs/ %s", g)
	}
	if g := js(props("AccessGrantExecGlobalREADWRITES3AnalyticsData")); !strings.Contains(g, `"S3SubPrefix":"*"`) {
		t.Errorf("grant on the whole location %s", g)
	}
	// The location role is only for this account's instance.
	lt := js(props("AccessGrantsLocationRole")["AssumeRolePolicyDocument"])
	for _, w := range []string{`"aws:SourceAccount":{"Ref":"AWS::AccountId"}`, `"aws:SourceArn":{"Fn::Sub":"arn:${AWS::Partition}:s3:${AWS::Region}:${AWS::AccountId}:access-grants/default"}`, `"sts:SetContext"`} {
		if !strings.Contains(lt, w) {
			t.Errorf("location trust lacks %s: %s", w, lt)
		}
	}
	// Every service permission of the enhanced role demands the person.
	if ep := js(props("EnhancedRole")["Policies"]); strings.Count(ep, "identitystore:UserId") < 2 {
		t.Errorf("enhanced policies without the identity context condition: %s", ep)
	}
	if got := js(props("Application")); !strings.Contains(got, `"ApplicationProviderArn":"arn:aws:sso::aws:applicationProvider/custom"`) || strings.Contains(got, SetupTag) {
		t.Errorf("application %s", got)
	}
}

func TestExportTemplateLogicalIDClash(t *testing.T) {
	s, err := ParseSpec([]byte(strings.Replace(exportSpec, "assigned_groups: [emea-sales, exec-global]", "assigned_groups: [emea-sales, emea_sales]", 1)), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ExportTemplate(s); err == nil || !strings.Contains(err.Error(), "GroupIdEmeaSales") {
		t.Fatalf("want a clash naming the logical id, got %v", err)
	}
}

// TestExportCFNLint has cfn-lint, an independent validator that knows every
// resource type's schema, check the exported template.
func TestExportCFNLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed; skipping the independent template validation")
	}
	s, err := ParseSpec([]byte(exportSpec), "tip-setup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, format := range []string{FormatYAML, FormatJSON} {
		b, err := RenderExport(s, format)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "export."+format)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--regions", "eu-west-1", "--", f)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cfn-lint %s: %v\n%s\n%s", format, err, out, b)
		}
	}
}
