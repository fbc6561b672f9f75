package world

import (
	"strings"
	"testing"
)

func TestDefaultWorldLoads(t *testing.T) {
	w, err := Default("http://127.0.0.1:4566")
	if err != nil {
		t.Fatal(err)
	}
	if w.AccountID != "123456789012" || w.Region != "us-east-1" {
		t.Fatalf("account/region = %s/%s", w.AccountID, w.Region)
	}
	if got := w.IdP.Issuer; got != "http://127.0.0.1:4566/idp" {
		t.Fatalf("issuer = %q", got)
	}
	if len(w.IdP.Users) != 4 || len(w.IdentityCenter.Users) != 3 {
		t.Fatalf("users: idp %d, idc %d", len(w.IdP.Users), len(w.IdentityCenter.Users))
	}
	app := w.IdentityCenter.Applications[0]
	if !strings.HasPrefix(app.Arn, "arn:aws:sso::123456789012:application/ssoins-") {
		t.Fatalf("app arn %q", app.Arn)
	}
	// Identifiers are stable across loads.
	w2, _ := Default("http://127.0.0.1:9999")
	if w2.IdentityCenter.Users[0].UserID != w.IdentityCenter.Users[0].UserID {
		t.Fatal("user ids differ between loads")
	}
}

func TestWorldErrorsNameLineAndField(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field", "account_id: \"123456789012\"\nregion: us-east-1\nidp:\n  isuer: x\n", "w.yaml:4: field isuer not found"},
		{"bad account", "account_id: \"12\"\nregion: us-east-1\nidp:\n  issuer: http://x/idp\n", `w.yaml:1: account_id: "12" must be 12 digits`},
		{"syntax", "account_id: [\n", "w.yaml:"},
		{"bad policy", `account_id: "123456789012"
region: us-east-1
idp:
  issuer: http://x/idp
iam:
  roles:
    - name: r
      trust_policy:
        Statement:
          - Effect: Maybe
            Action: sts:AssumeRole
`, "w.yaml:8: iam.roles[0].trust_policy: Statement[0]: Effect must be Allow or Deny"},
		{"dangling member", `account_id: "123456789012"
region: us-east-1
idp:
  issuer: http://x/idp
identity_center:
  groups:
    - name: g
      members: [nobody]
`, `w.yaml:8: identity_center.groups[0].members[0]: no identity-store user is named "nobody"`},
		{"empty", "", "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load([]byte(c.yaml), "w.yaml", "http://127.0.0.1:1")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}
