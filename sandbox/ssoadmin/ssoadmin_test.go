package ssoadmin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// auditorUser is an IAM user allowed only to describe applications.
const auditorUser = `    - name: auditor
      access_keys:
        - id: AKIAAUDITOR
          secret: auditor-secret
      policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: sso:DescribeApplication
              Resource: "*"
`

func start(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	y := string(world.DefaultYAML())
	anchor := "iam:\n  users:\n"
	if !strings.Contains(y, anchor) {
		t.Fatalf("default world has no %q section", anchor)
	}
	y = strings.Replace(y, anchor, anchor+auditorUser, 1)
	sb, err := sandbox.Start(sandbox.Options{WorldYAML: []byte(y)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func client(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *ssoadmin.Client {
	return ssoadmin.NewFromConfig(ststest.Config(sb, creds))
}

func admin(sb *sandbox.Sandbox) *ssoadmin.Client { return client(sb, ststest.Admin()) }

func appArn(sb *sandbox.Sandbox) string { return sb.Env.Snapshot().IdentityCenter.Applications[0].Arn }

func wantErr(t *testing.T, err error, code string, status int) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %q, want %q (%v)", ae.ErrorCode(), code, err)
	}
	var re *awshttp.ResponseError
	if status != 0 && (!errors.As(err, &re) || re.HTTPStatusCode() != status) {
		t.Fatalf("want HTTP %d: %v", status, err)
	}
	return ae.ErrorMessage()
}

func TestDescribeApplicationAndInstance(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := admin(sb)
	out, err := c.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(appArn(sb))})
	if err != nil {
		t.Fatal(err)
	}
	ic := sb.Env.World.IdentityCenter
	if aws.ToString(out.Name) != "tipctl-sandbox-app" || out.Status != types.ApplicationStatusEnabled ||
		aws.ToString(out.ApplicationProviderArn) != world.CustomApplicationProvider ||
		aws.ToString(out.InstanceArn) != ic.InstanceArn || aws.ToString(out.ApplicationAccount) != "123456789012" ||
		!strings.HasSuffix(aws.ToString(out.IdentityStoreArn), "/"+ic.IdentityStoreID) || out.CreatedDate == nil {
		t.Fatalf("DescribeApplication = %+v", out)
	}

	inst, err := c.DescribeInstance(ctx, &ssoadmin.DescribeInstanceInput{InstanceArn: aws.String(ic.InstanceArn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(inst.IdentityStoreId) != ic.IdentityStoreID || inst.Status != types.InstanceStatusActive {
		t.Fatalf("DescribeInstance = %+v", inst)
	}
	list, err := c.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	if err != nil || len(list.Instances) != 1 || aws.ToString(list.Instances[0].InstanceArn) != ic.InstanceArn {
		t.Fatalf("ListInstances = %+v, %v", list, err)
	}

	// An application ARN of the right shape that names nothing; a malformed one; none.
	other := strings.Replace(appArn(sb), "/apl-", "/apl-0", 1)[:len(appArn(sb))]
	_, err = c.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(other)})
	if msg := wantErr(t, err, "ResourceNotFoundException", 400); !strings.Contains(msg, other) {
		t.Fatalf("message %q does not name the ARN", msg)
	}
	_, err = c.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String("arn:aws:sso::123456789012:application/bogus")})
	wantErr(t, err, "ValidationException", 400)
	_, err = c.DescribeInstance(ctx, &ssoadmin.DescribeInstanceInput{InstanceArn: aws.String("not-an-arn")})
	wantErr(t, err, "ValidationException", 400)
}

func TestGrantsScopesAndActorPolicy(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := admin(sb)
	arn := aws.String(appArn(sb))

	grants, err := c.ListApplicationGrants(ctx, &ssoadmin.ListApplicationGrantsInput{ApplicationArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	tti := sb.Env.World.IdentityCenter.TrustedTokenIssuers[0]
	var sawJWT, sawRefresh bool
	for _, g := range grants.Grants {
		switch v := g.Grant.(type) {
		case *types.GrantMemberJwtBearer:
			sawJWT = g.GrantType == types.GrantTypeJwtBearer
			iss := v.Value.AuthorizedTokenIssuers
			if len(iss) != 1 || aws.ToString(iss[0].TrustedTokenIssuerArn) != tti.Arn || strings.Join(iss[0].AuthorizedAudiences, ",") != "tipctl" {
				t.Fatalf("jwt-bearer grant = %+v", iss)
			}
		case *types.GrantMemberRefreshToken:
			sawRefresh = g.GrantType == types.GrantTypeRefreshToken
		default:
			t.Fatalf("unexpected grant %T", v)
		}
	}
	if !sawJWT || !sawRefresh {
		t.Fatalf("grants = %+v", grants.Grants)
	}

	desc, err := c.DescribeTrustedTokenIssuer(ctx, &ssoadmin.DescribeTrustedTokenIssuerInput{TrustedTokenIssuerArn: aws.String(tti.Arn)})
	if err != nil {
		t.Fatal(err)
	}
	cfg, ok := desc.TrustedTokenIssuerConfiguration.(*types.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration)
	if !ok || aws.ToString(cfg.Value.IssuerUrl) != sb.URL()+"/idp" || aws.ToString(cfg.Value.ClaimAttributePath) != "email" ||
		aws.ToString(cfg.Value.IdentityStoreAttributePath) != "emails.value" || desc.TrustedTokenIssuerType != types.TrustedTokenIssuerTypeOidcJwt {
		t.Fatalf("DescribeTrustedTokenIssuer = %+v", desc)
	}
	ttis, err := c.ListTrustedTokenIssuers(ctx, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(sb.Env.World.IdentityCenter.InstanceArn)})
	if err != nil || len(ttis.TrustedTokenIssuers) != 1 || aws.ToString(ttis.TrustedTokenIssuers[0].Name) != "sandbox-idp" {
		t.Fatalf("ListTrustedTokenIssuers = %+v, %v", ttis, err)
	}

	// Scopes, one per page through the SDK paginator.
	var scopes []string
	pages := 0
	p := ssoadmin.NewListApplicationAccessScopesPaginator(c, &ssoadmin.ListApplicationAccessScopesInput{ApplicationArn: arn, MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range page.Scopes {
			scopes = append(scopes, aws.ToString(s.Scope))
		}
	}
	if want := strings.Join(sb.Env.World.IdentityCenter.Applications[0].Scopes, ","); strings.Join(scopes, ",") != want || pages != 4 {
		t.Fatalf("scopes %v in %d pages, want %s in 4", scopes, pages, want)
	}
	_, err = c.ListApplicationAccessScopes(ctx, &ssoadmin.ListApplicationAccessScopesInput{ApplicationArn: arn, MaxResults: aws.Int32(11)})
	wantErr(t, err, "ValidationException", 400)

	am, err := c.GetApplicationAuthenticationMethod(ctx, &ssoadmin.GetApplicationAuthenticationMethodInput{
		ApplicationArn: arn, AuthenticationMethodType: types.AuthenticationMethodTypeIam})
	if err != nil {
		t.Fatal(err)
	}
	iam, ok := am.AuthenticationMethod.(*types.AuthenticationMethodMemberIam)
	if !ok {
		t.Fatalf("AuthenticationMethod = %T", am.AuthenticationMethod)
	}
	raw, err := iam.Value.ActorPolicy.MarshalSmithyDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Principal struct{ AWS string }
			Action    string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Statement) != 1 ||
		doc.Statement[0].Principal.AWS != "arn:aws:iam::123456789012:role/tip-bridge" || doc.Statement[0].Action != "sso-oauth:CreateTokenWithIAM" {
		t.Fatalf("actor policy %s (%v)", raw, err)
	}
	_, err = c.GetApplicationAuthenticationMethod(ctx, &ssoadmin.GetApplicationAuthenticationMethodInput{
		ApplicationArn: arn, AuthenticationMethodType: "SAML"})
	wantErr(t, err, "ValidationException", 400)

	conf, err := c.GetApplicationAssignmentConfiguration(ctx, &ssoadmin.GetApplicationAssignmentConfigurationInput{ApplicationArn: arn})
	if err != nil || !aws.ToBool(conf.AssignmentRequired) {
		t.Fatalf("GetApplicationAssignmentConfiguration = %+v, %v", conf, err)
	}
}

func TestAssignmentsPaginate(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := admin(sb)
	arn := aws.String(appArn(sb))
	var ids []string
	p := ssoadmin.NewListApplicationAssignmentsPaginator(c, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: arn, MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.ApplicationAssignments {
			if a.PrincipalType != types.PrincipalTypeGroup || aws.ToString(a.ApplicationArn) != *arn {
				t.Fatalf("assignment %+v", a)
			}
			ids = append(ids, aws.ToString(a.PrincipalId))
		}
	}
	var want []string
	for _, g := range []string{"emea-sales", "apac-sales", "exec-global"} {
		want = append(want, sb.Env.World.IdentityCenter.Groups[groupIndex(t, sb, g)].GroupID)
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("assignments %v, want %v", ids, want)
	}

	emea := want[0]
	inst := aws.String(sb.Env.World.IdentityCenter.InstanceArn)
	fp, err := c.ListApplicationAssignmentsForPrincipal(ctx, &ssoadmin.ListApplicationAssignmentsForPrincipalInput{
		InstanceArn: inst, PrincipalId: aws.String(emea), PrincipalType: types.PrincipalTypeGroup,
		Filter: &types.ListApplicationAssignmentsFilter{ApplicationArn: arn}})
	if err != nil || len(fp.ApplicationAssignments) != 1 || aws.ToString(fp.ApplicationAssignments[0].ApplicationArn) != *arn {
		t.Fatalf("ForPrincipal(emea-sales) = %+v, %v", fp, err)
	}
	// alice is assigned only through her group, not directly.
	alice := sb.Env.World.IdentityCenter.Users[0].UserID
	fp, err = c.ListApplicationAssignmentsForPrincipal(ctx, &ssoadmin.ListApplicationAssignmentsForPrincipalInput{
		InstanceArn: inst, PrincipalId: aws.String(alice), PrincipalType: types.PrincipalTypeUser})
	if err != nil || len(fp.ApplicationAssignments) != 0 {
		t.Fatalf("ForPrincipal(alice) = %+v, %v", fp, err)
	}
	_, err = c.ListApplicationAssignmentsForPrincipal(ctx, &ssoadmin.ListApplicationAssignmentsForPrincipalInput{
		InstanceArn: inst, PrincipalId: aws.String("alice"), PrincipalType: types.PrincipalTypeUser})
	wantErr(t, err, "ValidationException", 400)

	// A page token is bound to its listing: garbage and another listing's token are refused.
	first, err := c.ListApplicationAssignments(ctx, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: arn, MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page %+v, %v", first, err)
	}
	_, err = c.ListApplicationAccessScopes(ctx, &ssoadmin.ListApplicationAccessScopesInput{ApplicationArn: arn, NextToken: first.NextToken})
	wantErr(t, err, "ValidationException", 400)
	_, err = c.ListApplicationAssignments(ctx, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: arn, NextToken: aws.String("Zm9vYmFy")})
	wantErr(t, err, "ValidationException", 400)
}

func groupIndex(t *testing.T, sb *sandbox.Sandbox, name string) int {
	for i, g := range sb.Env.World.IdentityCenter.Groups {
		if g.Name == name {
			return i
		}
	}
	t.Fatalf("no group %s", name)
	return -1
}

func TestAuthorizationAndStats(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	auditor := client(sb, ststest.Static("AKIAAUDITOR", "auditor-secret", ""))
	arn := aws.String(appArn(sb))
	if _, err := auditor.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: arn}); err != nil {
		t.Fatalf("auditor may describe: %v", err)
	}
	_, err := auditor.ListApplicationGrants(ctx, &ssoadmin.ListApplicationGrantsInput{ApplicationArn: arn})
	if msg := wantErr(t, err, "AccessDeniedException", 400); !strings.Contains(msg, "sso:ListApplicationGrants") {
		t.Fatalf("denial %q does not name the action", msg)
	}
	_, err = client(sb, ststest.Static("test", "wrong", "")).DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: arn})
	wantErr(t, err, "InvalidSignatureException", 400)
	if got := sb.Env.Stats.Get("sso:DescribeApplication"); got != 2 {
		t.Fatalf("sso:DescribeApplication counted %d, want 2", got)
	}
	if got := sb.Env.Stats.Get("sso:ListApplicationGrants"); got != 1 {
		t.Fatalf("sso:ListApplicationGrants counted %d", got)
	}
}

// raw sends a signed awsJson1_1 request with the given target and body.
func raw(t *testing.T, sb *sandbox.Sandbox, target, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, sb.URL()+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		req, hex.EncodeToString(sum[:]), "sso", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("reply is not JSON: %s", b)
	}
	if resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, m
}

func TestWireErrors(t *testing.T) {
	sb := start(t)
	for _, tc := range []struct {
		name, target, body, code string
	}{
		{"unknown operation", "SWBExternalService.CreatePermissionSet", `{}`, "UnknownOperationException"},
		{"not JSON", "SWBExternalService.DescribeApplication", `{"ApplicationArn":`, "ValidationException"},
		{"wrong type", "SWBExternalService.DescribeApplication", `{"ApplicationArn":42}`, "ValidationException"},
		{"missing member", "SWBExternalService.DescribeApplication", `{}`, "ValidationException"},
		{"max results not a number", "SWBExternalService.ListInstances", `{"MaxResults":"x"}`, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m := raw(t, sb, tc.target, tc.body)
			if status != 400 || m["__type"] != tc.code || m["message"] == "" {
				t.Fatalf("HTTP %d %v, want 400 %s", status, m, tc.code)
			}
		})
	}
	// Still serving.
	if _, err := admin(sb).ListInstances(context.Background(), &ssoadmin.ListInstancesInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestAWSCLI cross-checks the wire format with an independent client.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed; skipping the cross-check with botocore")
	}
	sb := start(t)
	run := func(args ...string) map[string]any {
		cmd := exec.Command("aws", append(args, "--endpoint-url", sb.URL(), "--region", "us-east-1", "--output", "json")...)
		cmd.Env = []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin:/usr/local/bin"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, stderr.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("aws %v printed %s", args, out)
		}
		return m
	}
	m := run("sso-admin", "describe-application", "--application-arn", appArn(sb))
	if m["Name"] != "tipctl-sandbox-app" || m["Status"] != "ENABLED" {
		t.Fatalf("describe-application: %v", m)
	}
	m = run("sso-admin", "list-application-grants", "--application-arn", appArn(sb))
	grants, _ := m["Grants"].([]any)
	if len(grants) != 2 {
		t.Fatalf("list-application-grants: %v", m)
	}
	m = run("sso-admin", "get-application-authentication-method", "--application-arn", appArn(sb), "--authentication-method-type", "IAM")
	if _, ok := m["AuthenticationMethod"].(map[string]any)["Iam"]; !ok {
		t.Fatalf("get-application-authentication-method: %v", m)
	}
}
