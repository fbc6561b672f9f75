package config

import (
	"encoding/json"
	"testing"
)

// TestSandboxInfoProfile: every value of /_sandbox/info that a profile
// takes lands in its field (values unlike the presets' defaults, so a
// missing one would show).
func TestSandboxInfoProfile(t *testing.T) {
	doc := `{"endpoint": "http://127.0.0.1:4999", "region": "eu-west-1",
		"admin": {"access_key_id": "AKIAADMIN", "secret_access_key": "admin-secret"},
		"idp": {"issuer": "http://127.0.0.1:4999/idp", "client_id": "other-client", "users": []},
		"identity_center": {"instance_arn": "arn:aws:sso:::instance/ssoins-1", "application_arn": "arn:aws:sso::111122223333:application/ssoins-1111222233334444/apl-5555666677778888"},
		"roles": {"bridge": "arn:aws:iam::111122223333:role/b", "enhanced": "arn:aws:iam::111122223333:role/e"},
		"quicksight": {"snapshot_role": "arn:aws:iam::111122223333:role/qs"}}`
	var info SandboxInfo
	if err := json.Unmarshal([]byte(doc), &info); err != nil {
		t.Fatal(err)
	}
	if info.QuickSight.SnapshotRole != "arn:aws:iam::111122223333:role/qs" {
		t.Errorf("snapshot role %q", info.QuickSight.SnapshotRole)
	}
	p, missing, err := BuildProfile(ProviderSandbox, info.ProfileValues("http://127.0.0.1:4999"))
	if err != nil || len(missing) > 0 {
		t.Fatalf("BuildProfile: %v (missing %v)", err, missing)
	}
	want := map[string][2]string{
		"issuer":            {p.Issuer, "http://127.0.0.1:4999/idp"},
		"client_id":         {p.ClientID, "other-client"},
		"application_arn":   {p.ApplicationARN, "arn:aws:sso::111122223333:application/ssoins-1111222233334444/apl-5555666677778888"},
		"bridge_role_arn":   {p.BridgeRoleARN, "arn:aws:iam::111122223333:role/b"},
		"enhanced_role_arn": {p.EnhancedRoleARN, "arn:aws:iam::111122223333:role/e"},
		"region":            {p.Region, "eu-west-1"},
		"endpoint_url":      {p.EndpointURL, "http://127.0.0.1:4999"},
		"admin key id":      {p.SandboxAdminKeyID, "AKIAADMIN"},
		"admin secret":      {p.SandboxAdminSecretKey, "admin-secret"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
}
