package identitystore_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

const readerUser = `    - name: reader
      access_keys:
        - id: AKIAREADER
          secret: reader-secret
      policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: identitystore:GetUserId
              Resource: "*"
`

func start(t *testing.T, edit func(string) string) *sandbox.Sandbox {
	t.Helper()
	y := strings.Replace(string(world.DefaultYAML()), "iam:\n  users:\n", "iam:\n  users:\n"+readerUser, 1)
	if edit != nil {
		y = edit(y)
	}
	sb, err := sandbox.Start(sandbox.Options{WorldYAML: []byte(y)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func admin(sb *sandbox.Sandbox) *identitystore.Client {
	return identitystore.NewFromConfig(ststest.Config(sb, ststest.Admin()))
}

func wantErr(t *testing.T, err error, code string) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() < 400 {
		t.Fatalf("no HTTP error status: %v", err)
	}
	return ae
}

func byEmail(store, email string) *identitystore.GetUserIdInput {
	return &identitystore.GetUserIdInput{IdentityStoreId: aws.String(store),
		AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String("emails.value"), AttributeValue: document.NewLazyDocument(email)}}}
}

func TestGetUserIdAndDescribe(t *testing.T) {
	sb := start(t, nil)
	ctx := context.Background()
	c := admin(sb)
	ic := sb.Env.World.IdentityCenter
	store := ic.IdentityStoreID
	alice := ic.Users[0]

	out, err := c.GetUserId(ctx, byEmail(store, "Alice@Example.com"))
	if err != nil || aws.ToString(out.UserId) != alice.UserID || aws.ToString(out.IdentityStoreId) != store {
		t.Fatalf("GetUserId(email) = %+v, %v", out, err)
	}
	out, err = c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(store),
		AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument("bob")}}})
	if err != nil || aws.ToString(out.UserId) != ic.Users[1].UserID {
		t.Fatalf("GetUserId(userName) = %+v, %v", out, err)
	}
	out, err = c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(store),
		AlternateIdentifier: &types.AlternateIdentifierMemberExternalId{Value: types.ExternalId{
			Issuer: aws.String(sb.URL() + "/idp"), Id: aws.String("carol@example.com")}}})
	if err != nil || aws.ToString(out.UserId) != ic.Users[2].UserID {
		t.Fatalf("GetUserId(external id) = %+v, %v", out, err)
	}

	// dave exists only at the IdP.
	_, err = c.GetUserId(ctx, byEmail(store, "dave@example.com"))
	ae := wantErr(t, err, "ResourceNotFoundException")
	if !strings.Contains(ae.ErrorMessage(), "dave@example.com") {
		t.Fatalf("message %q", ae.ErrorMessage())
	}
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || rnf.ResourceType != types.ResourceTypeUser {
		t.Fatalf("ResourceNotFoundException members: %+v", rnf)
	}
	_, err = c.GetUserId(ctx, byEmail("d-0000000000", "alice@example.com"))
	if !errors.As(err, &rnf) || rnf.ResourceType != types.ResourceTypeIdentityStore {
		t.Fatalf("wrong store: %v", err)
	}
	_, err = c.GetUserId(ctx, byEmail("store!", "alice@example.com"))
	wantErr(t, err, "ValidationException")
	_, err = c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(store),
		AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String("nickName"), AttributeValue: document.NewLazyDocument("x")}}})
	wantErr(t, err, "ValidationException")
	_, err = c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(store),
		AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument(42)}}})
	wantErr(t, err, "ValidationException")

	u, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(store), UserId: aws.String(alice.UserID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(u.UserName) != "alice" || len(u.Emails) != 1 || aws.ToString(u.Emails[0].Value) != "alice@example.com" ||
		len(u.ExternalIds) != 1 || aws.ToString(u.ExternalIds[0].Id) != "alice@example.com" || u.UserStatus != types.UserStatusEnabled {
		t.Fatalf("DescribeUser = %+v", u)
	}
	_, err = c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(store), UserId: aws.String("00000000-0000-0000-0000-000000000000")})
	wantErr(t, err, "ResourceNotFoundException")
	_, err = c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(store), UserId: aws.String("alice")})
	wantErr(t, err, "ValidationException")
}

func TestDuplicateEmailIsNotUnique(t *testing.T) {
	sb := start(t, func(y string) string {
		return strings.Replace(y, "    - user_name: bob\n      display_name: Bob Builder\n      email: bob@example.com",
			"    - user_name: bob\n      display_name: Bob Builder\n      email: alice@example.com", 1)
	})
	_, err := admin(sb).GetUserId(context.Background(), byEmail(sb.Env.World.IdentityCenter.IdentityStoreID, "alice@example.com"))
	if ae := wantErr(t, err, "ValidationException"); !strings.Contains(ae.ErrorMessage(), "2 users") {
		t.Fatalf("message %q", ae.ErrorMessage())
	}
}

func TestGroupMemberships(t *testing.T) {
	sb := start(t, nil)
	ctx := context.Background()
	c := admin(sb)
	ic := sb.Env.World.IdentityCenter
	alice := ic.Users[0].UserID
	var groups []string
	p := identitystore.NewListGroupMembershipsForMemberPaginator(c, &identitystore.ListGroupMembershipsForMemberInput{
		IdentityStoreId: aws.String(ic.IdentityStoreID), MemberId: &types.MemberIdMemberUserId{Value: alice}, MaxResults: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range page.GroupMemberships {
			if mid, ok := m.MemberId.(*types.MemberIdMemberUserId); !ok || mid.Value != alice || aws.ToString(m.MembershipId) == "" {
				t.Fatalf("membership %+v", m)
			}
			g, err := c.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: aws.String(ic.IdentityStoreID), GroupId: m.GroupId})
			if err != nil {
				t.Fatal(err)
			}
			groups = append(groups, aws.ToString(g.DisplayName))
		}
	}
	if strings.Join(groups, ",") != "emea-sales,analysts" || pages != 2 {
		t.Fatalf("alice's groups %v in %d pages", groups, pages)
	}
	_, err := c.ListGroupMembershipsForMember(ctx, &identitystore.ListGroupMembershipsForMemberInput{
		IdentityStoreId: aws.String(ic.IdentityStoreID), MemberId: &types.MemberIdMemberUserId{Value: alice}, NextToken: aws.String("bm9wZQ==")})
	wantErr(t, err, "ValidationException")
	if n := sb.Env.Stats.Get("identitystore:ListGroupMembershipsForMember"); n != 3 {
		t.Fatalf("counted %d ListGroupMembershipsForMember calls, want 3", n)
	}
}

func TestAccessDenied(t *testing.T) {
	sb := start(t, nil)
	ctx := context.Background()
	c := identitystore.NewFromConfig(ststest.Config(sb, ststest.Static("AKIAREADER", "reader-secret", "")))
	ic := sb.Env.World.IdentityCenter
	out, err := c.GetUserId(ctx, byEmail(ic.IdentityStoreID, "alice@example.com"))
	if err != nil {
		t.Fatalf("reader may call GetUserId: %v", err)
	}
	_, err = c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(ic.IdentityStoreID), UserId: out.UserId})
	if ae := wantErr(t, err, "AccessDeniedException"); !strings.Contains(ae.ErrorMessage(), "identitystore:DescribeUser") {
		t.Fatalf("denial %q does not name the action", ae.ErrorMessage())
	}
}

func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed; skipping the cross-check with botocore")
	}
	sb := start(t, nil)
	ic := sb.Env.World.IdentityCenter
	cmd := exec.Command("aws", "identitystore", "get-user-id", "--identity-store-id", ic.IdentityStoreID,
		"--alternate-identifier", `{"UniqueAttribute":{"AttributePath":"emails.value","AttributeValue":"bob@example.com"}}`,
		"--endpoint-url", sb.URL(), "--region", "us-east-1", "--output", "text", "--query", "UserId")
	cmd.Env = []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin:/usr/local/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != ic.Users[1].UserID {
		t.Fatalf("aws identitystore get-user-id: %s %v", out, err)
	}
}
