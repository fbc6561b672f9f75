package iam_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

const adminTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},"Action":"sts:AssumeRole"}]}`
const readPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::analytics-data/*",
  "Condition":{"Null":{"identitystore:UserId":"false"}}}]}`

// TestRoleLifecycle creates an OIDC provider, a role with inline and
// managed policies through aws-sdk-go-v2, assumes the role at once,
// simulates its policies, and deletes everything again.
func TestRoleLifecycle(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := client(sb, ststest.Admin())

	p, err := c.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String("https://login.example.com/oauth2"),
		ClientIDList: []string{"app-1"}, ThumbprintList: []string{strings.Repeat("a", 40)}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(p.OpenIDConnectProviderArn) != "arn:aws:iam::123456789012:oidc-provider/login.example.com/oauth2" {
		t.Fatalf("provider ARN %s", aws.ToString(p.OpenIDConnectProviderArn))
	}
	_, err = c.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String("https://login.example.com/oauth2"), ClientIDList: []string{"x"}})
	wantErr(t, err, "EntityAlreadyExists", 409)
	if _, err := c.AddClientIDToOpenIDConnectProvider(ctx, &awsiam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.OpenIDConnectProviderArn, ClientID: aws.String("app-2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateOpenIDConnectProviderThumbprint(ctx, &awsiam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: p.OpenIDConnectProviderArn,
		ThumbprintList: []string{strings.Repeat("b", 40)}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.OpenIDConnectProviderArn})
	if err != nil || strings.Join(got.ClientIDList, ",") != "app-1,app-2" || got.ThumbprintList[0] != strings.Repeat("b", 40) {
		t.Fatalf("GetOpenIDConnectProvider = %+v, %v", got, err)
	}

	// A role created now can be assumed by the next request.
	r, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("analyst"), AssumeRolePolicyDocument: aws.String(adminTrust),
		Description: aws.String("made by a test"), MaxSessionDuration: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(r.Role.Arn) != "arn:aws:iam::123456789012:role/analyst" || aws.ToInt32(r.Role.MaxSessionDuration) != 7200 {
		t.Fatalf("CreateRole = %+v", r.Role)
	}
	if _, err := ststest.STS(sb, ststest.Admin()).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: r.Role.Arn, RoleSessionName: aws.String("test")}); err != nil {
		t.Fatalf("the new role cannot be assumed: %v", err)
	}
	steps := []func() error{
		func() error {
			_, err := c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("analyst"), PolicyName: aws.String("read"), PolicyDocument: aws.String(readPolicy)})
			return err
		},
		func() error {
			_, err := c.TagRole(ctx, &awsiam.TagRoleInput{RoleName: aws.String("analyst"), Tags: []iamtypes.Tag{{Key: aws.String("tipctl:setup"), Value: aws.String("1")}}})
			return err
		},
		func() error {
			_, err := c.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("analyst"), PolicyDocument: aws.String(adminTrust)})
			return err
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	mp, err := c.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("list-analytics"), Path: aws.String("/tip/"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::analytics-data"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("analyst"), PolicyArn: mp.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	gp, err := c.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: mp.Policy.Arn})
	if err != nil || aws.ToInt32(gp.Policy.AttachmentCount) != 1 || aws.ToString(gp.Policy.Path) != "/tip/" {
		t.Fatalf("GetPolicy = %+v, %v", gp, err)
	}
	pv, err := c.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: mp.Policy.Arn, VersionId: aws.String("v1")})
	if doc, _ := url.QueryUnescape(aws.ToString(pv.PolicyVersion.Document)); err != nil || !strings.Contains(doc, "s3:ListBucket") {
		t.Fatalf("GetPolicyVersion = %+v, %v", pv, err)
	}
	att, err := c.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("analyst")})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyName) != "list-analytics" {
		t.Fatalf("ListAttachedRolePolicies = %+v, %v", att, err)
	}
	names, err := c.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: aws.String("analyst")})
	if err != nil || strings.Join(names.PolicyNames, ",") != "read" {
		t.Fatalf("ListRolePolicies = %+v, %v", names, err)
	}
	rp, err := c.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: aws.String("analyst"), PolicyName: aws.String("read")})
	if doc, _ := url.QueryUnescape(aws.ToString(rp.PolicyDocument)); err != nil || !strings.Contains(doc, "identitystore:UserId") {
		t.Fatalf("GetRolePolicy = %+v, %v", rp, err)
	}

	// The simulation is the sandbox's own evaluation: GetObject needs the
	// identity context key; ListBucket comes from the managed policy.
	sim, err := c.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{PolicySourceArn: r.Role.Arn,
		ActionNames: []string{"s3:GetObject", "s3:ListBucket", "s3:PutObject"}, ResourceArns: []string{"arn:aws:s3:::analytics-data/emea/x.csv"}})
	if err != nil {
		t.Fatal(err)
	}
	decisions := []string{}
	for _, e := range sim.EvaluationResults {
		decisions = append(decisions, aws.ToString(e.EvalActionName)+"="+string(e.EvalDecision))
	}
	if strings.Join(decisions, " ") != "s3:GetObject=implicitDeny s3:ListBucket=implicitDeny s3:PutObject=implicitDeny" {
		t.Fatalf("simulation without context: %v", decisions)
	}
	sim, err = c.SimulatePrincipalPolicy(ctx, &awsiam.SimulatePrincipalPolicyInput{PolicySourceArn: r.Role.Arn,
		ActionNames: []string{"s3:GetObject"}, ResourceArns: []string{"arn:aws:s3:::analytics-data/emea/x.csv"},
		ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("identitystore:UserId"), ContextKeyValues: []string{"u-1"}, ContextKeyType: iamtypes.ContextKeyTypeEnumString}}})
	if err != nil || sim.EvaluationResults[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed ||
		aws.ToString(sim.EvaluationResults[0].MatchedStatements[0].SourcePolicyId) != "read" {
		t.Fatalf("simulation with the identity context: %+v, %v", sim, err)
	}

	// Deleting: policies first, as IAM requires.
	_, err = c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("analyst")})
	wantErr(t, err, "DeleteConflict", 409)
	for i, s := range []func() error{
		func() error {
			_, err := c.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: aws.String("analyst"), PolicyArn: mp.Policy.Arn})
			return err
		},
		func() error {
			_, err := c.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: aws.String("analyst"), PolicyName: aws.String("read")})
			return err
		},
		func() error {
			_, err := c.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("analyst")})
			return err
		},
		func() error {
			_, err := c.DeleteOpenIDConnectProvider(ctx, &awsiam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.OpenIDConnectProviderArn})
			return err
		},
	} {
		if err := s(); err != nil {
			t.Fatalf("delete step %d: %v", i, err)
		}
	}
	_, err = c.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("analyst")})
	wantErr(t, err, "NoSuchEntity", 404)
	_, err = ststest.STS(sb, ststest.Admin()).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: r.Role.Arn, RoleSessionName: aws.String("test")})
	if err == nil {
		t.Fatal("a deleted role was assumed")
	}
}

// TestWriteValidation: names against the model pattern, malformed
// documents, and the caller's identity policy.
func TestWriteValidation(t *testing.T) {
	sb := start(t)
	ctx := context.Background()
	c := client(sb, ststest.Admin())
	_, err := c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("bad name!"), AssumeRolePolicyDocument: aws.String(adminTrust)})
	wantErr(t, err, "ValidationError", 400)
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(strings.Repeat("r", 65)), AssumeRolePolicyDocument: aws.String(adminTrust)})
	wantErr(t, err, "ValidationError", 400)
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("ok"), AssumeRolePolicyDocument: aws.String(`{"Statement":"nope"}`)})
	wantErr(t, err, "MalformedPolicyDocument", 400)
	_, err = c.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("tip-bridge"), AssumeRolePolicyDocument: aws.String(adminTrust)})
	wantErr(t, err, "EntityAlreadyExists", 409)
	_, err = c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("nobody"), PolicyName: aws.String("p"), PolicyDocument: aws.String(readPolicy)})
	wantErr(t, err, "NoSuchEntity", 404)
	viewer := client(sb, ststest.Static("AKIAVIEWER", "viewer-secret", ""))
	_, err = viewer.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("sneaky"), AssumeRolePolicyDocument: aws.String(adminTrust)})
	wantErr(t, err, "AccessDenied", 403)
	if sb.Env.Snapshot().IAM.Role("sneaky") != nil {
		t.Fatal("a refused CreateRole created the role")
	}
}

const boto3Roles = `
import boto3, sys, json
ep = sys.argv[1]
c = boto3.client("iam", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
p = c.create_open_id_connect_provider(Url="https://py.example.com", ClientIDList=["a"], ThumbprintList=["c"*40])["OpenIDConnectProviderArn"]
c.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=p, ClientID="b")
c.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=p, ThumbprintList=["d"*40])
print("clients=" + ",".join(c.get_open_id_connect_provider(OpenIDConnectProviderArn=p)["ClientIDList"]))
r = c.create_role(RoleName="py-role", AssumeRolePolicyDocument=sys.argv[2])["Role"]
c.tag_role(RoleName="py-role", Tags=[{"Key": "k", "Value": "v"}])
c.update_assume_role_policy(RoleName="py-role", PolicyDocument=sys.argv[2])
c.put_role_policy(RoleName="py-role", PolicyName="inline", PolicyDocument=sys.argv[3])
doc = c.get_role_policy(RoleName="py-role", PolicyName="inline")["PolicyDocument"]
print("inline=" + doc["Statement"][0]["Action"])
print("names=" + ",".join(c.list_role_policies(RoleName="py-role")["PolicyNames"]))
m = c.create_policy(PolicyName="py-managed", PolicyDocument=sys.argv[3])["Policy"]["Arn"]
c.attach_role_policy(RoleName="py-role", PolicyArn=m)
print("attached=" + c.list_attached_role_policies(RoleName="py-role")["AttachedPolicies"][0]["PolicyName"])
print("count=%d" % c.get_policy(PolicyArn=m)["Policy"]["AttachmentCount"])
print("version=" + c.get_policy_version(PolicyArn=m, VersionId="v1")["PolicyVersion"]["Document"]["Statement"][0]["Action"])
res = c.simulate_principal_policy(PolicySourceArn=r["Arn"], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::analytics-data/k"],
    ContextEntries=[{"ContextKeyName": "identitystore:UserId", "ContextKeyValues": ["u"], "ContextKeyType": "string"}])
print("sim=" + res["EvaluationResults"][0]["EvalDecision"])
c.detach_role_policy(RoleName="py-role", PolicyArn=m)
c.delete_role_policy(RoleName="py-role", PolicyName="inline")
c.delete_role(RoleName="py-role")
c.delete_open_id_connect_provider(OpenIDConnectProviderArn=p)
try:
    c.get_role(RoleName="py-role")
except c.exceptions.NoSuchEntityException:
    print("gone=NoSuchEntity")
`

func TestBoto3Roles(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs python3 with boto3: %v", err)
		}
		t.Skip("python3 with boto3 is not installed; the botocore cross-check is skipped")
	}
	sb := start(t)
	out, err := exec.Command("python3", "-c", boto3Roles, sb.URL(), adminTrust, readPolicy).CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	want := "clients=a,b\ninline=s3:GetObject\nnames=inline\nattached=py-managed\ncount=1\nversion=s3:GetObject\nsim=allowed\ngone=NoSuchEntity\n"
	if string(out) != want {
		t.Fatalf("boto3 output:\n%s\nwant:\n%s", out, want)
	}
}
