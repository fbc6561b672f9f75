package sandbox_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	isdoc "github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/document"
	satypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestBareTrustIssuer: --bare with --trust-issuer is a bare account (no
// trust configuration at all) whose Identity Center directory is
// provisioned from the external issuer. Once the user has set up the
// trust through the APIs, a person of that IdP unknown to the directory
// exchanges a token for the audience and is created, in the groups of
// the token that exist; a token for another audience provisions nobody.
func TestBareTrustIssuer(t *testing.T) {
	const audience = "corp-client"
	sb := startOpts(t, sandbox.Options{Bare: true, TrustIssuer: ststest.DefaultIssuer, Audience: audience})
	iss := ststest.NewIssuer(t, ststest.DefaultIssuer)
	iss.Register(sb)
	ctx := context.Background()
	cfg := ststest.Config(sb, ststest.Admin())
	ic := sb.Env.Snapshot().IdentityCenter
	sso := ssoadmin.NewFromConfig(cfg)

	// Bare: nothing of the trust exists.
	ttis, err := sso.ListTrustedTokenIssuers(ctx, &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(ic.InstanceArn)})
	if err != nil || len(ttis.TrustedTokenIssuers) != 0 {
		t.Fatalf("ListTrustedTokenIssuers = %+v, %v", ttis, err)
	}
	apps, err := sso.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(ic.InstanceArn)})
	if err != nil || len(apps.Applications) != 0 {
		t.Fatalf("ListApplications = %+v, %v", apps, err)
	}
	providers, err := awsiam.NewFromConfig(cfg).ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(providers.OpenIDConnectProviderList) != 0 {
		t.Fatalf("ListOpenIDConnectProviders = %+v, %v", providers, err)
	}
	roles, err := awsiam.NewFromConfig(cfg).ListRoles(ctx, &awsiam.ListRolesInput{})
	if err != nil || len(roles.Roles) != 0 {
		t.Fatalf("ListRoles = %+v, %v", roles, err)
	}

	// The user's setup: a trusted token issuer for the IdP, an
	// application accepting its tokens for two audiences, callable by the
	// administrator.
	tti, err := sso.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{InstanceArn: aws.String(ic.InstanceArn), Name: aws.String("corp-idp"),
		TrustedTokenIssuerType: satypes.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &satypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: satypes.OidcJwtConfiguration{
			IssuerUrl: aws.String(ststest.DefaultIssuer), ClaimAttributePath: aws.String("email"),
			IdentityStoreAttributePath: aws.String("emails.value"), JwksRetrievalOption: satypes.JwksRetrievalOptionOpenIdDiscovery}}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := sso.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: aws.String(ic.InstanceArn), Name: aws.String("corp-app"),
		ApplicationProviderArn: aws.String(world.CustomApplicationProvider)})
	if err != nil {
		t.Fatal(err)
	}
	actor := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow",
		"Principal": map[string]any{"AWS": "arn:aws:iam::" + sb.Env.World.AccountID + ":user/admin"}, "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}}}
	if _, err := sso.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: app.ApplicationArn,
		AuthenticationMethodType: satypes.AuthenticationMethodTypeIam,
		AuthenticationMethod:     &satypes.AuthenticationMethodMemberIam{Value: satypes.IamAuthenticationMethod{ActorPolicy: document.NewLazyDocument(actor)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sso.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: app.ApplicationArn, GrantType: satypes.GrantTypeJwtBearer,
		Grant: &satypes.GrantMemberJwtBearer{Value: satypes.JwtBearerGrant{AuthorizedTokenIssuers: []satypes.AuthorizedTokenIssuer{
			{TrustedTokenIssuerArn: tti.TrustedTokenIssuerArn, AuthorizedAudiences: []string{audience, "other-client"}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sso.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: app.ApplicationArn,
		AssignmentRequired: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}

	group := ic.Groups[0].Name
	exchange := func(email, aud string) (*ssooidc.CreateTokenWithIAMOutput, error) {
		c := iss.Claims(email, sb.Env.Now())
		c["aud"], c["groups"] = aud, []any{group, "no-such-group"}
		return ststest.OIDC(sb, ststest.Admin()).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: app.ApplicationArn,
			GrantType: aws.String(identitycenter.GrantJWTBearer), Assertion: aws.String(iss.Mint(t, c))})
	}
	// Another audience of the same issuer: accepted by the grant, but the
	// directory is not provisioned from it.
	_, err = exchange("stranger@corp.example", "other-client")
	ststest.WantAPIError(t, err, "InvalidGrantException", 400)

	out, err := exchange("newhire@corp.example", audience)
	if err != nil {
		t.Fatalf("first token of a person of the trusted issuer: %v", err)
	}
	store := identitystore.NewFromConfig(cfg)
	id, err := store.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(ic.IdentityStoreID),
		AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{
			AttributePath: aws.String("emails.value"), AttributeValue: isdoc.NewLazyDocument("newhire@corp.example")}}})
	if err != nil {
		t.Fatalf("the provisioned user in the identity store: %v", err)
	}
	if sub := ststest.DecodeJWT(t, aws.ToString(out.IdToken))["sub"]; sub != aws.ToString(id.UserId) {
		t.Fatalf("token sub %v, identity store user %s", sub, aws.ToString(id.UserId))
	}
	gid, err := store.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: aws.String(ic.IdentityStoreID),
		AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{
			AttributePath: aws.String("displayName"), AttributeValue: isdoc.NewLazyDocument(group)}}})
	if err != nil {
		t.Fatal(err)
	}
	member, err := store.IsMemberInGroups(ctx, &identitystore.IsMemberInGroupsInput{IdentityStoreId: aws.String(ic.IdentityStoreID),
		MemberId: &istypes.MemberIdMemberUserId{Value: aws.ToString(id.UserId)}, GroupIds: []string{aws.ToString(gid.GroupId)}})
	if err != nil || len(member.Results) != 1 || !member.Results[0].MembershipExists {
		t.Fatalf("the provisioned user is not in %s: %+v, %v", group, member, err)
	}
}
