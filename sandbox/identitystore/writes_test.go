package identitystore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestProvisioning creates, lists and deletes a user, a group and a
// membership through aws-sdk-go-v2, as SCIM provisioning would.
func TestProvisioning(t *testing.T) {
	sb := start(t, nil)
	ctx := context.Background()
	c := admin(sb)
	store := aws.String(sb.Env.Snapshot().IdentityCenter.IdentityStoreID)

	u, err := c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: store, UserName: aws.String("frank"),
		DisplayName: aws.String("Frank Field"), Name: &types.Name{GivenName: aws.String("Frank"), FamilyName: aws.String("Field")},
		Emails: []types.Email{{Value: aws.String("frank@example.com"), Primary: true, Type: aws.String("work")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: store, UserName: aws.String("frank"),
		DisplayName: aws.String("Frank Again"), Emails: []types.Email{{Value: aws.String("f2@example.com")}}})
	wantErr(t, err, "ConflictException")
	g, err := c.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: store, DisplayName: aws.String("field-team"), Description: aws.String("field")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: store, GroupId: g.GroupId,
		MemberId: &types.MemberIdMemberUserId{Value: aws.ToString(u.UserId)}})
	if err != nil {
		t.Fatal(err)
	}

	users, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: store})
	if err != nil || len(users.Users) != len(sb.Env.Snapshot().IdentityCenter.Users) {
		t.Fatalf("ListUsers = %d users, %v", len(users.Users), err)
	}
	d, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: store, UserId: u.UserId})
	if err != nil || aws.ToString(d.UserName) != "frank" || aws.ToString(d.Name.FamilyName) != "Field" || aws.ToString(d.Emails[0].Value) != "frank@example.com" {
		t.Fatalf("DescribeUser = %+v, %v", d, err)
	}
	groups, err := c.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: store, MaxResults: aws.Int32(1)})
	if err != nil || len(groups.Groups) != 1 || groups.NextToken == nil {
		t.Fatalf("ListGroups page = %+v, %v", groups, err)
	}
	gid, err := c.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: store, AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{
		Value: types.UniqueAttribute{AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("field-team")}}})
	if err != nil || aws.ToString(gid.GroupId) != aws.ToString(g.GroupId) {
		t.Fatalf("GetGroupId = %+v, %v", gid, err)
	}
	ms, err := c.ListGroupMemberships(ctx, &identitystore.ListGroupMembershipsInput{IdentityStoreId: store, GroupId: g.GroupId})
	if err != nil || len(ms.GroupMemberships) != 1 || aws.ToString(ms.GroupMemberships[0].MembershipId) != aws.ToString(m.MembershipId) {
		t.Fatalf("ListGroupMemberships = %+v, %v", ms, err)
	}
	mid, err := c.GetGroupMembershipId(ctx, &identitystore.GetGroupMembershipIdInput{IdentityStoreId: store, GroupId: g.GroupId,
		MemberId: &types.MemberIdMemberUserId{Value: aws.ToString(u.UserId)}})
	if err != nil || aws.ToString(mid.MembershipId) != aws.ToString(m.MembershipId) {
		t.Fatalf("GetGroupMembershipId = %+v, %v", mid, err)
	}
	other := sb.Env.Snapshot().IdentityCenter.Groups[0].GroupID
	in, err := c.IsMemberInGroups(ctx, &identitystore.IsMemberInGroupsInput{IdentityStoreId: store,
		MemberId: &types.MemberIdMemberUserId{Value: aws.ToString(u.UserId)}, GroupIds: []string{aws.ToString(g.GroupId), other}})
	if err != nil || len(in.Results) != 2 || !in.Results[0].MembershipExists || in.Results[1].MembershipExists {
		t.Fatalf("IsMemberInGroups = %+v, %v", in, err)
	}

	if _, err := c.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: store, MembershipId: m.MembershipId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: store, MembershipId: m.MembershipId})
	wantErr(t, err, "ResourceNotFoundException")
	if _, err := c.DeleteGroup(ctx, &identitystore.DeleteGroupInput{IdentityStoreId: store, GroupId: g.GroupId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: store, UserId: u.UserId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: store, UserId: u.UserId})
	wantErr(t, err, "ResourceNotFoundException")

	// A group that an Access Grants grant names cannot go first.
	emea, err := c.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: store, AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{
		Value: types.UniqueAttribute{AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("emea-sales")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteGroup(ctx, &identitystore.DeleteGroupInput{IdentityStoreId: store, GroupId: emea.GroupId})
	wantErr(t, err, "ConflictException")

	// Writes are authorized by the caller's identity policy.
	reader := identitystore.NewFromConfig(ststest.Config(sb, ststest.Static("AKIAREADER", "reader-secret", "")))
	_, err = reader.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: store, DisplayName: aws.String("x")})
	if ae := wantErr(t, err, "AccessDeniedException"); ae == nil {
		t.Fatal("no error")
	}
}

const boto3Provisioning = `
import boto3, sys
ep, store = sys.argv[1], sys.argv[2]
c = boto3.client("identitystore", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
u = c.create_user(IdentityStoreId=store, UserName="gina", DisplayName="Gina", Name={"GivenName": "Gina", "FamilyName": "G"},
    Emails=[{"Value": "gina@example.com", "Primary": True}])["UserId"]
g = c.create_group(IdentityStoreId=store, DisplayName="py-group")["GroupId"]
m = c.create_group_membership(IdentityStoreId=store, GroupId=g, MemberId={"UserId": u})["MembershipId"]
print("users=%d" % len(c.list_users(IdentityStoreId=store)["Users"]))
print("groups=%d" % len(c.list_groups(IdentityStoreId=store)["Groups"]))
print("gid=%s" % (c.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "py-group"}})["GroupId"] == g))
print("mid=%s" % (c.get_group_membership_id(IdentityStoreId=store, GroupId=g, MemberId={"UserId": u})["MembershipId"] == m))
print("members=%d" % len(c.list_group_memberships(IdentityStoreId=store, GroupId=g)["GroupMemberships"]))
print("in=%s" % c.is_member_in_groups(IdentityStoreId=store, MemberId={"UserId": u}, GroupIds=[g])["Results"][0]["MembershipExists"])
c.delete_group_membership(IdentityStoreId=store, MembershipId=m)
c.delete_group(IdentityStoreId=store, GroupId=g)
c.delete_user(IdentityStoreId=store, UserId=u)
try:
    c.describe_user(IdentityStoreId=store, UserId=u)
except c.exceptions.ResourceNotFoundException:
    print("gone=ResourceNotFoundException")
`

func TestBoto3Provisioning(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs python3 with boto3: %v", err)
		}
		t.Skip("python3 with boto3 is not installed; the botocore cross-check is skipped")
	}
	sb := start(t, nil)
	out, err := exec.Command("python3", "-c", boto3Provisioning, sb.URL(), sb.Env.Snapshot().IdentityCenter.IdentityStoreID).CombinedOutput()
	// The world is read after the script: it deleted what it created.
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	ic := sb.Env.Snapshot().IdentityCenter
	want := fmt.Sprintf("users=%d\ngroups=%d\n", len(ic.Users)+1, len(ic.Groups)+1) + "gid=True\nmid=True\nmembers=1\nin=True\ngone=ResourceNotFoundException\n"
	if string(out) != want {
		t.Fatalf("boto3 output:\n%s\nwant:\n%s", out, want)
	}
}

// TestAuthErrorCodes: identitystore (awsJson1_1) names authentication
// failures as JSON services do, with HTTP 400.
func TestAuthErrorCodes(t *testing.T) {
	sb := start(t, nil)
	ctx := context.Background()
	store := aws.String(sb.Env.Snapshot().IdentityCenter.IdentityStoreID)
	for _, c := range []struct {
		name  string
		creds aws.CredentialsProvider
		code  string
	}{
		{"unknown key", ststest.Static("AKIANOBODY", "x", ""), "UnrecognizedClientException"},
		{"wrong secret", ststest.Static("test", "wrong", ""), "InvalidSignatureException"},
	} {
		c := c
		t.Run(c.name, func(t *testing.T) {
			_, err := identitystore.NewFromConfig(ststest.Config(sb, c.creds)).ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: store})
			ststest.WantAPIError(t, err, c.code, 400)
		})
	}
}
