package diag

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseARN(t *testing.T) {
	a, err := ParseARN("arn:aws:iam::123456789012:role/path/tip-bridge")
	if err != nil || a.Service != "iam" || a.Account != "123456789012" || a.Resource != "role/path/tip-bridge" {
		t.Fatalf("ParseARN = %+v, %v", a, err)
	}
	if a.String() != "arn:aws:iam::123456789012:role/path/tip-bridge" {
		t.Fatalf("String() = %s", a)
	}
	if n, err := RoleName(a.String()); err != nil || n != "tip-bridge" {
		t.Fatalf("RoleName = %q, %v", n, err)
	}
	if n, err := RoleName("arn:aws-cn:iam::123456789012:role/x"); err != nil || n != "x" {
		t.Fatalf("RoleName(cn) = %q, %v", n, err)
	}
	for _, bad := range []string{"", "arn:aws:iam::1:user/x", "arn:aws:iam::1:role/", "arn:aws:iam::1:role/x/", "arn:aws:s3:::role/x",
		"role/x", "arn:gcp:iam::1:role/x", "arn:aws:iam::1:role/a b"} {
		if _, err := RoleName(bad); err == nil {
			t.Errorf("RoleName(%q) accepted", bad)
		}
	}
	inst, err := InstanceArnOf("arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-abcdef0123456789")
	if err != nil || inst != "arn:aws:sso:::instance/ssoins-1234567890abcdef" {
		t.Fatalf("InstanceArnOf = %q, %v", inst, err)
	}
	for _, bad := range []string{"arn:aws:sso::1:application/apl-x", "arn:aws:sso::1:instance/ssoins-x", "arn:aws:iam::1:application/ssoins-x/apl-y"} {
		if _, err := InstanceArnOf(bad); err == nil {
			t.Errorf("InstanceArnOf(%q) accepted", bad)
		}
	}
	if id, err := StoreIDOf("arn:aws:identitystore::123456789012:identitystore/d-1234567890"); err != nil || id != "d-1234567890" {
		t.Fatalf("StoreIDOf = %q, %v", id, err)
	}
}

// FuzzParseARN: parsing never panics; what parses prints back unchanged,
// and derived names are parts of the input.
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:role/tip-bridge",
		"arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-abcdef0123456789",
		"arn:aws:identitystore::123456789012:identitystore/d-1234567890",
		"arn:aws:iam::123456789012:oidc-provider/idp.example.com/oauth2:x",
		"arn::::::", "arn:aws:iam::1:role/", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseARN(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("ParseARN(%q).String() = %q", s, a.String())
		}
		if n, err := RoleName(s); err == nil && (n == "" || !strings.HasSuffix(s, "/"+n)) {
			t.Fatalf("RoleName(%q) = %q", s, n)
		}
		if inst, err := InstanceArnOf(s); err == nil && !strings.HasPrefix(inst, "arn:") {
			t.Fatalf("InstanceArnOf(%q) = %q", s, inst)
		}
		if utf8.ValidString(s) && !utf8.ValidString(truncate(s, 10)) {
			t.Fatalf("truncate broke UTF-8 of %q", s)
		}
	})
}
