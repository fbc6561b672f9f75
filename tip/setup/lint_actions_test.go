package setup

import (
	"strings"
	"testing"
)

func findingsOf(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Severity)+" "+f.Code+": "+f.Message+" | "+f.Fix)
	}
	return strings.Join(out, "\n")
}

// TestLintActionNames: action names, not just prefixes, are checked
// against the Service Authorization Reference.
func TestLintActionNames(t *testing.T) {
	doc := func(actions string) []byte {
		return []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` + actions + `],"Resource":"*"}]}`)
	}
	fs := Lint(doc(`"s3:GetObjekt"`), KindIdentity)
	if len(fs) != 1 || fs[0].Code != CodeUnknownAction || !strings.Contains(fs[0].Fix, "did you mean s3:GetObject") {
		t.Fatalf("s3:GetObjekt: %s", findingsOf(fs))
	}
	fs = Lint(doc(`"s3:Gte*"`), KindIdentity)
	if len(fs) != 1 || fs[0].Code != CodeUnknownAction || !strings.Contains(fs[0].Message, "matches no action") {
		t.Fatalf("s3:Gte*: %s", findingsOf(fs))
	}
	// Real actions, any case, wildcards, and the services the old list
	// lacked.
	ok := `"s3:GetObject", "S3:getobject", "s3:Get*", "s3:*Object", "sts:SetContext", "sso-oauth:CreateTokenWithIAM", "s3:GetDataAccess",
		"kafka-cluster:Connect", "datazone:GetDomain", "bedrock:InvokeModel", "emr-serverless:StartJobRun", "s3express:CreateSession",
		"qbusiness:ChatSync", "redshift-data:ExecuteStatement", "quicksight:StartDashboardSnapshotJob", "identitystore:DescribeUser"`
	if fs := Lint(doc(ok), KindIdentity); len(fs) != 0 {
		t.Fatalf("valid actions: %s", findingsOf(fs))
	}
}

// TestLintAutoKindKeyPolicy: a KMS key policy (seed 003's Identity Center
// CMK policy has this shape) is a resource policy in auto mode, not a
// trust policy with false errors.
func TestLintAutoKindKeyPolicy(t *testing.T) {
	key := []byte(`{"Version": "2012-10-17", "Id": "identity-center-key", "Statement": [
	 {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/idc-admin"},
	  "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKeyWithoutPlaintext"], "Resource": "*",
	  "Condition": {"StringLike": {"kms:ViaService": ["sso.*.amazonaws.com", "identitystore.*.amazonaws.com"]}}},
	 {"Sid": "Describe", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/idc-admin"}, "Action": "kms:DescribeKey", "Resource": "*"},
	 {"Sid": "Services", "Effect": "Allow", "Principal": {"Service": ["sso.amazonaws.com", "identitystore.amazonaws.com"]},
	  "Action": ["kms:Decrypt", "kms:ReEncryptTo", "kms:ReEncryptFrom", "kms:GenerateDataKeyWithoutPlaintext"], "Resource": "*",
	  "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}]}`)
	if fs := Lint(key, KindAuto); len(fs) != 0 {
		t.Fatalf("KMS key policy in auto mode: %s", findingsOf(fs))
	}
	// A trust policy is still read as one: a Resource is an error there.
	trust := []byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/tip-bridge"},
	  "Action": ["sts:AssumeRole", "sts:SetContext"], "Resource": "*"}]}`)
	if fs := Lint(trust, KindAuto); !strings.Contains(findingsOf(fs), CodeResourceInTrust) {
		t.Fatalf("trust policy in auto mode: %s", findingsOf(fs))
	}
	// A resource policy without Principal in a statement is still caught.
	if fs := Lint([]byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
	  {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]}`), KindAuto); !strings.Contains(findingsOf(fs), CodeMissingPrincipal) {
		t.Fatalf("resource policy statement without a principal: %s", findingsOf(fs))
	}
}
