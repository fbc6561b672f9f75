package diag_test

import (
	"strings"
	"testing"

	"github.com/tipctl/tipctl/tip/diag"
)

const (
	scopesAnchor = "      scopes:\n        - s3:access_grants:read_write\n"
	redshiftApp  = "arn:aws:sso::123456789012:application/ssoins-9fbefece2518059c/apl-aaaabbbbccccdddd"
)

// withApp adds an application of provider to the default world's instance.
func withApp(name, provider, arn string) [2]string {
	anchor := "\ns3:\n  buckets:\n"
	return [2]string{anchor, "    - name: " + name + "\n      arn: " + arn + "\n      provider_arn: " + provider +
		"\n      jwt_bearer: []\n      scopes: [redshift:connect]\n      assignment_required: false\n" + anchor}
}

// wantCheck diagnoses a fresh token (no dry run) and returns check id,
// failing the test unless its status is want.
func wantCheck(t *testing.T, edits [][2]string, services []string, over map[string]any, id string, want diag.Status) diag.Result {
	t.Helper()
	sb := start(t, edits...)
	in := input(sb, mint(t, sb, "alice@example.com", over))
	in.Services, in.SkipE2E = services, true
	rep := run(t, in)
	c := rep.Find(id)
	if c == nil || c.Status != want {
		t.Fatalf("%s is not %s\n%s", id, want, dump(rep))
	}
	if want == diag.Fail && (c.Fix == "" || rep.Summary.OK) {
		t.Fatalf("%s failed without a fix or the summary is OK\n%s", id, dump(rep))
	}
	return *c
}

// E5: an access scope whose authorized target is no application of the
// instance fails, with the command that keeps only real targets.
func TestScopeTargetMustExist(t *testing.T) {
	ghost := "arn:aws:sso::123456789012:application/ssoins-9fbefece2518059c/apl-0000000000000000"
	edits := [][2]string{{"      refresh_token_grant: true\n", "      refresh_token_grant: true\n      scope_targets:\n        redshift:connect: [" + ghost + "]\n"}}
	c := wantCheck(t, edits, []string{"s3ag"}, nil, "idc.scope.targets", diag.Fail)
	if !strings.Contains(c.Message, ghost) || !strings.Contains(c.Message, "does not exist") ||
		!strings.Contains(c.Fix, "put-application-access-scope") || strings.Contains(c.Fix, ghost) {
		t.Fatalf("message %q fix %q", c.Message, c.Fix)
	}
	// A target that is an application of the instance passes.
	edits = [][2]string{withApp("redshift-idc", "arn:aws:sso::aws:applicationProvider/redshift", redshiftApp),
		{"      refresh_token_grant: true\n", "      refresh_token_grant: true\n      scope_targets:\n        redshift:connect: [" + redshiftApp + "]\n"}}
	wantCheck(t, edits, []string{"s3ag"}, nil, "idc.scope.targets", diag.Pass)
}

// E5: the scopes against the services used. The default application has
// no Q Business scope; Redshift needs its own Identity Center application,
// which the default world lacks, and a scope limited to targets must name it.
func TestScopesForServices(t *testing.T) {
	c := wantCheck(t, nil, []string{"s3ag", "qbusiness"}, nil, "idc.scope.services", diag.Fail)
	if !strings.Contains(c.Message, "no scope for Q Business") || !strings.Contains(c.Fix, "--scope qbusiness:conversations:access") {
		t.Fatalf("qbusiness: message %q fix %q", c.Message, c.Fix)
	}
	c = wantCheck(t, nil, []string{"redshift"}, nil, "idc.scope.services", diag.Fail)
	if !strings.Contains(c.Message, "has no Redshift application") || !strings.Contains(c.Fix, "create-redshift-idc-application") {
		t.Fatalf("redshift without its application: message %q fix %q", c.Message, c.Fix)
	}
	other := "arn:aws:sso::123456789012:application/ssoins-9fbefece2518059c/apl-1111222233334444"
	edits := [][2]string{withApp("redshift-idc", "arn:aws:sso::aws:applicationProvider/redshift", redshiftApp),
		withApp("other", "arn:aws:sso::aws:applicationProvider/custom", other),
		{"      refresh_token_grant: true\n", "      refresh_token_grant: true\n      scope_targets:\n        redshift:connect: [" + other + "]\n"}}
	c = wantCheck(t, edits, []string{"redshift"}, nil, "idc.scope.services", diag.Fail)
	if !strings.Contains(c.Message, "not the Redshift application "+redshiftApp) || !strings.Contains(c.Fix, redshiftApp) {
		t.Fatalf("redshift not authorized: message %q fix %q", c.Message, c.Fix)
	}
	edits = edits[:1]
	c = wantCheck(t, edits, []string{"redshift", "s3ag", "quicksight"}, nil, "idc.scope.services", diag.Pass)
	if !strings.Contains(c.Message, redshiftApp) {
		t.Fatalf("pass message %q", c.Message)
	}
	// Without services named, the check says what to pass.
	c = wantCheck(t, nil, nil, nil, "idc.scope.services", diag.Skip)
	if !strings.Contains(c.Fix, "--services") {
		t.Fatalf("skip fix %q", c.Fix)
	}
}

// E5: Redshift requires a jti claim; a token without one fails when
// Redshift is used and passes when no service used requires it.
func TestJTIWhereRequired(t *testing.T) {
	c := wantCheck(t, nil, []string{"redshift"}, map[string]any{"jti": nil}, "token.jti", diag.Fail)
	if !strings.Contains(c.Message, "no jti claim") || !strings.Contains(c.Message, "Redshift") {
		t.Fatalf("message %q", c.Message)
	}
	wantCheck(t, nil, []string{"s3ag"}, map[string]any{"jti": nil}, "token.jti", diag.Pass)
	wantCheck(t, nil, []string{"redshift"}, nil, "token.jti", diag.Pass)
}

// E5: the S3 Access Grants instance must be associated with the
// instance that issues the person's identity.
func TestAccessGrantsInstanceAssociation(t *testing.T) {
	edits := [][2]string{{"  access_grants:\n", "  access_grants:\n    no_identity_center: true\n"}}
	c := wantCheck(t, edits, []string{"s3ag"}, nil, "s3ag.instance", diag.Fail)
	if !strings.Contains(c.Message, "not associated with IAM Identity Center") ||
		!strings.Contains(c.Fix, "associate-access-grants-identity-center --account-id 123456789012 --identity-center-arn arn:aws:sso:::instance/") {
		t.Fatalf("message %q fix %q", c.Message, c.Fix)
	}
	wantCheck(t, nil, []string{"quicksight"}, nil, "s3ag.instance", diag.Pass)
}
