package ssoadmin_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/document"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestWriteLifecycle creates a trusted token issuer and an application with
// every part of a trusted identity propagation setup through aws-sdk-go-v2,
// reads each part back, and deletes them again.
func TestWriteLifecycle(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := admin(sb)
	inst := aws.String(sb.Env.Snapshot().IdentityCenter.InstanceArn)
	alice := sb.Env.Snapshot().IdentityCenter.User("alice").UserID

	tti, err := c.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{InstanceArn: inst, Name: aws.String("okta-prod"),
		TrustedTokenIssuerType: types.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &types.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: types.OidcJwtConfiguration{
			IssuerUrl: aws.String("https://example.okta.com"), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: types.JwksRetrievalOptionOpenIdDiscovery}}})
	if err != nil {
		t.Fatal(err)
	}
	ttiArn := tti.TrustedTokenIssuerArn
	_, err = c.UpdateTrustedTokenIssuer(ctx, &ssoadmin.UpdateTrustedTokenIssuerInput{TrustedTokenIssuerArn: ttiArn, Name: aws.String("okta"),
		TrustedTokenIssuerConfiguration: &types.TrustedTokenIssuerUpdateConfigurationMemberOidcJwtConfiguration{Value: types.OidcJwtUpdateConfiguration{
			ClaimAttributePath: aws.String("upn")}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeTrustedTokenIssuer(ctx, &ssoadmin.DescribeTrustedTokenIssuerInput{TrustedTokenIssuerArn: ttiArn})
	cfg, _ := d.TrustedTokenIssuerConfiguration.(*types.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration)
	if err != nil || aws.ToString(d.Name) != "okta" || cfg == nil || aws.ToString(cfg.Value.ClaimAttributePath) != "upn" ||
		aws.ToString(cfg.Value.IssuerUrl) != "https://example.okta.com" {
		t.Fatalf("DescribeTrustedTokenIssuer = %+v, %v", d, err)
	}
	_, err = c.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{InstanceArn: inst, Name: aws.String("okta"),
		TrustedTokenIssuerType: types.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &types.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: types.OidcJwtConfiguration{
			IssuerUrl: aws.String("https://other.example"), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: types.JwksRetrievalOptionOpenIdDiscovery}}})
	wantErr(t, err, "ConflictException", 400)

	app, err := c.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: inst, Name: aws.String("analytics"),
		ApplicationProviderArn: aws.String(world.CustomApplicationProvider), Description: aws.String("first")})
	if err != nil {
		t.Fatal(err)
	}
	arn := app.ApplicationArn
	policy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow",
		"Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:role/bridge"}, "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}}}
	steps := []struct {
		name string
		do   func() error
	}{
		{"UpdateApplication", func() error {
			_, err := c.UpdateApplication(ctx, &ssoadmin.UpdateApplicationInput{ApplicationArn: arn, Description: aws.String("second")})
			return err
		}},
		{"PutApplicationGrant jwt-bearer", func() error {
			_, err := c.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: types.GrantTypeJwtBearer,
				Grant: &types.GrantMemberJwtBearer{Value: types.JwtBearerGrant{AuthorizedTokenIssuers: []types.AuthorizedTokenIssuer{
					{TrustedTokenIssuerArn: ttiArn, AuthorizedAudiences: []string{"client-1"}}}}}})
			return err
		}},
		{"PutApplicationGrant authorization_code", func() error {
			_, err := c.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: types.GrantTypeAuthorizationCode,
				Grant: &types.GrantMemberAuthorizationCode{Value: types.AuthorizationCodeGrant{RedirectUris: []string{"https://app.example/cb"}}}})
			return err
		}},
		{"PutApplicationGrant refresh_token", func() error {
			_, err := c.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: arn, GrantType: types.GrantTypeRefreshToken,
				Grant: &types.GrantMemberRefreshToken{Value: types.RefreshTokenGrant{}}})
			return err
		}},
		{"PutApplicationAuthenticationMethod", func() error {
			_, err := c.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: arn,
				AuthenticationMethodType: types.AuthenticationMethodTypeIam,
				AuthenticationMethod:     &types.AuthenticationMethodMemberIam{Value: types.IamAuthenticationMethod{ActorPolicy: document.NewLazyDocument(policy)}}})
			return err
		}},
		{"PutApplicationAccessScope", func() error {
			_, err := c.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: arn, Scope: aws.String("s3:access_grants:read_write"),
				AuthorizedTargets: []string{appArn(sb)}})
			return err
		}},
		{"PutApplicationAssignmentConfiguration", func() error {
			_, err := c.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: arn, AssignmentRequired: aws.Bool(false)})
			return err
		}},
		{"CreateApplicationAssignment", func() error {
			_, err := c.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(alice), PrincipalType: types.PrincipalTypeUser})
			return err
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}

	// Every part reads back.
	da, err := c.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: arn})
	if err != nil || aws.ToString(da.Name) != "analytics" {
		t.Fatalf("DescribeApplication = %+v, %v", da, err)
	}
	apps, err := c.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: inst})
	found := false
	for _, a := range apps.Applications {
		found = found || (aws.ToString(a.ApplicationArn) == aws.ToString(arn) && aws.ToString(a.Description) == "second")
	}
	if err != nil || !found {
		t.Fatalf("ListApplications = %+v, %v", apps, err)
	}
	g, err := c.GetApplicationGrant(ctx, &ssoadmin.GetApplicationGrantInput{ApplicationArn: arn, GrantType: types.GrantTypeAuthorizationCode})
	if ac, ok := g.Grant.(*types.GrantMemberAuthorizationCode); err != nil || !ok || strings.Join(ac.Value.RedirectUris, ",") != "https://app.example/cb" {
		t.Fatalf("GetApplicationGrant = %+v, %v", g, err)
	}
	grants, err := c.ListApplicationGrants(ctx, &ssoadmin.ListApplicationGrantsInput{ApplicationArn: arn})
	if err != nil || len(grants.Grants) != 3 {
		t.Fatalf("ListApplicationGrants = %+v, %v", grants, err)
	}
	methods, err := c.ListApplicationAuthenticationMethods(ctx, &ssoadmin.ListApplicationAuthenticationMethodsInput{ApplicationArn: arn})
	if err != nil || len(methods.AuthenticationMethods) != 1 {
		t.Fatalf("ListApplicationAuthenticationMethods = %+v, %v", methods, err)
	}
	am, err := c.GetApplicationAuthenticationMethod(ctx, &ssoadmin.GetApplicationAuthenticationMethodInput{ApplicationArn: arn, AuthenticationMethodType: types.AuthenticationMethodTypeIam})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := am.AuthenticationMethod.(*types.AuthenticationMethodMemberIam).Value.ActorPolicy.UnmarshalSmithyDocument(&got); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(got); !strings.Contains(string(b), "sso-oauth:CreateTokenWithIAM") {
		t.Fatalf("actor policy = %s", b)
	}
	sc, err := c.GetApplicationAccessScope(ctx, &ssoadmin.GetApplicationAccessScopeInput{ApplicationArn: arn, Scope: aws.String("s3:access_grants:read_write")})
	if err != nil || strings.Join(sc.AuthorizedTargets, ",") != appArn(sb) {
		t.Fatalf("GetApplicationAccessScope = %+v, %v", sc, err)
	}
	conf, err := c.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: arn})
	if err != nil || conf.AssignmentRequired == nil || *conf.AssignmentRequired {
		t.Fatalf("GetApplicationAssignmentConfiguration = %+v, %v", conf, err)
	}
	as, err := c.DescribeApplicationAssignment(ctx, &ssoadmin.DescribeApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(alice), PrincipalType: types.PrincipalTypeUser})
	if err != nil || aws.ToString(as.PrincipalId) != alice {
		t.Fatalf("DescribeApplicationAssignment = %+v, %v", as, err)
	}
	_, err = c.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(alice), PrincipalType: types.PrincipalTypeUser})
	wantErr(t, err, "ConflictException", 400)
	provs, err := c.ListApplicationProviders(ctx, &ssoadmin.ListApplicationProvidersInput{})
	if err != nil || len(provs.ApplicationProviders) == 0 || aws.ToString(provs.ApplicationProviders[0].ApplicationProviderArn) != world.CustomApplicationProvider {
		t.Fatalf("ListApplicationProviders = %+v, %v", provs, err)
	}

	// The issuer is in use: it cannot go before the grant does.
	_, err = c.DeleteTrustedTokenIssuer(ctx, &ssoadmin.DeleteTrustedTokenIssuerInput{TrustedTokenIssuerArn: ttiArn})
	wantErr(t, err, "ConflictException", 400)
	deletes := []func() error{
		func() error {
			_, err := c.DeleteApplicationAssignment(ctx, &ssoadmin.DeleteApplicationAssignmentInput{ApplicationArn: arn, PrincipalId: aws.String(alice), PrincipalType: types.PrincipalTypeUser})
			return err
		},
		func() error {
			_, err := c.DeleteApplicationAccessScope(ctx, &ssoadmin.DeleteApplicationAccessScopeInput{ApplicationArn: arn, Scope: aws.String("s3:access_grants:read_write")})
			return err
		},
		func() error {
			_, err := c.DeleteApplicationAuthenticationMethod(ctx, &ssoadmin.DeleteApplicationAuthenticationMethodInput{ApplicationArn: arn, AuthenticationMethodType: types.AuthenticationMethodTypeIam})
			return err
		},
		func() error {
			_, err := c.DeleteApplicationGrant(ctx, &ssoadmin.DeleteApplicationGrantInput{ApplicationArn: arn, GrantType: types.GrantTypeJwtBearer})
			return err
		},
		func() error {
			_, err := c.DeleteTrustedTokenIssuer(ctx, &ssoadmin.DeleteTrustedTokenIssuerInput{TrustedTokenIssuerArn: ttiArn})
			return err
		},
		func() error {
			_, err := c.DeleteApplication(ctx, &ssoadmin.DeleteApplicationInput{ApplicationArn: arn})
			return err
		},
	}
	for i, del := range deletes {
		if err := del(); err != nil {
			t.Fatalf("delete step %d: %v", i, err)
		}
	}
	_, err = c.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: arn})
	wantErr(t, err, "ResourceNotFoundException", 400)
	_, err = c.DescribeTrustedTokenIssuer(ctx, &ssoadmin.DescribeTrustedTokenIssuerInput{TrustedTokenIssuerArn: ttiArn})
	wantErr(t, err, "ResourceNotFoundException", 400)
	_, err = c.GetApplicationGrant(ctx, &ssoadmin.GetApplicationGrantInput{ApplicationArn: aws.String(appArn(sb)), GrantType: types.GrantTypeTokenExchange})
	wantErr(t, err, "ResourceNotFoundException", 400)
}

// TestWritesNeedPermission: a caller whose identity policy does not allow
// the write is refused and nothing changes.
func TestWritesNeedPermission(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := client(sb, ststest.Static("AKIAAUDITOR", "auditor-secret", ""))
	_, err := c.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: aws.String(sb.Env.Snapshot().IdentityCenter.InstanceArn),
		Name: aws.String("sneaky"), ApplicationProviderArn: aws.String(world.CustomApplicationProvider)})
	wantErr(t, err, "AccessDeniedException", 400)
	_, err = c.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: aws.String(appArn(sb)), AssignmentRequired: aws.Bool(false)})
	wantErr(t, err, "AccessDeniedException", 400)
	if len(sb.Env.Snapshot().IdentityCenter.Applications) != 1 || !sb.Env.Snapshot().IdentityCenter.Applications[0].AssignmentRequired {
		t.Fatal("a refused write changed the world")
	}
}

// boto3Writes is the same setup through botocore's own models and codec.
const boto3Writes = `
import boto3, sys
ep, inst, alice = sys.argv[1], sys.argv[2], sys.argv[3]
c = boto3.client("sso-admin", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
tti = c.create_trusted_token_issuer(InstanceArn=inst, Name="py-tti", TrustedTokenIssuerType="OIDC_JWT",
    TrustedTokenIssuerConfiguration={"OidcJwtConfiguration": {"IssuerUrl": "https://py.example", "ClaimAttributePath": "email",
        "IdentityStoreAttributePath": "emails.value", "JwksRetrievalOption": "OPEN_ID_DISCOVERY"}})["TrustedTokenIssuerArn"]
c.update_trusted_token_issuer(TrustedTokenIssuerArn=tti, Name="py-tti2")
print("tti=" + c.describe_trusted_token_issuer(TrustedTokenIssuerArn=tti)["Name"])
print("ttis=%d" % len(c.list_trusted_token_issuers(InstanceArn=inst)["TrustedTokenIssuers"]))
app = c.create_application(InstanceArn=inst, Name="py-app", ApplicationProviderArn="arn:aws:sso::aws:applicationProvider/custom")["ApplicationArn"]
c.update_application(ApplicationArn=app, Status="DISABLED")
c.put_application_grant(ApplicationArn=app, GrantType="urn:ietf:params:oauth:grant-type:jwt-bearer",
    Grant={"JwtBearer": {"AuthorizedTokenIssuers": [{"TrustedTokenIssuerArn": tti, "AuthorizedAudiences": ["aud1"]}]}})
c.put_application_grant(ApplicationArn=app, GrantType="urn:ietf:params:oauth:grant-type:token-exchange", Grant={"TokenExchange": {}})
g = c.get_application_grant(ApplicationArn=app, GrantType="urn:ietf:params:oauth:grant-type:jwt-bearer")["Grant"]
print("aud=" + g["JwtBearer"]["AuthorizedTokenIssuers"][0]["AuthorizedAudiences"][0])
print("grants=%d" % len(c.list_application_grants(ApplicationArn=app)["Grants"]))
c.put_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM",
    AuthenticationMethod={"Iam": {"ActorPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}]}}})
m = c.get_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM")
print("actor=" + m["AuthenticationMethod"]["Iam"]["ActorPolicy"]["Statement"][0]["Action"])
print("methods=%d" % len(c.list_application_authentication_methods(ApplicationArn=app)["AuthenticationMethods"]))
c.put_application_access_scope(ApplicationArn=app, Scope="redshift:connect")
print("scope=" + c.get_application_access_scope(ApplicationArn=app, Scope="redshift:connect")["Scope"])
print("scopes=%d" % len(c.list_application_access_scopes(ApplicationArn=app)["Scopes"]))
c.put_application_assignment_configuration(ApplicationArn=app, AssignmentRequired=True)
print("required=%s" % c.get_application_assignment_configuration(ApplicationArn=app)["AssignmentRequired"])
c.create_application_assignment(ApplicationArn=app, PrincipalId=alice, PrincipalType="USER")
print("assigned=" + c.describe_application_assignment(ApplicationArn=app, PrincipalId=alice, PrincipalType="USER")["PrincipalId"])
print("assignments=%d" % len(c.list_application_assignments(ApplicationArn=app)["ApplicationAssignments"]))
print("providers=" + c.list_application_providers()["ApplicationProviders"][0]["ApplicationProviderArn"])
print("apps=%d" % len(c.list_applications(InstanceArn=inst)["Applications"]))
c.delete_application_assignment(ApplicationArn=app, PrincipalId=alice, PrincipalType="USER")
c.delete_application_access_scope(ApplicationArn=app, Scope="redshift:connect")
c.delete_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM")
c.delete_application_grant(ApplicationArn=app, GrantType="urn:ietf:params:oauth:grant-type:jwt-bearer")
c.delete_application(ApplicationArn=app)
c.delete_trusted_token_issuer(TrustedTokenIssuerArn=tti)
try:
    c.describe_application(ApplicationArn=app)
except c.exceptions.ResourceNotFoundException:
    print("gone=ResourceNotFoundException")
`

func TestBoto3Writes(t *testing.T) {
	requireBoto3(t)
	sb := start(t)
	ic := sb.Env.Snapshot().IdentityCenter
	out, err := exec.Command("python3", "-c", boto3Writes, sb.URL(), ic.InstanceArn, ic.User("alice").UserID).CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	want := "tti=py-tti2\nttis=2\naud=aud1\ngrants=2\nactor=sso-oauth:CreateTokenWithIAM\nmethods=1\nscope=redshift:connect\nscopes=1\n" +
		"required=True\nassigned=" + ic.User("alice").UserID + "\nassignments=1\nproviders=" + world.CustomApplicationProvider + "\napps=2\ngone=ResourceNotFoundException\n"
	if string(out) != want {
		t.Fatalf("boto3 output:\n%s\nwant:\n%s", out, want)
	}
}

// requireBoto3 skips outside CI when python3 with boto3 is missing.
func requireBoto3(t *testing.T) {
	t.Helper()
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs python3 with boto3: %v", err)
		}
		t.Skip("python3 with boto3 is not installed; the botocore cross-check is skipped")
	}
}
