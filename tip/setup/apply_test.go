package setup_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/setup"
)

func bareSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Bare: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func testSpec(t *testing.T, sb *sandbox.Sandbox) *setup.Spec {
	t.Helper()
	s, err := setup.ParseSpec([]byte(fmt.Sprintf(`endpoint_url: %[1]s
idp: {issuer: %[1]s/idp, audiences: [tipctl]}
roles: {enhanced: {services: [s3ag]}}
identity_center:
  application: {name: tipctl, scopes: [s3:access_grants:read_write], assignment_required: true, assigned_groups: [emea-sales]}
access_grants:
  locations: [s3://analytics-data/]
  grants: [{group: emea-sales, permission: READ, target: "s3://analytics-data/emea/*"}]
profile: {name: t, provider: sandbox}
`, sb.URL())), "tip-setup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sandboxWithLimitedAdmin starts a bare sandbox with a second
// administrator whose identity policy denies one action.
func sandboxWithLimitedAdmin(t *testing.T, denied string) *sandbox.Sandbox {
	t.Helper()
	w, err := world.Bare("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	w.IAM.Users = append(w.IAM.Users, world.IAMUser{Name: "limited",
		AccessKeys: []world.AccessKey{{ID: "AKIALIMITEDADMIN0001", Secret: "limited-secret"}},
		Policies: []world.Policy{{JSON: json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},` +
			`{"Effect":"Deny","Action":"` + denied + `","Resource":"*"}]}`)}}})
	b, err := w.Export()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.Start(sandbox.Options{WorldYAML: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func clients(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *setup.Clients {
	return setup.NewClients(ststest.Config(sb, creds), sb.URL())
}

func plan(t *testing.T, c *setup.Clients, s *setup.Spec, st *setup.State) *setup.Plan {
	t.Helper()
	p, err := setup.MakePlan(context.Background(), c, s, st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestApplyFailsMidwayThenResumes: an identity policy that denies one
// step stops apply there, with the step and the permission to allow; the
// next apply (by an administrator allowed it) makes only the remaining
// changes.
func TestApplyFailsMidwayThenResumes(t *testing.T) {
	sb := sandboxWithLimitedAdmin(t, "sso:PutApplicationGrant")
	s := testSpec(t, sb)
	st, _ := setup.LoadState(filepath.Join(t.TempDir(), "state.json"))
	c := clients(sb, ststest.Static("AKIALIMITEDADMIN0001", "limited-secret", ""))
	p := plan(t, c, s, st)
	total := len(p.Changes)
	res, err := setup.Apply(context.Background(), p, nil)
	var se *setup.StepError
	if !errors.As(err, &se) || se.Step != "application-grant tipctl/jwt-bearer" ||
		se.Fix != "allow sso:PutApplicationGrant to the credentials' identity, then run `tipctl setup apply` again: it continues from the live state" {
		t.Fatalf("apply with a failing step: %v", err)
	}
	done := len(res.Applied)
	if done == 0 || done >= total {
		t.Fatalf("%d of %d changes before the failure", done, total)
	}
	c = clients(sb, ststest.Admin())
	p2 := plan(t, c, s, st)
	// Nothing already made is planned again (a new application's default
	// assignment configuration may already match the file).
	if len(p2.Changes) == 0 || len(p2.Changes) > total-done || p2.Changes[0].Step() != "application-grant tipctl/jwt-bearer" {
		t.Fatalf("resume plan has %d changes (at most %d), %+v", len(p2.Changes), total-done, p2.Changes)
	}
	for _, a := range res.Applied {
		for _, c := range p2.Changes {
			if c.Step() == a.Change.Step() && c.Action == setup.Create {
				t.Fatalf("%s was made before the failure and is planned again", c.Step())
			}
		}
	}
	if _, err := setup.Apply(context.Background(), p2, nil); err != nil {
		t.Fatal(err)
	}
	if p3 := plan(t, c, s, st); !p3.Empty() {
		t.Fatalf("after resume: %+v", p3.Changes)
	}
}

// TestPlanDiffs: drift made behind setup's back shows as changes with
// their reason, and apply repairs it.
func TestPlanDiffs(t *testing.T) {
	sb := bareSandbox(t)
	s := testSpec(t, sb)
	st, _ := setup.LoadState(filepath.Join(t.TempDir(), "state.json"))
	c := clients(sb, ststest.Admin())
	if _, err := setup.Apply(context.Background(), plan(t, c, s, st), nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A wider trust on the enhanced role, a scope removed, assignment no longer required.
	if _, err := c.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("tip-enhanced"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/tip-bridge"},"Action":["sts:AssumeRole","sts:SetContext"]}]}`)}); err != nil {
		t.Fatal(err)
	}
	p := plan(t, c, s, st)
	app := ""
	for _, r := range st.Resources {
		if r.Type == "application" {
			app = r.Arn
		}
	}
	if _, err := c.SSO.DeleteApplicationAccessScope(ctx, &ssoadmin.DeleteApplicationAccessScopeInput{ApplicationArn: aws.String(app),
		Scope: aws.String("s3:access_grants:read_write")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SSO.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: aws.String(app),
		AssignmentRequired: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	p = plan(t, c, s, st)
	var got []string
	for _, ch := range p.Changes {
		got = append(got, string(ch.Action)+" "+ch.Step()+": "+ch.Reason)
	}
	want := []string{
		"change iam-role tip-enhanced: its trust policy differs from the least-privilege one",
		"create application-scope tipctl/s3:access_grants:read_write: scope in the file",
		"change application-assignments tipctl: assignment required should be true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := setup.Apply(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if p := plan(t, c, s, st); !p.Empty() {
		t.Fatalf("after repair: %+v", p.Changes)
	}
}

func TestSpecErrorsHaveLines(t *testing.T) {
	_, err := setup.ParseSpec([]byte("idp:\n  issuer: https://idp.example\n  audiences: [a]\nroles:\n  bridge:\n    name: \"bad name!\"\n"), "f.yaml")
	if err == nil || err.Error() != `f.yaml:6: roles.bridge.name: "bad name!" is not a valid IAM role name` {
		t.Fatalf("%v", err)
	}
	_, err = setup.ParseSpec([]byte("idp:\n  issuer: https://idp.example\n  audiense: [a]\n"), "f.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "f.yaml:3: field audiense not found") {
		t.Fatalf("%v", err)
	}
}

// TestDestroyRemovesOnlyWhatSetupCreated: an OIDC provider that existed
// before apply is updated, not recorded, and survives destroy; everything
// apply created is gone.
func TestDestroyRemovesOnlyWhatSetupCreated(t *testing.T) {
	sb := bareSandbox(t)
	s := testSpec(t, sb)
	st, _ := setup.LoadState(filepath.Join(t.TempDir(), "state.json"))
	c := clients(sb, ststest.Admin())
	ctx := context.Background()
	if _, err := c.IAM.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(s.IdP.Issuer),
		ClientIDList: []string{"someone-else"}}); err != nil {
		t.Fatal(err)
	}
	p := plan(t, c, s, st)
	if p.Changes[0].Action != setup.Update || p.Changes[0].Reason != `audience "tipctl" is not in its client ids` {
		t.Fatalf("first change %+v", p.Changes[0])
	}
	if _, err := setup.Apply(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Resources {
		if r.Type == "oidc-provider" {
			t.Fatalf("the existing provider was recorded as created: %+v", r)
		}
	}
	d, err := setup.DestroyPlan(ctx, c, s, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.Apply(ctx, d, nil); err != nil {
		t.Fatal(err)
	}
	if len(st.Resources) != 0 {
		t.Fatalf("state after destroy: %+v", st.Resources)
	}
	got, err := c.IAM.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(got.OpenIDConnectProviderList) != 1 {
		t.Fatalf("providers after destroy: %v %v", got, err)
	}
	roles, err := c.IAM.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil || len(roles.Roles) != 0 {
		t.Fatalf("roles after destroy: %v", err)
	}
}
