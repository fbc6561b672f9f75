package identitycenter_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/document"
	satypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestTokenExchange: an access token of one application becomes tokens of
// another once the first authorizes the second for a scope both have.
func TestTokenExchange(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	br := bridge(t, sb, iss)
	appA := ststest.AppArn(t, sb, appName)
	admin := ssoadmin.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	const scope = "s3:access_grants:read_write"

	b, err := admin.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: aws.String(sb.Env.Snapshot().IdentityCenter.InstanceArn),
		Name: aws.String("downstream"), ApplicationProviderArn: aws.String(world.CustomApplicationProvider)})
	if err != nil {
		t.Fatal(err)
	}
	appB := b.ApplicationArn
	actor := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow",
		"Principal": map[string]any{"AWS": ststest.Role(sb, "tip-bridge")}, "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}}}
	for i, step := range []func() error{
		func() error {
			_, err := admin.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: appB,
				AuthenticationMethodType: satypes.AuthenticationMethodTypeIam,
				AuthenticationMethod:     &satypes.AuthenticationMethodMemberIam{Value: satypes.IamAuthenticationMethod{ActorPolicy: document.NewLazyDocument(actor)}}})
			return err
		},
		func() error {
			_, err := admin.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: appB, GrantType: satypes.GrantTypeTokenExchange,
				Grant: &satypes.GrantMemberTokenExchange{Value: satypes.TokenExchangeGrant{}}})
			return err
		},
		func() error {
			_, err := admin.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: appB, Scope: aws.String(scope)})
			return err
		},
		func() error {
			_, err := admin.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: appB, AssignmentRequired: aws.Bool(false)})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
	}

	first, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appA, iss.Token(t, "alice@example.com", sb.Env.Now())))
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(app *string, subject string) (*ssooidc.CreateTokenWithIAMOutput, error) {
		return ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: app,
			GrantType: aws.String(identitycenter.GrantTokenExchange), SubjectToken: aws.String(subject),
			SubjectTokenType: aws.String(identitycenter.TokenTypeAccessToken), RequestedTokenType: aws.String(identitycenter.TokenTypeAccessToken)})
	}
	// The first application has not authorized the second for the scope.
	_, err = exchange(appB, aws.ToString(first.AccessToken))
	wantError(t, err, "InvalidScopeException", 400)

	if _, err := admin.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: aws.String(appA), Scope: aws.String(scope),
		AuthorizedTargets: []string{aws.ToString(appB)}}); err != nil {
		t.Fatal(err)
	}
	out, err := exchange(appB, aws.ToString(first.AccessToken))
	if err != nil {
		t.Fatalf("token exchange: %v", err)
	}
	if aws.ToString(out.IssuedTokenType) != identitycenter.TokenTypeAccessToken || out.RefreshToken != nil || len(out.Scope) != 1 || out.Scope[0] != scope {
		t.Fatalf("exchange reply: issued %s, refresh %v, scopes %v", aws.ToString(out.IssuedTokenType), out.RefreshToken, out.Scope)
	}
	claims := ststest.DecodeJWT(t, aws.ToString(out.IdToken))
	alice := sb.Env.Snapshot().IdentityCenter.User("alice").UserID
	if claims["aud"] != aws.ToString(appB) || claims["sub"] != alice {
		t.Fatalf("id token aud %v sub %v", claims["aud"], claims["sub"])
	}
	c, err := sb.Env.Sealer.OpenContext(aws.ToString(out.AwsAdditionalDetails.IdentityContext), auth.IdentityCenterProvider, sb.Env.Now())
	if err != nil || c.ApplicationArn != aws.ToString(appB) || c.UserID != alice {
		t.Fatalf("identity context %+v, %v", c, err)
	}

	// Not an Identity Center access token; an application without the grant.
	_, err = exchange(appB, iss.Token(t, "alice@example.com", sb.Env.Now()))
	wantError(t, err, "InvalidGrantException", 400)
	_, err = exchange(aws.String(appA), aws.ToString(out.AccessToken))
	wantError(t, err, "UnauthorizedClientException", 400)
}
