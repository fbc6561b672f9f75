package config

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// OktaOrgServer as authorization_server_id selects Okta's org
// authorization server, whose issuer is the org URL itself.
const OktaOrgServer = "org"

// Sandbox defaults: the identifiers of the sandbox's embedded default world.
const (
	SandboxAccountID       = "123456789012"
	SandboxRegion          = "us-east-1"
	SandboxClientID        = "tipctl"
	SandboxApplicationARN  = "arn:aws:sso::123456789012:application/ssoins-9fbefece2518059c/apl-bdbacbe0e45be2a1"
	SandboxBridgeRoleARN   = "arn:aws:iam::123456789012:role/tip-bridge"
	SandboxEnhancedRoleARN = "arn:aws:iam::123456789012:role/tip-enhanced"
	SandboxAdminKeyID      = "test"
	SandboxAdminSecretKey  = "test"
)

// Preset input keys understood by BuildProfile besides the profile's own
// YAML keys (issuer, client_id, application_arn, ...).
const (
	InputOktaOrgURL        = "org_url"                 // okta: https://dev-123456.okta.com
	InputOktaAuthServerID  = "authorization_server_id" // okta: default "default"
	InputEntraTenantID     = "tenant_id"               // entra-id: directory (tenant) GUID
	InputEntraTokenVersion = "token_version"           // entra-id: 1 (sts.windows.net issuer) or 2 (default)
	InputCognitoPoolID     = "user_pool_id"            // cognito: us-east-1_AbCdEf123
	InputCognitoRegion     = "cognito_region"          // cognito: defaults to the pool id's region
	InputCognitoDomain     = "domain"                  // cognito: hosted UI domain
)

// aliases maps accepted input names (including tip-cli's JSON config keys)
// to canonical keys.
var aliases = map[string]string{
	"idp":                            "provider",
	"profile":                        "name",
	"token_exchange_application_arn": "application_arn",
	"app_arn":                        "application_arn",
	"oidc_role_arn":                  "bridge_role_arn",
	"id_enhanced_role_arn":           "enhanced_role_arn",
	"okta_url":                       InputOktaOrgURL,
	"okta_org_url":                   InputOktaOrgURL,
	"okta_domain":                    InputOktaOrgURL,
	"okta_client_id":                 "client_id",
	"okta_authorization_server_id":   InputOktaAuthServerID,
	"auth_server_id":                 InputOktaAuthServerID,
	"entra_tenant_id":                InputEntraTenantID,
	"azure_tenant_id":                InputEntraTenantID,
	"entra_client_id":                "client_id",
	"cognito_domain":                 InputCognitoDomain,
	"hosted_ui_domain":               InputCognitoDomain,
	"cognito_client_id":              "client_id",
	"cognito_user_pool_id":           InputCognitoPoolID,
	"aws_region":                     "region",
	"authorization_endpoint":         "idp_endpoints.authorization",
	"token_endpoint":                 "idp_endpoints.token",
	"device_authorization_endpoint":  "idp_endpoints.device",
	"revocation_endpoint":            "idp_endpoints.revocation",
	"userinfo_endpoint":              "idp_endpoints.userinfo",
	"jwks_uri":                       "idp_endpoints.jwks",
}

// inputHelp describes every canonical input key, for prompts.
var inputHelp = map[string]string{
	"name":                        "profile name",
	"provider":                    "identity provider: " + strings.Join(Providers(), ", "),
	"issuer":                      "OIDC issuer URL, exactly as in the token's iss claim",
	"client_id":                   "OAuth client (application) id at the IdP",
	"client_secret_ref":           "client secret reference for confidential clients (store:KEY or env:VAR)",
	"scopes":                      "scopes, space separated (must include openid)",
	"redirect_port":               "loopback callback port (0 = random)",
	"application_arn":             "IAM Identity Center customer-managed application ARN (arn:aws:sso::ACCOUNT:application/ssoins-…/apl-…)",
	"bridge_role_arn":             "IAM role assumed with the IdP token (arn:aws:iam::ACCOUNT:role/NAME)",
	"exchange_credentials":        "instead of a bridge role, the ambient AWS credentials exchange the token: default (the SDK chain) or profile:NAME",
	"assertion":                   "the IdP token exchanged with AWS: id_token (default) or access_token (an API audience)",
	"auth_params":                 "extra authorization request parameters, e.g. prompt=consent&resource=api://x",
	"enhanced_role_arn":           "IAM role for the identity-enhanced session (arn:aws:iam::ACCOUNT:role/NAME)",
	"region":                      "AWS region (e.g. us-east-1)",
	"identity_center_region":      "IAM Identity Center region, if different from region",
	"bridge_session_seconds":      "bridge role session duration in seconds (900-43200)",
	"enhanced_session_seconds":    "identity-enhanced session duration in seconds (900-43200)",
	"endpoint_url":                "endpoint URL for every AWS call (the sandbox)",
	"role_session_name":           "role session name template ({user} {email} {sub} {profile})",
	"base_aws_profile":            "AWS CLI profile with admin credentials for diag/setup",
	"quicksight_role_arn":         "IAM role for QuickSight identity-context sessions (trust allows sts:AssumeRole and sts:SetContext)",
	"sandbox_admin_key_id":        "sandbox admin access key id (test)",
	"sandbox_admin_secret_key":    "sandbox admin secret key (test)",
	"idp_endpoints.authorization": "IdP authorization endpoint URL (when discovery is unavailable)",
	"idp_endpoints.token":         "IdP token endpoint URL (when discovery is unavailable)",
	"idp_endpoints.device":        "IdP device authorization endpoint URL",
	"idp_endpoints.revocation":    "IdP token revocation endpoint URL",
	"idp_endpoints.userinfo":      "IdP userinfo endpoint URL",
	"idp_endpoints.jwks":          "IdP JWKS URL",
	"idp_endpoints.discovery":     "IdP discovery document URL, when it is not at ISSUER/.well-known/openid-configuration (the document must name the issuer)",
	InputOktaOrgURL:               "Okta org URL (e.g. https://dev-123456.okta.com)",
	InputOktaAuthServerID:         "Okta authorization server id (default: default)",
	InputEntraTenantID:            "Entra ID directory (tenant) id, a GUID",
	InputEntraTokenVersion:        "Entra ID token version: 2 (issuer login.microsoftonline.com/TENANT/v2.0, default) or 1 (issuer sts.windows.net/TENANT/)",
	InputCognitoPoolID:            "Cognito user pool id (e.g. us-east-1_AbCdEf123)",
	InputCognitoRegion:            "Cognito user pool region (default: from the pool id)",
	InputCognitoDomain:            "Cognito hosted UI domain (e.g. myapp.auth.us-east-1.amazoncognito.com)",
}

// InputHelp returns a one-line description of an input key accepted by
// BuildProfile (aliases included), suitable as a prompt; "" if unknown.
func InputHelp(key string) string {
	if c, ok := aliases[key]; ok {
		key = c
	}
	return inputHelp[key]
}

var (
	cognitoPoolRE = lazyre.New(`^([a-z]{2}(?:-[a-z]+)+-\d)_[0-9A-Za-z]+$`)
	hostRE        = lazyre.New(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$`)
	authServerRE  = lazyre.New(`^[A-Za-z0-9]+$`)
)

// BuildProfile applies provider's preset to values and returns the profile,
// the input keys still missing (in the order a CLI should ask for them), and
// an error when a value that was given is wrong (a *ValidationError whose
// Fields name the input keys to ask again).
//
// values holds canonical keys (the YAML keys of Profile, "idp_endpoints.token"
// style for endpoint overrides, the preset inputs Input*), or aliases,
// including tip-cli's JSON keys (token_exchange_application_arn,
// oidc_role_arn, id_enhanced_role_arn, okta_url, okta_client_id,
// entra_tenant_id, entra_client_id, cognito_domain, cognito_client_id, idp).
// Empty values count as absent. provider may be "" when values carries
// "provider" (or tip-cli's "idp").
//
// Presets:
//   - okta: org_url + authorization_server_id (default "default") →
//     issuer https://ORG/oauth2/ID (an okta_url that already ends in
//     /oauth2/ID is accepted as is); endpoints by discovery.
//   - entra-id: tenant_id → issuer https://login.microsoftonline.com/TENANT/v2.0
//     and the v2.0 authorize/token/devicecode endpoints.
//   - cognito: user_pool_id (+ cognito_region, default from the pool id) →
//     issuer https://cognito-idp.REGION.amazonaws.com/POOL; domain → the
//     hosted UI's /oauth2/authorize, /oauth2/token, /oauth2/revoke and
//     /oauth2/userInfo endpoints. region defaults to the pool's region.
//   - oidc: issuer; endpoints by discovery unless overridden.
//   - sandbox: endpoint_url; everything else defaults to the sandbox's
//     default world (client tipctl, its application, tip-bridge and
//     tip-enhanced roles, us-east-1, admin keys test/test).
func BuildProfile(provider string, values map[string]string) (*Profile, []string, error) {
	in, err := canonicalize(values)
	if err != nil {
		return nil, nil, err
	}
	if provider == "" {
		provider = in["provider"]
	} else if v := in["provider"]; v != "" && v != provider {
		return nil, nil, fmt.Errorf("provider %q conflicts with provider %q in the values", provider, v)
	}
	provider = strings.ToLower(provider)
	if provider == "entra" || provider == "entraid" || provider == "azure" {
		provider = ProviderEntraID
	}
	if !slices.Contains(Providers(), provider) {
		if provider == "" {
			return nil, []string{"provider"}, nil
		}
		return nil, nil, &ValidationError{Problems: []Problem{{Field: "provider", Message: fmt.Sprintf("%q is not a known provider (one of %s)", provider, strings.Join(Providers(), ", "))}}}
	}

	p := &Profile{Name: in["name"], Provider: provider}
	b := &builder{p: p, in: in, c: &checker{p: p}}
	b.common()
	switch provider {
	case ProviderOkta:
		b.okta()
	case ProviderEntraID:
		b.entra()
	case ProviderCognito:
		b.cognito()
	case ProviderOIDC:
		b.need("issuer")
	case ProviderSandbox:
		b.sandbox()
	}
	if provider != ProviderSandbox {
		for _, k := range []string{"client_id", "application_arn", "bridge_role_arn", "enhanced_role_arn", "region"} {
			if k == "bridge_role_arn" && p.ExchangeCredentials != "" {
				continue // no bridge role: the ambient credentials exchange
			}
			b.need(k)
		}
	}

	// Validate what was given; problems in fields that are merely missing
	// are reported through missing instead.
	if err := p.Validate(); err != nil {
		for _, pr := range err.(*ValidationError).Problems {
			if !b.isMissing(pr.Field) {
				b.c.problems = append(b.c.problems, pr)
			}
		}
	}
	if len(b.c.problems) > 0 {
		return p, b.missing, &ValidationError{Profile: p.Name, Problems: dedupe(b.c.problems)}
	}
	return p, b.missing, nil
}

func canonicalize(values map[string]string) (map[string]string, error) {
	in := map[string]string{}
	from := map[string]string{}
	var unknown []string
	for k, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		key := strings.ToLower(strings.TrimSpace(k))
		key = strings.ReplaceAll(key, "-", "_")
		if c, ok := aliases[key]; ok {
			key = c
		}
		if _, ok := inputHelp[key]; !ok {
			unknown = append(unknown, k)
			continue
		}
		if prev, ok := in[key]; ok && prev != v {
			return nil, fmt.Errorf("conflicting values for %s (given as both %s and %s)", key, from[key], k)
		}
		in[key] = v
		from[key] = k
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown configuration key(s) %s; known keys: %s", strings.Join(unknown, ", "), strings.Join(knownKeys(), ", "))
	}
	return in, nil
}

func knownKeys() []string {
	var ks []string
	for k := range inputHelp {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

type builder struct {
	p       *Profile
	in      map[string]string
	c       *checker
	missing []string
	// missFields are profile fields whose value depends on a missing input.
	missFields []string
}

func (b *builder) need(key string, fields ...string) {
	if b.in[key] != "" || slices.Contains(b.missing, key) {
		return
	}
	if len(fields) == 0 {
		fields = []string{key}
	}
	// A field already filled (e.g. issuer given directly) is not missing.
	for _, f := range fields {
		if b.fieldSet(f) {
			return
		}
	}
	b.missing = append(b.missing, key)
	b.missFields = append(b.missFields, fields...)
}

func (b *builder) fieldSet(f string) bool {
	switch f {
	case "issuer":
		return b.p.Issuer != ""
	case "client_id":
		return b.p.ClientID != ""
	case "application_arn":
		return b.p.ApplicationARN != ""
	case "bridge_role_arn":
		return b.p.BridgeRoleARN != ""
	case "enhanced_role_arn":
		return b.p.EnhancedRoleARN != ""
	case "region":
		return b.p.Region != ""
	case "endpoint_url":
		return b.p.EndpointURL != ""
	}
	return false
}

func (b *builder) isMissing(field string) bool { return slices.Contains(b.missFields, field) }

func (b *builder) bad(key, format string, args ...any) {
	b.c.problems = append(b.c.problems, Problem{Field: key, Message: fmt.Sprintf(format, args...)})
}

func (b *builder) atoi(key string) int {
	v := b.in[key]
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.bad(key, "%q is not a whole number", v)
		return 0
	}
	return n
}

// common copies the provider-independent keys.
func (b *builder) common() {
	p, in := b.p, b.in
	p.Issuer = in["issuer"]
	p.ClientID = in["client_id"]
	p.ClientSecretRef = in["client_secret_ref"]
	if s := in["scopes"]; s != "" {
		p.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	}
	p.RedirectPort = b.atoi("redirect_port")
	p.ApplicationARN = in["application_arn"]
	p.BridgeRoleARN = in["bridge_role_arn"]
	p.ExchangeCredentials = in["exchange_credentials"]
	p.Assertion = in["assertion"]
	if v := in["auth_params"]; v != "" {
		q, err := url.ParseQuery(v)
		if err != nil {
			b.bad("auth_params", "%q is not KEY=VALUE&KEY=VALUE", v)
		}
		p.AuthParams = map[string]string{}
		for k, vs := range q {
			p.AuthParams[k] = vs[len(vs)-1]
		}
	}
	p.EnhancedRoleARN = in["enhanced_role_arn"]
	p.Region = in["region"]
	p.IdentityCenterRegion = in["identity_center_region"]
	p.BridgeSessionSeconds = b.atoi("bridge_session_seconds")
	p.EnhancedSessionSeconds = b.atoi("enhanced_session_seconds")
	p.EndpointURL = strings.TrimRight(in["endpoint_url"], "/")
	p.RoleSessionName = in["role_session_name"]
	p.BaseAWSProfile = in["base_aws_profile"]
	p.QuickSightRoleARN = in["quicksight_role_arn"]
	p.SandboxAdminKeyID = in["sandbox_admin_key_id"]
	p.SandboxAdminSecretKey = in["sandbox_admin_secret_key"]
	p.IdP = IdPEndpoints{
		Authorization: in["idp_endpoints.authorization"],
		Token:         in["idp_endpoints.token"],
		Device:        in["idp_endpoints.device"],
		Revocation:    in["idp_endpoints.revocation"],
		UserInfo:      in["idp_endpoints.userinfo"],
		JWKS:          in["idp_endpoints.jwks"],
		Discovery:     in["idp_endpoints.discovery"],
	}
}

// setDefault sets *dst to v unless the user gave a value.
func setDefault(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func (b *builder) okta() {
	org, server := b.in[InputOktaOrgURL], b.in[InputOktaAuthServerID]
	if server != "" && !authServerRE.MatchString(server) {
		b.bad(InputOktaAuthServerID, "%q is not an Okta authorization server id (letters and digits, e.g. default or aus1a2b3c4d5e6f7g8h9)", server)
		return
	}
	if org == "" {
		b.need(InputOktaOrgURL, "issuer")
		return
	}
	u, msg := hostURL(org)
	if msg != "" {
		b.bad(InputOktaOrgURL, "%s (want the Okta org URL, e.g. https://dev-123456.okta.com)", msg)
		return
	}
	path := strings.Trim(u.Path, "/")
	switch {
	case path == "":
	case strings.HasPrefix(path, "oauth2/") && authServerRE.MatchString(strings.TrimPrefix(path, "oauth2/")):
		// tip-cli's okta_url is the full issuer: https://ORG/oauth2/ID.
		id := strings.TrimPrefix(path, "oauth2/")
		if server != "" && server != id {
			b.bad(InputOktaAuthServerID, "%q conflicts with the authorization server %q in %s", server, id, org)
			return
		}
		server = id
	default:
		b.bad(InputOktaOrgURL, "%q has an unexpected path %q (want https://ORG or https://ORG/oauth2/SERVER_ID)", org, u.Path)
		return
	}
	if server == "" && b.p.Issuer == "https://"+u.Host {
		server = OktaOrgServer // the org authorization server, given as the issuer
	}
	if server == "" {
		server = "default"
	}
	iss := "https://" + u.Host + "/oauth2/" + server
	if server == OktaOrgServer {
		// The org authorization server issues tokens as the org itself;
		// its endpoints are under /oauth2/v1 (found by discovery).
		iss = "https://" + u.Host
	}
	if b.p.Issuer != "" && b.p.Issuer != iss {
		b.bad("issuer", "%q conflicts with the Okta issuer %q built from %s", b.p.Issuer, iss, InputOktaOrgURL)
		return
	}
	b.p.Issuer = iss
}

func (b *builder) entra() {
	tenant := b.in[InputEntraTenantID]
	v1 := b.in[InputEntraTokenVersion] == "1" || strings.HasPrefix(strings.ToLower(b.p.Issuer), "https://sts.windows.net/")
	if v := b.in[InputEntraTokenVersion]; v != "" && v != "1" && v != "2" {
		b.bad(InputEntraTokenVersion, "%q is not 1 or 2 (the application's accessTokenAcceptedVersion)", v)
		return
	}
	if tenant == "" {
		b.need(InputEntraTenantID, "issuer")
		if b.p.Issuer == "" {
			return
		}
		// Issuer given directly: derive the tenant to fill the endpoints.
		u, err := url.Parse(b.p.Issuer)
		if err != nil || !(strings.EqualFold(u.Host, "login.microsoftonline.com") || strings.EqualFold(u.Host, "sts.windows.net")) {
			return
		}
		tenant, _, _ = strings.Cut(strings.Trim(u.Path, "/"), "/")
		if !guidRE.MatchString(tenant) {
			return
		}
	}
	if !guidRE.MatchString(tenant) {
		b.bad(InputEntraTenantID, "%q is not a tenant GUID (use the Directory (tenant) ID from the Entra admin center, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47; domain names and common/organizations do not match the token's issuer)", tenant)
		return
	}
	tenant = strings.ToLower(tenant)
	base := "https://login.microsoftonline.com/" + tenant
	if v1 {
		b.entraV1(base, tenant)
		return
	}
	iss := base + "/v2.0"
	if b.p.Issuer != "" && b.p.Issuer != iss {
		b.bad("issuer", "%q conflicts with the Entra ID v2.0 issuer %q for tenant %s", b.p.Issuer, iss, tenant)
		return
	}
	b.p.Issuer = iss
	if b.p.IdP.Discovery != "" {
		return // the discovery document says where the endpoints are
	}
	setDefault(&b.p.IdP.Authorization, base+"/oauth2/v2.0/authorize")
	setDefault(&b.p.IdP.Token, base+"/oauth2/v2.0/token")
	setDefault(&b.p.IdP.Device, base+"/oauth2/v2.0/devicecode")
	setDefault(&b.p.IdP.JWKS, base+"/discovery/v2.0/keys")
	setDefault(&b.p.IdP.UserInfo, "https://graph.microsoft.com/oidc/userinfo")
}

// entraV1 is Entra ID with v1.0 tokens (accessTokenAcceptedVersion null
// or 1): the issuer is https://sts.windows.net/TENANT/ and the v1
// endpoints issue tokens with it.
func (b *builder) entraV1(base, tenant string) {
	iss := "https://sts.windows.net/" + tenant + "/"
	if b.p.Issuer != "" && b.p.Issuer != iss {
		b.bad("issuer", "%q conflicts with the Entra ID v1.0 issuer %q for tenant %s", b.p.Issuer, iss, tenant)
		return
	}
	b.p.Issuer = iss
	if b.p.IdP.Discovery != "" {
		return // the discovery document says where the endpoints are
	}
	setDefault(&b.p.IdP.Authorization, base+"/oauth2/authorize")
	setDefault(&b.p.IdP.Token, base+"/oauth2/token")
	setDefault(&b.p.IdP.Device, base+"/oauth2/devicecode")
	setDefault(&b.p.IdP.JWKS, base+"/discovery/keys")
}

func (b *builder) cognito() {
	pool, region, domain := b.in[InputCognitoPoolID], b.in[InputCognitoRegion], b.in[InputCognitoDomain]
	if domain != "" {
		u, msg := hostURL(domain)
		switch {
		case msg != "":
			b.bad(InputCognitoDomain, "%s (want the hosted UI domain, e.g. myapp.auth.us-east-1.amazoncognito.com)", msg)
		case strings.Trim(u.Path, "/") != "":
			b.bad(InputCognitoDomain, "%q must be just the domain, without a path", domain)
		default:
			base := "https://" + u.Host
			setDefault(&b.p.IdP.Authorization, base+"/oauth2/authorize")
			setDefault(&b.p.IdP.Token, base+"/oauth2/token")
			setDefault(&b.p.IdP.Revocation, base+"/oauth2/revoke")
			setDefault(&b.p.IdP.UserInfo, base+"/oauth2/userInfo")
		}
	}
	if region != "" && !regionRE.MatchString(region) {
		b.bad(InputCognitoRegion, "%q is not an AWS region (e.g. us-east-1)", region)
		return
	}
	if pool == "" {
		b.need(InputCognitoPoolID, "issuer")
		return
	}
	m := cognitoPoolRE.FindStringSubmatch(pool)
	if m == nil {
		b.bad(InputCognitoPoolID, "%q is not a Cognito user pool id (want REGION_ID, e.g. us-east-1_AbCdEf123)", pool)
		return
	}
	if region == "" {
		region = m[1]
	} else if region != m[1] {
		b.bad(InputCognitoRegion, "%q conflicts with the pool id %s, which lives in %s", region, pool, m[1])
		return
	}
	iss := "https://cognito-idp." + region + ".amazonaws.com/" + pool
	if b.p.Issuer != "" && b.p.Issuer != iss {
		b.bad("issuer", "%q conflicts with the Cognito issuer %q built from the pool id", b.p.Issuer, iss)
		return
	}
	b.p.Issuer = iss
	setDefault(&b.p.Region, region)
}

func (b *builder) sandbox() {
	p := b.p
	b.need("endpoint_url")
	if p.EndpointURL != "" {
		setDefault(&p.Issuer, p.EndpointURL+"/idp")
	}
	setDefault(&p.ClientID, SandboxClientID)
	setDefault(&p.ApplicationARN, SandboxApplicationARN)
	if p.ExchangeCredentials == "" {
		setDefault(&p.BridgeRoleARN, SandboxBridgeRoleARN)
	}
	setDefault(&p.EnhancedRoleARN, SandboxEnhancedRoleARN)
	setDefault(&p.Region, SandboxRegion)
	if p.SandboxAdminKeyID == "" && p.SandboxAdminSecretKey == "" {
		p.SandboxAdminKeyID, p.SandboxAdminSecretKey = SandboxAdminKeyID, SandboxAdminSecretKey
	}
	if p.Issuer == "" {
		b.missFields = append(b.missFields, "issuer")
	}
}

// hostURL parses "host", "https://host" or "https://host/path"; it returns
// a message when the value is not usable.
func hostURL(v string) (*url.URL, string) {
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return nil, fmt.Sprintf("%q is not a URL or host name", v)
	}
	if u.Scheme != "https" {
		return nil, fmt.Sprintf("%q must use https", v)
	}
	if u.User != nil {
		return nil, "must not embed a user name or password"
	}
	if !hostRE.MatchString(u.Host) {
		return nil, fmt.Sprintf("%q is not a valid host name", u.Host)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Sprintf("%q must not have a query or fragment", v)
	}
	return u, ""
}

func dedupe(ps []Problem) []Problem {
	seen := map[string]bool{}
	var out []Problem
	for _, p := range ps {
		k := p.Field + "\x00" + p.Message
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}
