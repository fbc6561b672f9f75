package sts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	qstypes "github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/awsconf"
)

func quickSight(sb *sandbox.Sandbox, creds aws.CredentialsProvider) *qs.Client {
	return qs.NewFromConfig(ststest.Config(sb, creds))
}

// anonymousAllRegions is the attack's job: an anonymous user whose RLS tag
// matches every region.
func anonymousAllRegions(ctx context.Context, c *qs.Client, account, id string) error {
	_, err := c.StartDashboardSnapshotJob(ctx, &qs.StartDashboardSnapshotJobInput{
		AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String(id),
		UserConfiguration: &qstypes.SnapshotUserConfiguration{AnonymousUsers: []qstypes.SnapshotAnonymousUser{{
			RowLevelPermissionTags: []qstypes.SessionTag{{Key: aws.String("region"), Value: aws.String("*")}}}}},
		SnapshotConfiguration: &qstypes.SnapshotConfiguration{
			FileGroups: []qstypes.SnapshotFileGroup{{Files: []qstypes.SnapshotFile{{FormatType: qstypes.SnapshotFileFormatTypeCsv,
				SheetSelections: []qstypes.SnapshotFileSheetSelection{{SheetId: aws.String("by-region"),
					SelectionScope: qstypes.SnapshotFileSheetSelectionScopeSelectedVisuals, VisualIds: []string{"sales-detail"}}}}}}},
			DestinationConfiguration: &qstypes.SnapshotDestinationConfiguration{S3Destinations: []qstypes.SnapshotS3DestinationConfiguration{{
				BucketConfiguration: &qstypes.S3BucketConfiguration{BucketName: aws.String("quicksight-snapshots"),
					BucketPrefix: aws.String("x"), BucketRegion: aws.String("us-east-1")}}}},
		},
	})
	return err
}

// TestEnhancedRoleUselessWithoutPerson is the attack of issue 11 A5: dave,
// who signs in at the IdP but is not an Identity Center user, assumes the
// bridge role with his token, then tip-enhanced without ProvidedContexts
// (STS allows that), and starts an anonymous QuickSight snapshot with the
// RLS tag region=*. The role's rights demand identitystore:UserId, so the
// context-less session can only identify itself.
func TestEnhancedRoleUselessWithoutPerson(t *testing.T) {
	ctx := context.Background()
	sb := ststest.Sandbox(t, nil)
	account := sb.Env.World.AccountID

	tok := ststest.PasswordLogin(t, sb.URL(), "dave@example.com", "dave-sandbox-pw", "openid email")
	wi, err := webIdentity(ctx, sb, tok.IDToken, "tip-bridge", "bridge-dave")
	if err != nil {
		t.Fatalf("dave's bridge session: %v", err)
	}
	bridgeCreds := ststest.CredsOf(wi.Credentials)
	// dave has no Identity Center identity to carry.
	_, err = ststest.OIDC(sb, bridgeCreds).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(ststest.AppArn(t, sb, appName)), GrantType: aws.String(identitycenter.GrantJWTBearer),
		Assertion: aws.String(tok.IDToken)})
	if err == nil {
		t.Fatal("CreateTokenWithIAM accepted dave, who is not in Identity Center")
	}

	// AssumeRole without ProvidedContexts succeeds, as in AWS.
	plain, err := ststest.STS(sb, bridgeCreds).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(ststest.Role(sb, "tip-enhanced")), RoleSessionName: aws.String("dave")})
	if err != nil {
		t.Fatalf("AssumeRole without ProvidedContexts: %v", err)
	}
	daveCreds := ststest.CredsOf(plain.Credentials)

	// It may identify itself …
	id, err := ststest.STS(sb, daveCreds).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::"+account+":assumed-role/tip-enhanced/dave" {
		t.Fatalf("GetCallerIdentity: %v %v", id, err)
	}
	// … and nothing else: not the anonymous all-regions snapshot,
	err = anonymousAllRegions(ctx, quickSight(sb, daveCreds), account, "dave-all-regions")
	ststest.WantAPIError(t, err, "AccessDeniedException", 401)
	// not S3 Access Grants,
	s3c := s3control.NewFromConfig(ststest.Config(sb, daveCreds), awsconf.S3ControlOptions(sb.URL()))
	_, err = s3c.GetDataAccess(ctx, &s3control.GetDataAccessInput{AccountId: aws.String(account),
		Target: aws.String("s3://analytics-data/*"), Permission: s3ctypes.PermissionRead})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	// and it may not set a QuickSight context on the role either: its
	// trust limits sts:SetContext to the Identity Center provider.
	qsCtx, err := quickSight(sb, ststest.Admin()).GetIdentityContext(ctx, &qs.GetIdentityContextInput{
		AwsAccountId: aws.String(account), Namespace: aws.String("default"),
		UserIdentifier: &qstypes.UserIdentifierMemberEmail{Value: "carol@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ststest.STS(sb, bridgeCreds).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(ststest.Role(sb, "tip-enhanced")), RoleSessionName: aws.String("dave-as-carol"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(auth.QuickSightProvider), ContextAssertion: qsCtx.Context}}})
	if msg := ststest.WantAPIError(t, err, "AccessDenied", 403); msg == "" {
		t.Fatal("empty AccessDenied message")
	}

	// The same role with a person works: alice's identity-enhanced session
	// starts a snapshot job for herself.
	alice := ststest.PasswordLogin(t, sb.URL(), "alice@example.com", "alice-sandbox-pw", "openid email")
	wi, err = webIdentity(ctx, sb, alice.IDToken, "tip-bridge", "bridge-alice")
	if err != nil {
		t.Fatal(err)
	}
	aliceBridge := ststest.CredsOf(wi.Credentials)
	idc, err := ststest.OIDC(sb, aliceBridge).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(ststest.AppArn(t, sb, appName)), GrantType: aws.String(identitycenter.GrantJWTBearer),
		Assertion: aws.String(alice.IDToken)})
	if err != nil {
		t.Fatal(err)
	}
	enh, err := assumeEnhanced(ctx, sb, aliceBridge, "tip-enhanced", *idc.AwsAdditionalDetails.IdentityContext)
	if err != nil {
		t.Fatalf("alice's identity-enhanced AssumeRole: %v", err)
	}
	_, err = s3c.GetDataAccess(ctx, &s3control.GetDataAccessInput{AccountId: aws.String(account),
		Target: aws.String("s3://analytics-data/emea/*"), Permission: s3ctypes.PermissionRead},
		func(o *s3control.Options) { o.Credentials = ststest.CredsOf(enh.Credentials) })
	if err != nil {
		t.Fatalf("alice's GetDataAccess: %v", err)
	}
}

// TestSnapshotRoleNeedsQuickSightUser: the quicksight-snapshots role's
// rights work only in a session that carries a QuickSight user, and its
// trust accepts only QuickSight contexts.
func TestSnapshotRoleNeedsQuickSightUser(t *testing.T) {
	ctx := context.Background()
	sb := ststest.Sandbox(t, nil)
	account := sb.Env.World.AccountID
	admin := ststest.STS(sb, ststest.Admin())
	plain, err := admin.AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(ststest.Role(sb, "quicksight-snapshots")), RoleSessionName: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	err = anonymousAllRegions(ctx, quickSight(sb, ststest.CredsOf(plain.Credentials)), account, "plain-all-regions")
	ststest.WantAPIError(t, err, "AccessDeniedException", 401)

	qsCtx, err := quickSight(sb, ststest.Admin()).GetIdentityContext(ctx, &qs.GetIdentityContextInput{
		AwsAccountId: aws.String(account), Namespace: aws.String("default"),
		UserIdentifier: &qstypes.UserIdentifierMemberEmail{Value: "alice@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	enh, err := admin.AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(ststest.Role(sb, "quicksight-snapshots")), RoleSessionName: aws.String("alice"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(auth.QuickSightProvider), ContextAssertion: qsCtx.Context}}})
	if err != nil {
		t.Fatalf("AssumeRole with a QuickSight context: %v", err)
	}
	c := quickSight(sb, ststest.CredsOf(enh.Credentials))
	_, err = c.StartDashboardSnapshotJob(ctx, &qs.StartDashboardSnapshotJobInput{
		AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String("alice-1"),
		SnapshotConfiguration: &qstypes.SnapshotConfiguration{
			FileGroups: []qstypes.SnapshotFileGroup{{Files: []qstypes.SnapshotFile{{FormatType: qstypes.SnapshotFileFormatTypeCsv,
				SheetSelections: []qstypes.SnapshotFileSheetSelection{{SheetId: aws.String("by-region"),
					SelectionScope: qstypes.SnapshotFileSheetSelectionScopeSelectedVisuals, VisualIds: []string{"sales-detail"}}}}}}},
			DestinationConfiguration: &qstypes.SnapshotDestinationConfiguration{S3Destinations: []qstypes.SnapshotS3DestinationConfiguration{{
				BucketConfiguration: &qstypes.S3BucketConfiguration{BucketName: aws.String("quicksight-snapshots"),
					BucketPrefix: aws.String("x"), BucketRegion: aws.String("us-east-1")}}}},
		}})
	if err != nil {
		t.Fatalf("alice's snapshot job with a QuickSight context: %v", err)
	}
}

// TestSetContextRequestContextKeys: the trust's sts:SetContext statement
// is evaluated with sts:RequestContext/<key> from the assertion, so a
// trust can name the one person a role may carry.
func TestSetContextRequestContextKeys(t *testing.T) {
	ctx := context.Background()
	probe := ststest.Sandbox(t, nil)
	var aliceID string
	for _, u := range probe.Env.World.IdentityCenter.Users {
		if u.UserName == "alice" {
			aliceID = u.UserID
		}
	}
	if aliceID == "" {
		t.Fatal("no alice in the default world")
	}
	const cond = "              \"Null\":\n                sts:RequestContextProviders: \"false\"\n"
	y := string(world.DefaultYAML())
	if !strings.Contains(y, cond) {
		t.Fatal("the default world's tip-enhanced SetContext statement changed")
	}
	y = strings.Replace(y, cond, cond+"              StringEquals:\n                sts:RequestContext/identitystore:UserId: "+aliceID+"\n", 1)
	sb := ststest.Sandbox(t, []byte(y))
	if sb.Env.World.IdentityCenter.Users[0].UserID != aliceID {
		t.Fatal("user ids differ between sandboxes of the same world")
	}
	assume := func(email, pw string) error {
		tok := ststest.PasswordLogin(t, sb.URL(), email, pw, "openid email")
		wi, err := webIdentity(ctx, sb, tok.IDToken, "tip-bridge", "bridge")
		if err != nil {
			t.Fatal(err)
		}
		creds := ststest.CredsOf(wi.Credentials)
		idc, err := ststest.OIDC(sb, creds).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
			ClientId: aws.String(ststest.AppArn(t, sb, appName)), GrantType: aws.String(identitycenter.GrantJWTBearer),
			Assertion: aws.String(tok.IDToken)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = assumeEnhanced(ctx, sb, creds, "tip-enhanced", *idc.AwsAdditionalDetails.IdentityContext)
		return err
	}
	if err := assume("alice@example.com", "alice-sandbox-pw"); err != nil {
		t.Fatalf("alice, whom the trust names: %v", err)
	}
	err := assume("bob@example.com", "bob-sandbox-pw")
	if msg := ststest.WantAPIError(t, err, "AccessDenied", 403); !strings.Contains(msg, "sts:SetContext") {
		t.Fatalf("bob: %s", msg)
	}
}
