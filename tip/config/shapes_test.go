package config

import (
	"strings"
	"testing"
)

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

// An Entra ID profile whose discovery document is read from another URL
// takes its endpoints from that document, not from the preset.
func TestEntraWithDiscoveryURL(t *testing.T) {
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	p, missing, err := BuildProfile(ProviderEntraID, map[string]string{"tenant_id": tenant, "token_version": "1",
		"idp_endpoints.discovery": "https://proxy.example.com/.well-known/openid-configuration", "client_id": "c",
		"application_arn": SandboxApplicationARN, "bridge_role_arn": SandboxBridgeRoleARN, "enhanced_role_arn": SandboxEnhancedRoleARN, "region": "us-east-1"})
	if err != nil || len(missing) > 0 || p.Issuer != "https://sts.windows.net/"+tenant+"/" || p.IdP.Token != "" || p.IdP.Authorization != "" ||
		p.IdP.Discovery != "https://proxy.example.com/.well-known/openid-configuration" {
		t.Fatalf("profile %+v missing %v: %v", p, missing, err)
	}
	if _, _, err := BuildProfile(ProviderOIDC, map[string]string{"issuer": "https://idp.example.com", "idp_endpoints.discovery": "https://idp.example.com/config.json"}); err == nil ||
		!strings.Contains(err.Error(), "/.well-known/openid-configuration") {
		t.Fatalf("discovery URL of another shape: %v", err)
	}
}
