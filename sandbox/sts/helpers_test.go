package sts_test

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

const appName = "tipctl-sandbox-app"

// webIdentity calls AssumeRoleWithWebIdentity (unsigned) for role.
func webIdentity(ctx context.Context, sb *sandbox.Sandbox, token, role, session string) (*awssts.AssumeRoleWithWebIdentityOutput, error) {
	return ststest.STS(sb, nil).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(ststest.Role(sb, role)), RoleSessionName: aws.String(session), WebIdentityToken: aws.String(token),
	})
}

// bridge returns a tip-bridge session for email.
func bridge(t testing.TB, sb *sandbox.Sandbox, iss *ststest.Issuer, email string) aws.CredentialsProvider {
	t.Helper()
	out, err := webIdentity(context.Background(), sb, iss.Token(t, email, sb.Env.Now()), "tip-bridge", "bridge-"+strings.Split(email, "@")[0])
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	return ststest.CredsOf(out.Credentials)
}

// identityContext exchanges a fresh IdP token of email for an Identity Center
// token with the bridge session and returns the token reply.
func identityContext(t testing.TB, sb *sandbox.Sandbox, iss *ststest.Issuer, bridgeCreds aws.CredentialsProvider, email string) *ssooidc.CreateTokenWithIAMOutput {
	t.Helper()
	out, err := ststest.OIDC(sb, bridgeCreds).CreateTokenWithIAM(context.Background(), &ssooidc.CreateTokenWithIAMInput{
		ClientId:  aws.String(ststest.AppArn(t, sb, appName)),
		GrantType: aws.String(identitycenter.GrantJWTBearer),
		Assertion: aws.String(iss.Token(t, email, sb.Env.Now())),
	})
	if err != nil {
		t.Fatalf("CreateTokenWithIAM: %v", err)
	}
	if out.AwsAdditionalDetails == nil || out.AwsAdditionalDetails.IdentityContext == nil {
		t.Fatalf("CreateTokenWithIAM returned no identity context")
	}
	return out
}

func assumeEnhanced(ctx context.Context, sb *sandbox.Sandbox, creds aws.CredentialsProvider, role, assertion string, mod ...func(*awssts.AssumeRoleInput)) (*awssts.AssumeRoleOutput, error) {
	in := &awssts.AssumeRoleInput{
		RoleArn: aws.String(ststest.Role(sb, role)), RoleSessionName: aws.String("enhanced"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(auth.IdentityCenterProvider), ContextAssertion: aws.String(assertion)}},
	}
	for _, m := range mod {
		m(in)
	}
	return ststest.STS(sb, creds).AssumeRole(ctx, in)
}

// stillServes checks the sandbox answers a normal signed call.
func stillServes(t testing.TB, sb *sandbox.Sandbox) {
	t.Helper()
	out, err := ststest.STS(sb, ststest.Admin()).GetCallerIdentity(context.Background(), &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("the sandbox no longer serves GetCallerIdentity: %v", err)
	}
	if *out.Arn != "arn:aws:iam::123456789012:user/admin" {
		t.Fatalf("GetCallerIdentity Arn = %s", *out.Arn)
	}
}

// queryError is the awsQuery error document.
type queryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

func parseQueryError(t testing.TB, b []byte) queryError {
	t.Helper()
	var q queryError
	if err := xml.Unmarshal(b, &q); err != nil {
		t.Fatalf("not an awsQuery error document: %v\n%s", err, b)
	}
	if q.Error.Type != "Sender" || q.RequestID == "" || q.Error.Message == "" {
		t.Fatalf("error document lacks Type/Message/RequestId: %s", b)
	}
	return q
}
