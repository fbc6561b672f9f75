package quicksight_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/quicksight"
)

func TestParseUser(t *testing.T) {
	cases := map[string]quicksight.User{
		"alice@example.com":            {Email: "alice@example.com"},
		"alice":                        {UserName: "alice"},
		"tip-enhanced/bob@example.com": {UserName: "tip-enhanced/bob@example.com"},
		"arn:aws:quicksight:us-east-1:123456789012:user/default/alice": {Arn: "arn:aws:quicksight:us-east-1:123456789012:user/default/alice"},
	}
	for in, want := range cases {
		if got := quicksight.ParseUser(in); got != want {
			t.Errorf("ParseUser(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// TestIdentitySession: the session carries the QuickSight user, however the
// user is named.
func TestIdentitySession(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	role := roleArn(t, sb, "quicksight-snapshots")
	const users = "arn:aws:quicksight:us-east-1:123456789012:user/default/"
	cases := map[string]string{
		"alice@example.com":            users + "alice",
		"alice":                        users + "alice",
		users + "alice":                users + "alice",
		"tip-enhanced/bob@example.com": users + "tip-enhanced/bob@example.com",
		"carol@example.com":            users + "carol",
	}
	for in, wantArn := range cases {
		s, err := quicksight.IdentitySession(bg, admin, quicksight.IdentityRequest{User: quicksight.ParseUser(in), RoleArn: role, Duration: 15 * time.Minute})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !strings.HasPrefix(s.AssumedRoleArn, "arn:aws:sts::123456789012:assumed-role/quicksight-snapshots/tipctl-qs-") {
			t.Errorf("%s: session %s", in, s.AssumedRoleArn)
		}
		if left := time.Until(s.Credentials.Expires); left > 16*time.Minute || left < 14*time.Minute {
			t.Errorf("%s: the session lasts %v; 15m was asked", in, left)
		}
		p, ok := sb.Env.Registry.Resolve(s.Credentials.AccessKeyID, s.Credentials.SessionToken)
		if !ok || p.Context == nil || p.Context.QuickSightUserArn != wantArn {
			t.Errorf("%s: the session does not carry %s: %+v", in, wantArn, p)
		}
	}
}

// TestIdentitySessionErrors: each mistake is one clear line of the right kind.
func TestIdentitySessionErrors(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	role := roleArn(t, sb, "quicksight-snapshots")
	get := func(user, ns, role string) error {
		_, err := quicksight.IdentitySession(bg, admin, quicksight.IdentityRequest{User: quicksight.ParseUser(user), Namespace: ns, RoleArn: role})
		return err
	}
	wantKind(t, get("alice@exmaple.com", "", role), quicksight.KindNotFound, "no QuickSight user alice@exmaple.com in namespace default", `did you mean "alice@example.com"`)
	wantKind(t, get("alcie", "", role), quicksight.KindNotFound, `did you mean "alice"`)
	wantKind(t, get("alice@example.com", "sales", role), quicksight.KindNotFound, `namespace "sales" not found`)
	e := wantKind(t, get("erin@example.com", "", role), quicksight.KindInput, "erin@example.com is an IAM Identity Center user")
	if !strings.Contains(e.Fix, "--identity-center") {
		t.Errorf("fix %q does not point at the Identity Center path", e.Fix)
	}
	// tip-no-setcontext trusts only the bridge role.
	wantKind(t, get("alice@example.com", "", roleArn(t, sb, "tip-no-setcontext")), quicksight.KindAccess, "cannot be assumed", "sts:AssumeRole")
	wantKind(t, get("alice@example.com", "", "quicksight-snapshots"), quicksight.KindInput, "not an IAM role ARN")
	wantKind(t, get("", "", role), quicksight.KindInput, "exactly one of email")
}

// TestRoleWithoutSetContext: a role that trusts the caller for
// sts:AssumeRole but not sts:SetContext is named as such, with the fix.
func TestRoleWithoutSetContext(t *testing.T) {
	y := string(defaultWorld())
	old := "              AWS: arn:aws:iam::123456789012:role/tip-bridge\n            Action: sts:AssumeRole\n"
	if !strings.Contains(y, old) {
		t.Fatal("the default world's tip-no-setcontext trust policy changed")
	}
	y = strings.Replace(y, old, "              AWS: [arn:aws:iam::123456789012:role/tip-bridge, arn:aws:iam::123456789012:user/admin]\n            Action: sts:AssumeRole\n", 1)
	sb := ststest.Sandbox(t, []byte(y))
	admin := adminConfig(t, sb)
	_, err := quicksight.IdentitySession(bg, admin, quicksight.IdentityRequest{User: quicksight.User{Email: "alice@example.com"},
		RoleArn: roleArn(t, sb, "tip-no-setcontext")})
	e := wantKind(t, err, quicksight.KindAccess, "not with an identity context", "sts:SetContext")
	if e.Code != "AccessDenied" || !strings.Contains(e.Fix, `"Action": "sts:SetContext"`) || !strings.Contains(e.Fix, quicksight.QuickSightContextProvider) {
		t.Errorf("code %s fix %q", e.Code, e.Fix)
	}
}
