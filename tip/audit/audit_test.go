package audit_test

import (
	"strings"
	"testing"

	"github.com/tipctl/tipctl/tip/audit"
)

// The two layouts of the same IAM Identity Center sign-in event, before and
// after 13 January 2025 (seed 003), and an identity-enhanced S3 call.
const (
	before = `{"eventTime":"2024-12-01T10:00:00Z","eventName":"CredentialChallenge","eventSource":"signin.amazonaws.com",
 "userIdentity":{"type":"Unknown","userName":"anyuser","accountId":"123456789012","principalId":"123456789012",
  "onBehalfOf":{"userId":"a11111-1111","identityStoreArn":"arn:aws:identitystore::111111111:identitystore/d-111111a1a"},"credentialId":"c1"},
 "additionalEventData":{"CredentialType":"PASSWORD","UserName":"anyuser"}}`
	after = `{"eventTime":"2025-02-01T10:00:00Z","eventName":"CredentialChallenge","eventSource":"signin.amazonaws.com",
 "userIdentity":{"type":"IdentityCenterUser","accountId":"123456789012",
  "onBehalfOf":{"userId":"a11111-1111","identityStoreArn":"arn:aws:identitystore::111111111:identitystore/d-111111a1a"},"credentialId":"c1"},
 "additionalEventData":{"CredentialType":"PASSWORD","UserName":"anyuser"}}`
	legacyNoOnBehalf = `{"eventName":"Authenticate","eventSource":"sso.amazonaws.com","userIdentity":{"type":"Unknown","userName":"olduser","principalId":"123"}}`
	enhanced         = `{"eventName":"GetObject","eventSource":"s3.amazonaws.com","errorCode":"AccessDenied","errorMessage":"Access Denied",
 "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/tip-enhanced/s","sessionContext":{"sessionIssuer":{"userName":"tip-enhanced"}},
  "onBehalfOf":{"userId":"u-9","identityStoreArn":"arn:aws:identitystore::1:identitystore/d-1"}},
 "requestParameters":{"bucketName":"b","key":"apac/x.csv"},
 "additionalEventData":{"tipctlDecision":{"kind":"identity-policy","reason":"no statement allows it"}}}`
)

func TestBothLayouts(t *testing.T) {
	b, err := audit.Parse(before)
	if err != nil {
		t.Fatal(err)
	}
	a, err := audit.Parse(after)
	if err != nil {
		t.Fatal(err)
	}
	if b.UserID != "a11111-1111" || a.UserID != b.UserID || b.Person != "anyuser" || a.Person != "anyuser" {
		t.Fatalf("before %+v after %+v", b, a)
	}
	if b.Layout != "identity-center-legacy" || a.Layout != "identity-center-2025" {
		t.Fatalf("layouts %q %q", b.Layout, a.Layout)
	}
	l, _ := audit.Parse(legacyNoOnBehalf)
	if l.Person != "olduser" || l.UserID != "" || l.Layout != "identity-center-legacy" || l.Action != "sso:Authenticate" {
		t.Fatalf("legacy %+v", l)
	}
	e, _ := audit.Parse(enhanced)
	if e.UserID != "u-9" || e.Role != "tip-enhanced" || e.Allowed || e.Resource != "s3://b/apac/x.csv" ||
		e.Reason != "no statement allows it" || e.Action != "s3:GetObject" || e.Layout != "identity-enhanced" {
		t.Fatalf("enhanced %+v", e)
	}
	// A Redshift statement refused inside the database is reported on a
	// DescribeStatement that succeeded; row-level security on a result.
	r, _ := audit.Parse(`{"eventName":"DescribeStatement","eventSource":"redshift-data.amazonaws.com","userIdentity":{"type":"AssumedRole"},
 "additionalEventData":{"tipctlDecision":{"kind":"redshift-privilege","resource":"public.sales_data","reason":"no SELECT privilege on public.sales_data"}}}`)
	if r.Allowed || r.Error != "redshift-privilege" || r.Resource != "public.sales_data" || !strings.Contains(r.Reason, "no SELECT") {
		t.Fatalf("refused statement %+v", r)
	}
	g, _ := audit.Parse(`{"eventName":"GetStatementResult","eventSource":"redshift-data.amazonaws.com","userIdentity":{"type":"AssumedRole"},
 "additionalEventData":{"tipctlLimits":[{"kind":"redshift-rls","reason":"kept the rows of policy eu_region_filter"}]}}`)
	if !g.Allowed || g.Reason != "kept the rows of policy eu_region_filter" {
		t.Fatalf("limited result %+v", g)
	}
	if _, err := audit.Parse("{"); err == nil {
		t.Fatal("a broken record parsed")
	}
}
