package iam_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/iam"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

const viewerUser = `    - name: viewer
      access_keys:
        - id: AKIAVIEWER
          secret: viewer-secret
      policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: iam:GetRole
              Resource: arn:aws:iam::123456789012:role/tip-*
`

func start(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	y := strings.Replace(string(world.DefaultYAML()), "iam:\n  users:\n", "iam:\n  users:\n"+viewerUser, 1)
	sb, err := sandbox.Start(sandbox.Options{WorldYAML: []byte(y)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func client(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *awsiam.Client {
	return awsiam.NewFromConfig(ststest.Config(sb, creds))
}

func wantErr(t *testing.T, err error, code string, status int) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Fatalf("want HTTP %d: %v", status, err)
	}
	return ae.ErrorMessage()
}

func TestGetRoleTrustPolicyIsURLEncoded(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := client(sb, ststest.Admin())
	out, err := c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("tip-enhanced")})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::123456789012:role/tip-enhanced" || aws.ToString(r.Path) != "/" ||
		!strings.HasPrefix(aws.ToString(r.RoleId), "AROA") || aws.ToInt32(r.MaxSessionDuration) != 43200 || r.CreateDate == nil {
		t.Fatalf("role %+v", r)
	}
	enc := aws.ToString(r.AssumeRolePolicyDocument)
	if strings.ContainsAny(enc, `{}":`) {
		t.Fatalf("trust policy is not URL-encoded: %s", enc)
	}
	dec, err := url.QueryUnescape(enc)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Principal struct{ AWS string }
			Action    any
		}
	}
	if err := json.Unmarshal([]byte(dec), &doc); err != nil {
		t.Fatalf("decoded trust policy %q: %v", dec, err)
	}
	if doc.Statement[0].Principal.AWS != "arn:aws:iam::123456789012:role/tip-bridge" ||
		fmt.Sprint(doc.Statement[0].Action) != "[sts:AssumeRole sts:SetSourceIdentity]" ||
		len(doc.Statement) != 2 || fmt.Sprint(doc.Statement[1].Action) != "sts:SetContext" {
		t.Fatalf("trust policy %s", dec)
	}

	_, err = c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("nope")})
	if msg := wantErr(t, err, "NoSuchEntity", 404); !strings.Contains(msg, "nope") {
		t.Fatalf("message %q", msg)
	}
}

func TestEncodePolicyRoundTrips(t *testing.T) {
	for _, s := range []string{`{"a b":"c+d/e?f=g&h%"}`, "ünïcode ☃", ""} {
		got, err := url.QueryUnescape(iam.EncodePolicy(s))
		if err != nil || got != s {
			t.Fatalf("EncodePolicy(%q) round trip = %q, %v", s, got, err)
		}
		if strings.Contains(iam.EncodePolicy(s), "+") {
			t.Fatalf("EncodePolicy(%q) uses + for spaces", s)
		}
	}
}

func TestOIDCProviders(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := client(sb, ststest.Admin())
	list, err := c.ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(list.OpenIDConnectProviderList) != 1 {
		t.Fatalf("ListOpenIDConnectProviders = %+v, %v", list, err)
	}
	arn := aws.ToString(list.OpenIDConnectProviderList[0].Arn)
	host := strings.TrimPrefix(sb.URL(), "http://")
	if arn != "arn:aws:iam::123456789012:oidc-provider/"+host+"/idp" {
		t.Fatalf("provider ARN %s", arn)
	}
	p, err := c.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(p.Url) != host+"/idp" || strings.Join(p.ClientIDList, ",") != "tipctl" || p.CreateDate == nil {
		t.Fatalf("provider %+v", p)
	}
	_, err = c.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::123456789012:oidc-provider/other.example.com")})
	wantErr(t, err, "NoSuchEntity", 404)
	_, err = c.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:s3:::not-a-provider-at-all")})
	wantErr(t, err, "InvalidInput", 400)
}

func TestListRolesPaginates(t *testing.T) {
	sb := start(t)
	c := client(sb, ststest.Admin())
	var names []string
	p := awsiam.NewListRolesPaginator(c, &awsiam.ListRolesInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if len(names) != len(sb.Env.World.IAM.Roles) || !strings.Contains(strings.Join(names, ","), "tip-bridge") {
		t.Fatalf("roles %v", names)
	}
}

func TestAccessDeniedAndStats(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := client(sb, ststest.Static("AKIAVIEWER", "viewer-secret", ""))
	if _, err := c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("tip-bridge")}); err != nil {
		t.Fatalf("viewer may read tip-* roles: %v", err)
	}
	_, err := c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("quicksight-snapshots")})
	wantErr(t, err, "AccessDenied", 403)
	_, err = c.ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
	if msg := wantErr(t, err, "AccessDenied", 403); !strings.Contains(msg, "iam:ListOpenIDConnectProviders") {
		t.Fatalf("denial %q does not name the action", msg)
	}
	if n := sb.Env.Stats.Get("iam:GetRole"); n != 2 {
		t.Fatalf("iam:GetRole counted %d", n)
	}
	// Unsigned requests are refused.
	_, err = client(sb, nil).GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("tip-bridge")})
	wantErr(t, err, "MissingAuthenticationToken", 403)
}

func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed; skipping the cross-check with botocore")
	}
	sb := start(t)
	cmd := exec.Command("aws", "iam", "get-role", "--role-name", "tip-bridge", "--endpoint-url", sb.URL(),
		"--region", "us-east-1", "--output", "json")
	cmd.Env = []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin:/usr/local/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws iam get-role: %s %v", out, err)
	}
	// botocore decodes the URL-encoded document into JSON.
	var res struct {
		Role struct {
			AssumeRolePolicyDocument struct {
				Statement []struct{ Action string }
			}
		}
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Role.AssumeRolePolicyDocument.Statement[0].Action != "sts:AssumeRoleWithWebIdentity" {
		t.Fatalf("aws iam get-role printed %s (%v)", out, err)
	}
}
