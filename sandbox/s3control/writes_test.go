package s3control_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestInstanceLifecycle tears the world's Access Grants down through
// aws-sdk-go-v2, builds it again, and checks that a grant created now
// answers GetDataAccess and a deleted one stops answering it.
func TestInstanceLifecycle(t *testing.T) {
	sb := start(t, "")
	ctx := context.Background()
	c := controlClient(sb, admin)
	acct := aws.String(account)

	grants, err := c.ListAccessGrants(ctx, &s3control.ListAccessGrantsInput{AccountId: acct})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range grants.AccessGrantsList {
		if _, err := c.DeleteAccessGrant(ctx, &s3control.DeleteAccessGrantInput{AccountId: acct, AccessGrantId: g.AccessGrantId}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.DeleteAccessGrantsInstance(ctx, &s3control.DeleteAccessGrantsInstanceInput{AccountId: acct})
	ststest.WantAPIError(t, err, "AccessGrantsInstanceNotEmptyError", 409)
	locs, err := c.ListAccessGrantsLocations(ctx, &s3control.ListAccessGrantsLocationsInput{AccountId: acct})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range locs.AccessGrantsLocationsList {
		if _, err := c.DeleteAccessGrantsLocation(ctx, &s3control.DeleteAccessGrantsLocationInput{AccountId: acct, AccessGrantsLocationId: l.AccessGrantsLocationId}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteAccessGrantsInstance(ctx, &s3control.DeleteAccessGrantsInstanceInput{AccountId: acct}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetAccessGrantsInstance(ctx, &s3control.GetAccessGrantsInstanceInput{AccountId: acct})
	ststest.WantAPIError(t, err, "AccessGrantsInstanceNotExistsError", 404)
	list, err := c.ListAccessGrantsInstances(ctx, &s3control.ListAccessGrantsInstancesInput{AccountId: acct})
	if err != nil || len(list.AccessGrantsInstancesList) != 0 {
		t.Fatalf("ListAccessGrantsInstances after delete = %+v, %v", list, err)
	}

	ic := sb.Env.Snapshot().IdentityCenter
	created, err := c.CreateAccessGrantsInstance(ctx, &s3control.CreateAccessGrantsInstanceInput{AccountId: acct, IdentityCenterArn: aws.String(ic.InstanceArn)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetAccessGrantsInstance(ctx, &s3control.GetAccessGrantsInstanceInput{AccountId: acct})
	if err != nil {
		t.Fatal(err)
	}
	// The model: IdentityCenterArn and IdentityCenterApplicationArn hold the
	// application Access Grants creates; IdentityCenterInstanceArn the instance.
	app := aws.ToString(got.IdentityCenterApplicationArn)
	if !strings.HasPrefix(app, "arn:aws:sso::"+account+":application/") || aws.ToString(got.IdentityCenterArn) != app ||
		aws.ToString(got.IdentityCenterInstanceArn) != ic.InstanceArn || aws.ToString(created.IdentityCenterApplicationArn) != app {
		t.Fatalf("GetAccessGrantsInstance = %+v", got)
	}

	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:ListAccessGrants","Resource":"*"}]}`
	if _, err := c.PutAccessGrantsInstanceResourcePolicy(ctx, &s3control.PutAccessGrantsInstanceResourcePolicyInput{AccountId: acct, Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	rp, err := c.GetAccessGrantsInstanceResourcePolicy(ctx, &s3control.GetAccessGrantsInstanceResourcePolicyInput{AccountId: acct})
	if err != nil || aws.ToString(rp.Policy) != policy {
		t.Fatalf("GetAccessGrantsInstanceResourcePolicy = %+v, %v", rp, err)
	}
	if _, err := c.DeleteAccessGrantsInstanceResourcePolicy(ctx, &s3control.DeleteAccessGrantsInstanceResourcePolicyInput{AccountId: acct}); err != nil {
		t.Fatal(err)
	}

	loc, err := c.CreateAccessGrantsLocation(ctx, &s3control.CreateAccessGrantsLocationInput{AccountId: acct, LocationScope: aws.String("s3://"),
		IAMRoleArn: aws.String(ststest.Role(sb, "tip-s3ag-location"))})
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := c.GetAccessGrantsInstanceForPrefix(ctx, &s3control.GetAccessGrantsInstanceForPrefixInput{AccountId: acct, S3Prefix: aws.String("s3://analytics-data/emea/")})
	if err != nil || aws.ToString(pfx.AccessGrantsInstanceArn) != aws.ToString(created.AccessGrantsInstanceArn) {
		t.Fatalf("GetAccessGrantsInstanceForPrefix = %+v, %v", pfx, err)
	}
	g, err := c.CreateAccessGrant(ctx, &s3control.CreateAccessGrantInput{AccountId: acct, AccessGrantsLocationId: loc.AccessGrantsLocationId,
		AccessGrantsLocationConfiguration: &types.AccessGrantsLocationConfiguration{S3SubPrefix: aws.String("analytics-data/emea/*")},
		Grantee:                           &types.Grantee{GranteeType: types.GranteeTypeDirectoryGroup, GranteeIdentifier: aws.String(groupID(sb, "emea-sales"))},
		Permission:                        types.PermissionRead})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(g.GrantScope) != "s3://analytics-data/emea/*" {
		t.Fatalf("CreateAccessGrant scope %q", aws.ToString(g.GrantScope))
	}
	_, err = c.DeleteAccessGrantsLocation(ctx, &s3control.DeleteAccessGrantsLocationInput{AccountId: acct, AccessGrantsLocationId: loc.AccessGrantsLocationId})
	ststest.WantAPIError(t, err, "AccessGrantsLocationNotEmptyError", 409)

	alice := enhanced(t, sb, "alice", []string{"emea-sales"}, time.Hour)
	read := s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead}
	if _, err := getDataAccess(t, sb, alice, read); err != nil {
		t.Fatalf("GetDataAccess with the new grant: %v", err)
	}
	if _, err := c.DeleteAccessGrant(ctx, &s3control.DeleteAccessGrantInput{AccountId: acct, AccessGrantId: g.AccessGrantId}); err != nil {
		t.Fatal(err)
	}
	_, err = getDataAccess(t, sb, alice, read)
	ststest.WantAPIError(t, err, "AccessDenied", 403)

	// Dissociating removes the Identity Center application; associating brings it back.
	if _, err := c.DissociateAccessGrantsIdentityCenter(ctx, &s3control.DissociateAccessGrantsIdentityCenterInput{AccountId: acct}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetAccessGrantsInstance(ctx, &s3control.GetAccessGrantsInstanceInput{AccountId: acct})
	if err != nil || got.IdentityCenterInstanceArn != nil || got.IdentityCenterApplicationArn != nil {
		t.Fatalf("after dissociate: %+v, %v", got, err)
	}
	if _, err := c.AssociateAccessGrantsIdentityCenter(ctx, &s3control.AssociateAccessGrantsIdentityCenterInput{AccountId: acct, IdentityCenterArn: aws.String(ic.InstanceArn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAccessGrantsInstance(ctx, &s3control.CreateAccessGrantsInstanceInput{AccountId: acct})
	ststest.WantAPIError(t, err, "AccessGrantsInstanceAlreadyExistsError", 409)
}

const boto3Writes = `
import sys, boto3, botocore.config, botocore.exceptions
url, store_group, role = sys.argv[1:4]
cfg = botocore.config.Config(proxies={"http": url}, retries={"max_attempts": 1})
c = boto3.client("s3control", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
A = "123456789012"
for g in c.list_access_grants(AccountId=A)["AccessGrantsList"]:
    c.delete_access_grant(AccountId=A, AccessGrantId=g["AccessGrantId"])
for l in c.list_access_grants_locations(AccountId=A)["AccessGrantsLocationsList"]:
    c.delete_access_grants_location(AccountId=A, AccessGrantsLocationId=l["AccessGrantsLocationId"])
c.delete_access_grants_instance(AccountId=A)
print("instances=%d" % len(c.list_access_grants_instances(AccountId=A)["AccessGrantsInstancesList"]))
c.create_access_grants_instance(AccountId=A)
c.put_access_grants_instance_resource_policy(AccountId=A, Policy='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}')
print("policy=" + c.get_access_grants_instance_resource_policy(AccountId=A)["Policy"])
c.delete_access_grants_instance_resource_policy(AccountId=A)
loc = c.create_access_grants_location(AccountId=A, LocationScope="s3://analytics-data/*", IAMRoleArn=role)["AccessGrantsLocationId"]
print("prefix=" + c.get_access_grants_instance_for_prefix(AccountId=A, S3Prefix="s3://analytics-data/x/")["AccessGrantsInstanceId"])
g = c.create_access_grant(AccountId=A, AccessGrantsLocationId=loc, AccessGrantsLocationConfiguration={"S3SubPrefix": "apac/*"},
    Grantee={"GranteeType": "IAM", "GranteeIdentifier": "arn:aws:iam::123456789012:role/tip-bridge"}, Permission="READ")
print("scope=" + g["GrantScope"])
c.delete_access_grant(AccountId=A, AccessGrantId=g["AccessGrantId"])
c.delete_access_grants_location(AccountId=A, AccessGrantsLocationId=loc)
c.delete_access_grants_instance(AccountId=A)
try:
    c.get_access_grants_instance(AccountId=A)
except botocore.exceptions.ClientError as e:
    print("gone=" + e.response["Error"]["Code"])
`

func TestBoto3Writes(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs python3 with boto3: %v", err)
		}
		t.Skip("python3 with boto3 is not installed; the botocore cross-check is skipped")
	}
	sb := start(t, "")
	script := filepath.Join(t.TempDir(), "writes.py")
	if err := os.WriteFile(script, []byte(boto3Writes), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", script, sb.URL(), groupID(sb, "emea-sales"), ststest.Role(sb, "tip-s3ag-location")).CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	want := "instances=0\npolicy={\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}\nprefix=default\nscope=s3://analytics-data/apac/*\ngone=AccessGrantsInstanceNotExistsError\n"
	if string(out) != want {
		t.Fatalf("boto3 output:\n%s\nwant:\n%s", out, want)
	}
}

// TestScopedCredentialsCannotProbeKeys: credentials vended by Access Grants
// may list only under a prefix condition, so a missing key is 403 for them
// (S3 hides whether it exists), while the administrator sees 404.
func TestScopedCredentialsCannotProbeKeys(t *testing.T) {
	sb := start(t, "")
	ctx := context.Background()
	alice := enhanced(t, sb, "alice", []string{"emea-sales"}, time.Hour)
	a, err := getDataAccess(t, sb, alice, s3control.GetDataAccessInput{Target: aws.String("s3://analytics-data/emea/*"), Permission: types.PermissionRead})
	if err != nil {
		t.Fatal(err)
	}
	missing := &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/no-such.csv")}
	_, err = a.S3.GetObject(ctx, missing)
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	if _, err := a.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/customers.csv")}); err != nil {
		t.Fatalf("a granted object: %v", err)
	}
	_, err = s3Client(sb, admin).GetObject(ctx, missing)
	ststest.WantAPIError(t, err, "NoSuchKey", 404)
}
