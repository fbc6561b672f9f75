package identitycenter_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	satypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestWritesTakeEffect: a trusted token issuer created through sso-admin is
// honoured by the next CreateTokenWithIAM, and a group membership created
// through identitystore is in the next identity context, with no restart.
func TestWritesTakeEffect(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	br := bridge(t, sb, iss)
	appArn := ststest.AppArn(t, sb, appName)
	other := ststest.NewIssuer(t, "https://other-idp.test.example")
	other.Register(sb)

	_, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, other.Token(t, "alice@example.com", sb.Env.Now())))
	if err == nil {
		t.Fatal("a token of an issuer the application does not trust was exchanged")
	}

	admin := ssoadmin.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	ic := sb.Env.Snapshot().IdentityCenter
	tti, err := admin.CreateTrustedTokenIssuer(ctx, &ssoadmin.CreateTrustedTokenIssuerInput{InstanceArn: aws.String(ic.InstanceArn),
		Name: aws.String("other-idp"), TrustedTokenIssuerType: satypes.TrustedTokenIssuerTypeOidcJwt,
		TrustedTokenIssuerConfiguration: &satypes.TrustedTokenIssuerConfigurationMemberOidcJwtConfiguration{Value: satypes.OidcJwtConfiguration{
			IssuerUrl: aws.String(other.URL), ClaimAttributePath: aws.String("email"), IdentityStoreAttributePath: aws.String("emails.value"),
			JwksRetrievalOption: satypes.JwksRetrievalOptionOpenIdDiscovery}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: aws.String(appArn), GrantType: satypes.GrantTypeJwtBearer,
		Grant: &satypes.GrantMemberJwtBearer{Value: satypes.JwtBearerGrant{AuthorizedTokenIssuers: []satypes.AuthorizedTokenIssuer{
			{TrustedTokenIssuerArn: aws.String(ic.TrustedTokenIssuers[0].Arn), AuthorizedAudiences: []string{ststest.ClientID}},
			{TrustedTokenIssuerArn: tti.TrustedTokenIssuerArn, AuthorizedAudiences: []string{ststest.ClientID}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	groupsOf := func(token string) []string {
		t.Helper()
		out, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, token))
		if err != nil {
			t.Fatalf("CreateTokenWithIAM: %v", err)
		}
		c, err := sb.Env.Sealer.OpenContext(aws.ToString(out.AwsAdditionalDetails.IdentityContext), auth.IdentityCenterProvider, sb.Env.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c.GroupNames()
	}
	before := groupsOf(other.Token(t, "alice@example.com", sb.Env.Now()))
	if slices.Contains(before, "night-shift") || len(before) == 0 {
		t.Fatalf("alice's groups before: %v", before)
	}

	store := identitystore.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	g, err := store.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: aws.String(ic.IdentityStoreID), DisplayName: aws.String("night-shift")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: aws.String(ic.IdentityStoreID),
		GroupId: g.GroupId, MemberId: &istypes.MemberIdMemberUserId{Value: ic.User("alice").UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if after := groupsOf(iss.Token(t, "alice@example.com", sb.Env.Now())); !slices.Contains(after, "night-shift") {
		t.Fatalf("alice's groups after joining night-shift: %v", after)
	}
	if _, err := store.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: aws.String(ic.IdentityStoreID), MembershipId: m.MembershipId}); err != nil {
		t.Fatal(err)
	}
	if again := groupsOf(iss.Token(t, "alice@example.com", sb.Env.Now())); slices.Contains(again, "night-shift") {
		t.Fatalf("alice's groups after leaving night-shift: %v", again)
	}
}

// TestRefreshAcrossWrites: a refresh token issued before a write to the
// world still works after it, and the refreshed context has the groups the
// directory has now.
func TestRefreshAcrossWrites(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	br := bridge(t, sb, iss)
	appArn := ststest.AppArn(t, sb, appName)
	out, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, iss.Token(t, "alice@example.com", sb.Env.Now())))
	if err != nil || out.RefreshToken == nil {
		t.Fatalf("CreateTokenWithIAM: %v", err)
	}
	ic := sb.Env.Snapshot().IdentityCenter
	store := identitystore.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	g, err := store.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: aws.String(ic.IdentityStoreID), DisplayName: aws.String("late-joiners")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: aws.String(ic.IdentityStoreID),
		GroupId: g.GroupId, MemberId: &istypes.MemberIdMemberUserId{Value: ic.User("alice").UserID}}); err != nil {
		t.Fatal(err)
	}
	ref, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn),
		GrantType: aws.String(identitycenter.GrantRefreshToken), RefreshToken: out.RefreshToken})
	if err != nil {
		t.Fatalf("refresh after a write: %v", err)
	}
	c, err := sb.Env.Sealer.OpenContext(aws.ToString(ref.AwsAdditionalDetails.IdentityContext), auth.IdentityCenterProvider, sb.Env.Now())
	if err != nil || !slices.Contains(c.GroupNames(), "late-joiners") {
		t.Fatalf("refreshed context groups %v (%v)", c.GroupNames(), err)
	}
}
