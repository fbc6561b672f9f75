package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/world"
)

const (
	appARN      = "arn:aws:sso::111122223333:application/ssoins-1111222233334444/apl-aaaabbbbccccdddd"
	bridgeARN   = "arn:aws:iam::111122223333:role/tip-bridge"
	enhancedARN = "arn:aws:iam::111122223333:role/tip-enhanced"
)

func awsValues(extra map[string]string) map[string]string {
	v := map[string]string{"application_arn": appARN, "bridge_role_arn": bridgeARN, "enhanced_role_arn": enhancedARN, "region": "eu-central-1"}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

func validProfile() *Profile {
	p, _, err := BuildProfile("oidc", awsValues(map[string]string{"issuer": "https://idp.example.com", "client_id": "cid"}))
	if err != nil {
		panic(err)
	}
	p.Name = "p"
	return p
}

func problemFor(t *testing.T, p *Profile, field string) string {
	t.Helper()
	err := p.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError for %s, got %v", field, err)
	}
	for _, pr := range ve.Problems {
		if pr.Field == field {
			return pr.Message
		}
	}
	t.Fatalf("no problem for %s in %v", field, ve.Problems)
	return ""
}

func TestValidateAcceptsGoodProfile(t *testing.T) {
	p := validProfile()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// Loopback http is fine, also for IPv6 and localhost.
	for _, u := range []string{"http://127.0.0.1:8080/idp", "http://[::1]:9/x", "http://localhost:1234"} {
		p.Issuer = u
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	// GovCloud / China partitions and role paths.
	p.BridgeRoleARN = "arn:aws-us-gov:iam::111122223333:role/path/to/bridge"
	p.ApplicationARN = "arn:aws-cn:sso::111122223333:application/ins-1111222233334444/apl-aaaabbbbccccdddd"
	p.Region = "us-gov-west-1"
	p.BridgeSessionSeconds, p.EnhancedSessionSeconds = 900, 43200
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
}

func TestValidateMessages(t *testing.T) {
	cases := []struct {
		field  string
		mutate func(p *Profile)
		want   string
	}{
		{"issuer", func(p *Profile) { p.Issuer = "http://idp.example.com" }, "must use https"},
		{"issuer", func(p *Profile) { p.Issuer = "idp.example.com" }, "not an absolute URL"},
		{"issuer", func(p *Profile) { p.Issuer = "https://idp.example.com/?a=b" }, "query or fragment"},
		{"issuer", func(p *Profile) { p.Issuer = "" }, "missing"},
		{"issuer", func(p *Profile) { p.Issuer = "ftp://idp.example.com" }, `scheme "ftp"`},
		{"issuer", func(p *Profile) { p.Provider = "entra-id"; p.Issuer = "https://login.microsoftonline.com/common/v2.0" }, "multi-tenant"},
		{"provider", func(p *Profile) { p.Provider = "google" }, "not a known provider"},
		{"client_id", func(p *Profile) { p.ClientID = "" }, "missing"},
		{"client_secret_ref", func(p *Profile) { p.ClientSecretRef = "env:" }, "environment variable name"},
		{"client_secret_ref", func(p *Profile) { p.ClientSecretRef = "vault:x" }, "unknown reference scheme"},
		{"scopes", func(p *Profile) { p.Scopes = []string{"email", "profile"} }, "must include openid"},
		{"scopes", func(p *Profile) { p.Scopes = []string{"openid email"} }, "not a valid scope"},
		{"redirect_port", func(p *Profile) { p.RedirectPort = 80 }, "1024-65535"},
		{"application_arn", func(p *Profile) { p.ApplicationARN = "arn:aws:sso:::instance/ssoins-1111222233334444" }, "instance ARN"},
		{"application_arn", func(p *Profile) {
			p.ApplicationARN = "arn:aws:sso::1111:application/ssoins-1111222233334444/apl-aaaabbbbccccdddd"
		}, "not an Identity Center application ARN"},
		{"application_arn", func(p *Profile) { p.ApplicationARN = bridgeARN }, "is an IAM ARN"},
		{"bridge_role_arn", func(p *Profile) { p.BridgeRoleARN = "arn:aws:sts::111122223333:assumed-role/tip-bridge/alice" }, "assumed-role session ARN; use the role's ARN, arn:aws:iam::111122223333:role/<name>"},
		{"bridge_role_arn", func(p *Profile) { p.BridgeRoleARN = "arn:aws:iam::11112222333:role/x" }, "must be 12 digits"},
		{"bridge_role_arn", func(p *Profile) { p.BridgeRoleARN = "arn:aws:iam::111122223333:user/bob" }, "not a role"},
		{"bridge_role_arn", func(p *Profile) { p.BridgeRoleARN = "tip-bridge" }, "not an ARN"},
		{"bridge_role_arn", func(p *Profile) { p.BridgeRoleARN = "arn:aws:iam::111122223333:role/" + strings.Repeat("x", 65) }, "up to 64"},
		{"enhanced_role_arn", func(p *Profile) { p.EnhancedRoleARN = p.BridgeRoleARN }, "same role as bridge_role_arn"},
		{"region", func(p *Profile) { p.Region = "US-EAST-1" }, "not an AWS region"},
		{"region", func(p *Profile) { p.Region = "" }, "missing"},
		{"identity_center_region", func(p *Profile) { p.IdentityCenterRegion = "eu-west" }, "not an AWS region"},
		{"bridge_session_seconds", func(p *Profile) { p.BridgeSessionSeconds = 899 }, "900-43200"},
		{"enhanced_session_seconds", func(p *Profile) { p.EnhancedSessionSeconds = 43201 }, "900-43200"},
		{"endpoint_url", func(p *Profile) { p.EndpointURL = "http://sandbox.example.com" }, "loopback"},
		{"endpoint_url", func(p *Profile) { p.Provider = "sandbox" }, "needs the sandbox URL"},
		{"idp_endpoints.device", func(p *Profile) { p.IdP.Device = "http://10.0.0.1/device" }, "must use https"},
		{"role_session_name", func(p *Profile) { p.RoleSessionName = "tip-{nope}" }, "unknown placeholder {nope}"},
		{"role_session_name", func(p *Profile) { p.RoleSessionName = "tip user" }, "characters STS refuses"},
		{"base_aws_profile", func(p *Profile) { p.BaseAWSProfile = "my admin" }, "not an AWS profile name"},
		{"quicksight_role_arn", func(p *Profile) { p.QuickSightRoleARN = "quicksight-snapshots" }, "not an ARN"},
		{"sandbox_admin_key_id", func(p *Profile) { p.SandboxAdminKeyID, p.SandboxAdminSecretKey = "AKIAX", "y" }, "only allowed in sandbox profiles"},
		{"name", func(p *Profile) { p.Name = "../etc" }, "not a valid profile name"},
	}
	for _, tc := range cases {
		p := validProfile()
		tc.mutate(p)
		msg := problemFor(t, p, tc.field)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q lacks %q", tc.field, msg, tc.want)
		}
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	p := validProfile()
	p.ClientSecretRef = "s3cr3t-Value-pasted-by-mistake"
	p.Issuer = "https://user:hunter2@idp.example.com"
	err := p.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, secret := range []string{"s3cr3t", "hunter2"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error echoes a secret: %v", err)
		}
	}
	p = sandboxProfile(t, "sb")
	p.SandboxAdminSecretKey = "supersecret"
	if r := p.Redacted(); r.SandboxAdminSecretKey == "supersecret" || p.SandboxAdminSecretKey != "supersecret" {
		t.Error("Redacted must mask the secret on a copy only")
	}
	p.Provider = "okta"
	if err := p.Validate(); err == nil || strings.Contains(err.Error(), "supersecret") {
		t.Errorf("sandbox key in okta profile: %v", err)
	}
}

func TestWarnings(t *testing.T) {
	p := validProfile()
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("unexpected warnings %v", w)
	}
	p.EnhancedSessionSeconds = 7200
	if w := p.Warnings(); len(w) != 1 || !strings.Contains(w[0], "role chaining") {
		t.Errorf("want a role-chaining warning, got %v", w)
	}
}

func TestBuildProfileOkta(t *testing.T) {
	p, missing, err := BuildProfile("okta", map[string]string{"org_url": "dev-123.okta.com"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Issuer != "https://dev-123.okta.com/oauth2/default" {
		t.Errorf("issuer = %s", p.Issuer)
	}
	if want := []string{"client_id", "application_arn", "bridge_role_arn", "enhanced_role_arn", "region"}; !slices.Equal(missing, want) {
		t.Errorf("missing = %v, want %v", missing, want)
	}
	p, _, err = BuildProfile("okta", map[string]string{"org_url": "https://login.example.com/", "authorization_server_id": "aus1abc"})
	if err != nil || p.Issuer != "https://login.example.com/oauth2/aus1abc" {
		t.Errorf("custom server: %v %s", err, p.Issuer)
	}
	// Nothing given: the org URL is asked first.
	_, missing, _ = BuildProfile("okta", nil)
	if len(missing) == 0 || missing[0] != "org_url" {
		t.Errorf("missing = %v", missing)
	}
	// Bad values come back as a ValidationError naming the input key.
	_, _, err = BuildProfile("okta", map[string]string{"org_url": "http://dev-1.okta.com"})
	var ve *ValidationError
	if !errors.As(err, &ve) || !slices.Contains(ve.Fields(), "org_url") {
		t.Errorf("http org URL: %v", err)
	}
	_, _, err = BuildProfile("okta", map[string]string{"org_url": "https://dev-1.okta.com/oauth2/default", "authorization_server_id": "other"})
	if err == nil || !strings.Contains(err.Error(), "conflicts") {
		t.Errorf("conflicting server id: %v", err)
	}
}

func TestBuildProfileTipCLIKeys(t *testing.T) {
	// The JSON accepted by `tip-cli configure --idp okta --config '{...}'`.
	tipcli := map[string]string{
		"token_exchange_application_arn": appARN,
		"oidc_role_arn":                  bridgeARN,
		"id_enhanced_role_arn":           enhancedARN,
		"okta_url":                       "https://dev-123456789.okta.com/oauth2/default",
		"okta_client_id":                 "0oEXAMPLE",
		"idp":                            "okta",
	}
	p, missing, err := BuildProfile("", tipcli)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{"region"}) {
		t.Errorf("missing = %v, want [region] (tip-cli had no region key)", missing)
	}
	if p.Provider != "okta" || p.Issuer != "https://dev-123456789.okta.com/oauth2/default" || p.ClientID != "0oEXAMPLE" ||
		p.ApplicationARN != appARN || p.BridgeRoleARN != bridgeARN || p.EnhancedRoleARN != enhancedARN {
		t.Errorf("profile = %+v", p)
	}

	entra := map[string]string{"entra_tenant_id": "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "entra_client_id": "c1", "region": "us-east-1"}
	p, missing, err = BuildProfile("entra-id", awsValues(entra))
	if err != nil || len(missing) != 0 {
		t.Fatalf("entra: %v %v", err, missing)
	}
	base := "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"
	if p.Issuer != base+"/v2.0" || p.IdP.Authorization != base+"/oauth2/v2.0/authorize" || p.IdP.Token != base+"/oauth2/v2.0/token" ||
		p.IdP.Device != base+"/oauth2/v2.0/devicecode" || p.ClientID != "c1" {
		t.Errorf("entra profile: %+v", p)
	}
	_, _, err = BuildProfile("entra-id", map[string]string{"tenant_id": "contoso.onmicrosoft.com"})
	if err == nil || !strings.Contains(err.Error(), "GUID") {
		t.Errorf("entra domain tenant: %v", err)
	}

	// tip-cli's cognito config has only the hosted UI domain and client id:
	// the pool id is asked for (the issuer needs it).
	cog := map[string]string{"cognito_domain": "https://myapp.auth.eu-west-1.amazoncognito.com", "cognito_client_id": "abc"}
	p, missing, err = BuildProfile("cognito", awsValues(cog))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, []string{"user_pool_id"}) {
		t.Errorf("cognito missing = %v", missing)
	}
	d := "https://myapp.auth.eu-west-1.amazoncognito.com"
	if p.IdP.Authorization != d+"/oauth2/authorize" || p.IdP.Token != d+"/oauth2/token" || p.IdP.Revocation != d+"/oauth2/revoke" || p.IdP.UserInfo != d+"/oauth2/userInfo" {
		t.Errorf("cognito endpoints: %+v", p.IdP)
	}
	delete(cog, "region")
	vals := awsValues(cog)
	delete(vals, "region")
	vals["user_pool_id"] = "eu-west-1_AbC123"
	p, missing, err = BuildProfile("cognito", vals)
	if err != nil || len(missing) != 0 {
		t.Fatalf("cognito with pool: %v %v", err, missing)
	}
	if p.Issuer != "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123" || p.Region != "eu-west-1" {
		t.Errorf("cognito issuer/region: %s %s", p.Issuer, p.Region)
	}
	if got := p.EffectiveScopes(); slices.Contains(got, "offline_access") {
		t.Errorf("cognito default scopes must not include offline_access: %v", got)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	vals["cognito_region"] = "us-east-1"
	if _, _, err := BuildProfile("cognito", vals); err == nil || !strings.Contains(err.Error(), "conflicts with the pool id") {
		t.Errorf("cognito region conflict: %v", err)
	}
}

func TestBuildProfileOIDCAndErrors(t *testing.T) {
	p, missing, err := BuildProfile("oidc", awsValues(map[string]string{
		"issuer": "https://idp.example.com/realms/x", "client_id": "c",
		"token_endpoint": "https://idp.example.com/token", "scopes": "openid,email groups",
	}))
	if err != nil || len(missing) != 0 {
		t.Fatalf("%v %v", err, missing)
	}
	if p.IdP.Token != "https://idp.example.com/token" || !slices.Equal(p.Scopes, []string{"openid", "email", "groups"}) {
		t.Errorf("%+v", p)
	}
	if _, _, err := BuildProfile("oidc", map[string]string{"isuer": "https://x"}); err == nil || !strings.Contains(err.Error(), "unknown configuration key(s) isuer") {
		t.Errorf("unknown key: %v", err)
	}
	if _, _, err := BuildProfile("oidc", map[string]string{"client_id": "a", "okta_client_id": "b"}); err == nil || !strings.Contains(err.Error(), "conflicting values for client_id") {
		t.Errorf("conflict: %v", err)
	}
	if _, _, err := BuildProfile("google", nil); err == nil {
		t.Error("unknown provider accepted")
	}
	if _, missing, err := BuildProfile("", nil); err != nil || !slices.Equal(missing, []string{"provider"}) {
		t.Errorf("no provider: %v %v", err, missing)
	}
	if _, _, err := BuildProfile("oidc", map[string]string{"redirect_port": "eighty"}); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("bad port: %v", err)
	}
	// A bad value among missing ones: error plus the missing list.
	_, missing, err = BuildProfile("oidc", map[string]string{"issuer": "https://x.example.com", "region": "mars-1"})
	var ve *ValidationError
	if !errors.As(err, &ve) || !slices.Equal(ve.Fields(), []string{"region"}) || !slices.Contains(missing, "client_id") {
		t.Errorf("got err=%v missing=%v", err, missing)
	}
	for _, k := range []string{"okta_url", "tenant_id", "oidc_role_arn", "domain"} {
		if InputHelp(k) == "" {
			t.Errorf("no help for %s", k)
		}
	}
}

// The sandbox preset must point at what the sandbox's default world serves.
func TestSandboxPresetMatchesDefaultWorld(t *testing.T) {
	const endpoint = "http://127.0.0.1:45678"
	w, err := world.Default(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p, missing, err := BuildProfile("sandbox", map[string]string{"endpoint_url": endpoint + "/"})
	if err != nil || len(missing) != 0 {
		t.Fatalf("%v %v", err, missing)
	}
	if p.Issuer != w.IdP.Issuer {
		t.Errorf("issuer %s, world has %s", p.Issuer, w.IdP.Issuer)
	}
	if p.Region != w.Region {
		t.Errorf("region %s, world has %s", p.Region, w.Region)
	}
	found := false
	for _, a := range w.IdentityCenter.Applications {
		found = found || a.Arn == p.ApplicationARN
	}
	if !found {
		t.Errorf("application %s not in the default world", p.ApplicationARN)
	}
	roles := map[string]bool{}
	for _, r := range w.IAM.Roles {
		roles["arn:aws:iam::"+w.AccountID+":role/"+r.Name] = true
	}
	if !roles[p.BridgeRoleARN] || !roles[p.EnhancedRoleARN] {
		t.Errorf("roles %s %s not in the default world", p.BridgeRoleARN, p.EnhancedRoleARN)
	}
	clientOK := false
	for _, c := range w.IdP.Clients {
		clientOK = clientOK || c.ClientID == p.ClientID
	}
	if !clientOK {
		t.Errorf("client %s not in the default world", p.ClientID)
	}
	keyOK := false
	for _, u := range w.IAM.Users {
		for _, k := range u.AccessKeys {
			keyOK = keyOK || (k.ID == p.SandboxAdminKeyID && k.Secret == p.SandboxAdminSecretKey)
		}
	}
	if !keyOK {
		t.Error("sandbox admin keys not in the default world")
	}
	if _, missing, _ := BuildProfile("sandbox", nil); !slices.Equal(missing, []string{"endpoint_url"}) {
		t.Errorf("sandbox without endpoint: missing %v", missing)
	}
}

func TestSessionName(t *testing.T) {
	p := validProfile()
	if got := p.SessionName(map[string]string{"user": "alice"}); got != "tipctl-alice" {
		t.Errorf("default template: %q", got)
	}
	p.RoleSessionName = "{profile}-{email}"
	if got := p.SessionName(map[string]string{"email": "al ice/x@example.com"}); got != "p-al-ice-x@example.com" {
		t.Errorf("sanitised: %q", got)
	}
	p.RoleSessionName = "{user}"
	if got := p.SessionName(map[string]string{"user": strings.Repeat("a", 100)}); len(got) != 64 {
		t.Errorf("length %d", len(got))
	}
	if got := p.SessionName(nil); len(got) < 2 {
		t.Errorf("too short: %q", got)
	}
}

func TestParseSecretRef(t *testing.T) {
	r, err := ParseSecretRef("store:" + ClientSecretKey("work"))
	if err != nil || r.Scheme != "store" || r.Name != "profile/work/client-secret" {
		t.Errorf("%+v %v", r, err)
	}
	r, err = ParseSecretRef("env:MY_SECRET")
	if err != nil || r.Scheme != "env" || r.Name != "MY_SECRET" {
		t.Errorf("%+v %v", r, err)
	}
	if _, err := ParseSecretRef("plainsecret"); err == nil || strings.Contains(err.Error(), "plainsecret") {
		t.Errorf("literal: %v", err)
	}
}

// Values is BuildProfile's inverse, for every preset.
func TestValuesRoundTrip(t *testing.T) {
	inputs := map[string]map[string]string{
		"okta":     awsValues(map[string]string{"okta_url": "https://dev-1.okta.com", "client_id": "c", "redirect_port": "8090", "scopes": "openid groups"}),
		"entra-id": awsValues(map[string]string{"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "client_id": "c", "client_secret_ref": "env:X"}),
		"cognito":  awsValues(map[string]string{"user_pool_id": "eu-central-1_Abc", "domain": "x.auth.eu-central-1.amazoncognito.com", "client_id": "c"}),
		"oidc":     awsValues(map[string]string{"issuer": "https://idp.example.com", "client_id": "c", "bridge_session_seconds": "1200", "role_session_name": "{email}"}),
		"sandbox":  {"endpoint_url": "http://127.0.0.1:4566", "base_aws_profile": "sb", "quicksight_role_arn": "arn:aws:iam::123456789012:role/quicksight-snapshots"},
	}
	for prov, in := range inputs {
		p, missing, err := BuildProfile(prov, in)
		if err != nil || len(missing) > 0 {
			t.Fatalf("%s: %v %v", prov, err, missing)
		}
		p.Name = "x"
		q, missing, err := BuildProfile(prov, p.Values())
		if err != nil || len(missing) > 0 {
			t.Fatalf("%s rebuild: %v %v", prov, err, missing)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("%s: rebuilt\n%+v\nwant\n%+v", prov, q, p)
		}
	}
}
