package quicksight_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

// TestUserAndGroupWrites registers, updates and deletes a user and a group
// with a membership through aws-sdk-go-v2.
func TestUserAndGroupWrites(t *testing.T) {
	sb, _ := start(t, nil)
	ctx := context.Background()
	c := admin(sb)
	acct, ns := aws.String("123456789012"), aws.String("default")

	u, err := c.RegisterUser(ctx, &qs.RegisterUserInput{AwsAccountId: acct, Namespace: ns, IdentityType: types.IdentityTypeQuicksight,
		Email: aws.String("hank@example.com"), UserRole: types.UserRoleReader, UserName: aws.String("hank")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(u.User.Arn) != "arn:aws:quicksight:us-east-1:123456789012:user/default/hank" || u.Status != 201 {
		t.Fatalf("RegisterUser = %+v (status %d)", u.User, u.Status)
	}
	_, err = c.RegisterUser(ctx, &qs.RegisterUserInput{AwsAccountId: acct, Namespace: ns, IdentityType: types.IdentityTypeQuicksight,
		Email: aws.String("hank2@example.com"), UserRole: types.UserRoleReader, UserName: aws.String("hank")})
	wantAPIError(t, err, "ResourceExistsException", 409)
	iamUser, err := c.RegisterUser(ctx, &qs.RegisterUserInput{AwsAccountId: acct, Namespace: ns, IdentityType: types.IdentityTypeIam,
		Email: aws.String("ivy@example.com"), UserRole: types.UserRoleReader, IamArn: aws.String("arn:aws:iam::123456789012:role/tip-enhanced"), SessionName: aws.String("ivy@example.com")})
	if err != nil || aws.ToString(iamUser.User.UserName) != "tip-enhanced/ivy@example.com" {
		t.Fatalf("RegisterUser IAM = %+v, %v", iamUser, err)
	}
	up, err := c.UpdateUser(ctx, &qs.UpdateUserInput{AwsAccountId: acct, Namespace: ns, UserName: aws.String("hank"), Email: aws.String("hank@corp.example"), Role: types.UserRoleAuthor})
	if err != nil || up.User.Role != types.UserRoleAuthor || aws.ToString(up.User.Email) != "hank@corp.example" {
		t.Fatalf("UpdateUser = %+v, %v", up, err)
	}
	g, err := c.CreateGroup(ctx, &qs.CreateGroupInput{AwsAccountId: acct, Namespace: ns, GroupName: aws.String("nordics"), Description: aws.String("north")})
	if err != nil || aws.ToString(g.Group.Arn) != "arn:aws:quicksight:us-east-1:123456789012:group/default/nordics" {
		t.Fatalf("CreateGroup = %+v, %v", g, err)
	}
	d, err := c.DescribeGroup(ctx, &qs.DescribeGroupInput{AwsAccountId: acct, Namespace: ns, GroupName: aws.String("nordics")})
	if err != nil || aws.ToString(d.Group.Description) != "north" {
		t.Fatalf("DescribeGroup = %+v, %v", d, err)
	}
	m, err := c.CreateGroupMembership(ctx, &qs.CreateGroupMembershipInput{AwsAccountId: acct, Namespace: ns, GroupName: aws.String("nordics"), MemberName: aws.String("hank")})
	if err != nil || aws.ToString(m.GroupMember.MemberName) != "hank" {
		t.Fatalf("CreateGroupMembership = %+v, %v", m, err)
	}
	ug, err := c.ListUserGroups(ctx, &qs.ListUserGroupsInput{AwsAccountId: acct, Namespace: ns, UserName: aws.String("hank")})
	if err != nil || len(ug.GroupList) != 1 || aws.ToString(ug.GroupList[0].GroupName) != "nordics" {
		t.Fatalf("ListUserGroups = %+v, %v", ug, err)
	}
	var names []string
	p := qs.NewListGroupsPaginator(c, &qs.ListGroupsInput{AwsAccountId: acct, Namespace: ns, MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.GroupList {
			names = append(names, aws.ToString(g.GroupName))
		}
	}
	if len(names) != len(sb.Env.Snapshot().QuickSight.Groups) || !strings.Contains(strings.Join(names, ","), "nordics") {
		t.Fatalf("ListGroups pages: %v", names)
	}
	if _, err := c.DeleteGroupMembership(ctx, &qs.DeleteGroupMembershipInput{AwsAccountId: acct, Namespace: ns, GroupName: aws.String("nordics"), MemberName: aws.String("hank")}); err != nil {
		t.Fatal(err)
	}
	ug, err = c.ListUserGroups(ctx, &qs.ListUserGroupsInput{AwsAccountId: acct, Namespace: ns, UserName: aws.String("hank")})
	if err != nil || len(ug.GroupList) != 0 {
		t.Fatalf("ListUserGroups after leaving = %+v, %v", ug, err)
	}
	if _, err := c.DeleteUser(ctx, &qs.DeleteUserInput{AwsAccountId: acct, Namespace: ns, UserName: aws.String("hank")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeUser(ctx, &qs.DescribeUserInput{AwsAccountId: acct, Namespace: ns, UserName: aws.String("hank")})
	wantAPIError(t, err, "ResourceNotFoundException", 404)
	_, err = c.CreateGroupMembership(ctx, &qs.CreateGroupMembershipInput{AwsAccountId: acct, Namespace: ns, GroupName: aws.String("nordics"), MemberName: aws.String("hank")})
	wantAPIError(t, err, "ResourceNotFoundException", 404)
}

const boto3QuickSightWrites = `
import boto3, sys
q = boto3.client("quicksight", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
A, N = "123456789012", "default"
r = q.register_user(AwsAccountId=A, Namespace=N, IdentityType="QUICKSIGHT", Email="py@example.com", UserRole="READER", UserName="py")
print("status=%d" % r["Status"])
q.update_user(AwsAccountId=A, Namespace=N, UserName="py", Email="py@example.com", Role="AUTHOR")
print("role=" + q.describe_user(AwsAccountId=A, Namespace=N, UserName="py")["User"]["Role"])
q.create_group(AwsAccountId=A, Namespace=N, GroupName="py-group")
print("group=" + q.describe_group(AwsAccountId=A, Namespace=N, GroupName="py-group")["Group"]["GroupName"])
q.create_group_membership(AwsAccountId=A, Namespace=N, GroupName="py-group", MemberName="py")
print("member-of=" + ",".join(g["GroupName"] for g in q.list_user_groups(AwsAccountId=A, Namespace=N, UserName="py")["GroupList"]))
print("groups=%d" % len(q.list_groups(AwsAccountId=A, Namespace=N)["GroupList"]))
q.delete_group_membership(AwsAccountId=A, Namespace=N, GroupName="py-group", MemberName="py")
q.delete_user(AwsAccountId=A, Namespace=N, UserName="py")
try:
    q.describe_user(AwsAccountId=A, Namespace=N, UserName="py")
except q.exceptions.ResourceNotFoundException:
    print("gone=ResourceNotFoundException")
`

func TestBoto3UserAndGroupWrites(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs python3 with boto3: %v", err)
		}
		t.Skip("python3 with boto3 is not installed; the botocore cross-check is skipped")
	}
	sb, _ := start(t, nil)
	n := len(sb.Env.Snapshot().QuickSight.Groups) + 1
	out, err := exec.Command("python3", "-c", boto3QuickSightWrites, sb.URL()).CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	want := "status=201\nrole=AUTHOR\ngroup=py-group\nmember-of=py-group\ngroups=" + strconv.Itoa(n) + "\ngone=ResourceNotFoundException\n"
	if string(out) != want {
		t.Fatalf("boto3 output:\n%s\nwant:\n%s", out, want)
	}
}
