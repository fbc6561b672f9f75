package sts_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestSessionPolicies: a session's permissions are the intersection of the
// role's policies and the session policies (Policy and PolicyArns).
func TestSessionPolicies(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	admin := ststest.Admin()
	iam := awsiam.NewFromConfig(ststest.Config(sb, admin))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/admin"},"Action":"sts:AssumeRole"}]}`
	if _, err := iam.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("reader"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := iam.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::analytics-data/*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	apac, err := iam.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("apac-only"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::analytics-data/apac/*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	session := func(in *awssts.AssumeRoleInput) *awss3.Client {
		t.Helper()
		in.RoleArn, in.RoleSessionName = aws.String("arn:aws:iam::123456789012:role/reader"), aws.String("scoped")
		out, err := ststest.STS(sb, admin).AssumeRole(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return awss3.NewFromConfig(ststest.Config(sb, ststest.CredsOf(out.Credentials)), func(o *awss3.Options) { o.UsePathStyle = true })
	}
	get := func(c *awss3.Client, key string) error {
		out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String(key)})
		if err == nil {
			out.Body.Close()
		}
		return err
	}
	const emea, apacKey = "emea/sales-2025-q4.csv", "apac/sales-2025-q4.csv"

	// The session policy allows s3:* on emea/ and PutObject: only the
	// role's GetObject on emea/ survives the intersection.
	inline := session(&awssts.AssumeRoleInput{Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::analytics-data/emea/*"}]}`)})
	if err := get(inline, emea); err != nil {
		t.Fatalf("GetObject on emea/ with the emea session policy: %v", err)
	}
	ststest.WantAPIError(t, get(inline, apacKey), "AccessDenied", 403)
	_, err = inline.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/new.csv")})
	ststest.WantAPIError(t, err, "AccessDenied", 403)

	// A managed policy as the session policy.
	managed := session(&awssts.AssumeRoleInput{PolicyArns: []ststypes.PolicyDescriptorType{{Arn: apac.Policy.Arn}}})
	if err := get(managed, apacKey); err != nil {
		t.Fatalf("GetObject on apac/ with the apac-only session policy: %v", err)
	}
	ststest.WantAPIError(t, get(managed, emea), "AccessDenied", 403)

	// Without session policies the role's policies apply in full.
	if err := get(session(&awssts.AssumeRoleInput{}), apacKey); err != nil {
		t.Fatalf("GetObject without session policies: %v", err)
	}
}
