package config

import "testing"

// TestIssuerForms (seed 003): Entra ID v1 as well as v2 issuers, and
// Okta's org authorization server as well as custom ones; the presets do
// not force one form.
func TestIssuerForms(t *testing.T) {
	base := map[string]string{"client_id": "c", "application_arn": "arn:aws:sso::111122223333:application/ssoins-1111222233334444/apl-1111222233334444",
		"bridge_role_arn": "arn:aws:iam::111122223333:role/b", "enhanced_role_arn": "arn:aws:iam::111122223333:role/e", "region": "eu-west-1"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	cases := []struct {
		name, provider string
		values         map[string]string
		issuer, token  string
	}{
		{"entra v2", ProviderEntraID, with("tenant_id", tenant), "https://login.microsoftonline.com/" + tenant + "/v2.0", "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token"},
		{"entra v1", ProviderEntraID, with("tenant_id", tenant, "token_version", "1"), "https://sts.windows.net/" + tenant + "/", "https://login.microsoftonline.com/" + tenant + "/oauth2/token"},
		{"entra v1 issuer given", ProviderEntraID, with("issuer", "https://sts.windows.net/"+tenant+"/"), "https://sts.windows.net/" + tenant + "/", "https://login.microsoftonline.com/" + tenant + "/oauth2/token"},
		{"okta custom", ProviderOkta, with("org_url", "https://dev-1.okta.com"), "https://dev-1.okta.com/oauth2/default", ""},
		{"okta custom id", ProviderOkta, with("org_url", "https://dev-1.okta.com/oauth2/aus1abc"), "https://dev-1.okta.com/oauth2/aus1abc", ""},
		{"okta org server", ProviderOkta, with("org_url", "https://dev-1.okta.com", "authorization_server_id", "org"), "https://dev-1.okta.com", ""},
		{"okta org issuer given", ProviderOkta, with("org_url", "https://dev-1.okta.com", "issuer", "https://dev-1.okta.com"), "https://dev-1.okta.com", ""},
	}
	for _, c := range cases {
		p, missing, err := BuildProfile(c.provider, c.values)
		if err != nil || len(missing) > 0 {
			t.Errorf("%s: %v missing %v", c.name, err, missing)
			continue
		}
		if p.Issuer != c.issuer || (c.token != "" && p.IdP.Token != c.token) {
			t.Errorf("%s: issuer %q token %q", c.name, p.Issuer, p.IdP.Token)
		}
	}
	if _, _, err := BuildProfile(ProviderEntraID, with("tenant_id", tenant, "token_version", "3")); err == nil {
		t.Errorf("token_version 3 accepted")
	}
}
