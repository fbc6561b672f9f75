package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// Providers tipctl knows. Each has a preset (see BuildProfile).
const (
	ProviderOkta    = "okta"
	ProviderEntraID = "entra-id"
	ProviderCognito = "cognito"
	ProviderOIDC    = "oidc"
	ProviderSandbox = "sandbox"
)

// Providers lists the valid values of Profile.Provider.
func Providers() []string {
	return []string{ProviderOkta, ProviderEntraID, ProviderCognito, ProviderOIDC, ProviderSandbox}
}

// Session duration limits (seconds) and the defaults used when a profile
// leaves them at 0.
const (
	MinSessionSeconds             = 900
	MaxSessionSeconds             = 43200
	DefaultBridgeSessionSeconds   = 900
	DefaultEnhancedSessionSeconds = 3600
	// DefaultRoleSessionName is used when RoleSessionName is empty.
	DefaultRoleSessionName = "tipctl-{user}"
)

// Profile is one named tipctl configuration: which IdP to log in to and
// which AWS resources carry the identity. It holds no secrets except the
// public sandbox test keys (see SandboxAdminKeyID); the IdP client secret,
// if any, is referenced by ClientSecretRef and kept in tip/store.
type Profile struct {
	// Name is the profile's key in config.yaml; it is not stored inside the
	// profile's own mapping.
	Name string `yaml:"-" json:"name"`

	// Provider is okta, entra-id, cognito, oidc or sandbox.
	Provider string `yaml:"provider" json:"provider"`
	// Issuer is the OIDC issuer URL, exactly as it appears in the id_token's
	// iss claim and in the Identity Center trusted token issuer.
	Issuer string `yaml:"issuer" json:"issuer"`
	// ClientID is the OAuth client (application) id at the IdP.
	ClientID string `yaml:"client_id" json:"client_id"`
	// ClientSecretRef points at the client secret for confidential clients:
	// "store:KEY" (a key in tip/store) or "env:VAR" (an environment
	// variable). Never the secret itself.
	ClientSecretRef string `yaml:"client_secret_ref,omitempty" json:"client_secret_ref,omitempty"`
	// Scopes requested at login; must include openid when set.
	Scopes []string `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	// RedirectPort is the loopback callback port; 0 picks a random port.
	RedirectPort int `yaml:"redirect_port,omitempty" json:"redirect_port,omitempty"`
	// IdP overrides discovered endpoints when discovery cannot be used.
	IdP IdPEndpoints `yaml:"idp_endpoints,omitempty" json:"idp_endpoints,omitzero"`
	// AuthParams are extra authorization request parameters, e.g.
	// prompt=consent (node-oidc-provider and others grant offline_access,
	// and so a refresh token, only with it) or resource=api://… (an API
	// audience for the access token).
	AuthParams map[string]string `yaml:"auth_params,omitempty" json:"auth_params,omitempty"`
	// Assertion is the IdP token exchanged with AWS: id_token (default) or
	// access_token, when the trusted token issuer's audience is an API
	// (Entra api://…, an Okta custom authorization server audience).
	Assertion string `yaml:"assertion,omitempty" json:"assertion,omitempty"`

	// ApplicationARN is the Identity Center customer-managed application
	// used with CreateTokenWithIAM.
	ApplicationARN string `yaml:"application_arn" json:"application_arn"`
	// BridgeRoleARN is assumed with the IdP token (AssumeRoleWithWebIdentity).
	// Empty with ExchangeCredentials set: no bridge role.
	BridgeRoleARN string `yaml:"bridge_role_arn" json:"bridge_role_arn"`
	// ExchangeCredentials, when set, replaces the bridge role: the ambient
	// AWS credentials call CreateTokenWithIAM and assume the enhanced
	// role. "default" is the SDK's default chain (environment, shared
	// files, SSO, the EC2/ECS role); "profile:NAME" a named AWS profile.
	ExchangeCredentials string `yaml:"exchange_credentials,omitempty" json:"exchange_credentials,omitempty"`
	// EnhancedRoleARN is assumed with the identity context (identity-enhanced session).
	EnhancedRoleARN string `yaml:"enhanced_role_arn" json:"enhanced_role_arn"`
	// Region is the AWS region for STS and other calls.
	Region string `yaml:"region" json:"region"`
	// IdentityCenterRegion is the region of the Identity Center instance
	// (sso-oauth); empty means Region.
	IdentityCenterRegion string `yaml:"identity_center_region,omitempty" json:"identity_center_region,omitempty"`
	// BridgeSessionSeconds and EnhancedSessionSeconds are session
	// durations; 0 means the default (900 and 3600).
	BridgeSessionSeconds   int `yaml:"bridge_session_seconds,omitempty" json:"bridge_session_seconds,omitempty"`
	EnhancedSessionSeconds int `yaml:"enhanced_session_seconds,omitempty" json:"enhanced_session_seconds,omitempty"`
	// EndpointURL, when set, receives every AWS call (the sandbox).
	EndpointURL string `yaml:"endpoint_url,omitempty" json:"endpoint_url,omitempty"`
	// RoleSessionName is a template for role session names; placeholders
	// {user} {email} {sub} {profile} are filled at login (see SessionName).
	RoleSessionName string `yaml:"role_session_name,omitempty" json:"role_session_name,omitempty"`

	// BaseAWSProfile names an AWS CLI profile whose credentials tipctl uses
	// for admin/diagnostic calls (diag, setup).
	BaseAWSProfile string `yaml:"base_aws_profile,omitempty" json:"base_aws_profile,omitempty"`
	// QuickSightRoleARN is the role `tipctl quicksight` assumes with a
	// QuickSight identity context (GetIdentityContext, then AssumeRole with
	// ProvidedContexts); its trust policy must allow sts:AssumeRole and
	// sts:SetContext. Optional.
	QuickSightRoleARN string `yaml:"quicksight_role_arn,omitempty" json:"quicksight_role_arn,omitempty"`
	// SandboxAdminKeyID and SandboxAdminSecretKey are admin credentials for
	// the sandbox only (provider sandbox). They are the public test keys
	// (test/test by default), so keeping them in config.yaml is acceptable;
	// validation refuses them for any other provider, where an AWS profile
	// (BaseAWSProfile) must be used instead. Redacted masks the secret.
	SandboxAdminKeyID     string `yaml:"sandbox_admin_key_id,omitempty" json:"sandbox_admin_key_id,omitempty"`
	SandboxAdminSecretKey string `yaml:"sandbox_admin_secret_key,omitempty" json:"sandbox_admin_secret_key,omitempty"`

	// lines maps YAML keys to their line in config.yaml (set by Load).
	lines map[string]int
	line  int
}

// IdPEndpoints are explicit IdP endpoint URLs. Empty fields are discovered
// from Issuer + "/.well-known/openid-configuration".
type IdPEndpoints struct {
	Authorization string `yaml:"authorization,omitempty" json:"authorization,omitempty"`
	Token         string `yaml:"token,omitempty" json:"token,omitempty"`
	Device        string `yaml:"device,omitempty" json:"device,omitempty"`
	Revocation    string `yaml:"revocation,omitempty" json:"revocation,omitempty"`
	UserInfo      string `yaml:"userinfo,omitempty" json:"userinfo,omitempty"`
	JWKS          string `yaml:"jwks,omitempty" json:"jwks,omitempty"`
	// Discovery is the URL of the OpenID discovery document when it is
	// not at Issuer + "/.well-known/openid-configuration" (a proxy, a
	// private endpoint); the document must still name Issuer.
	Discovery string `yaml:"discovery,omitempty" json:"discovery,omitempty"`
}

// IsZero reports whether no endpoint is overridden.
func (e IdPEndpoints) IsZero() bool { return e == IdPEndpoints{} }

// Clone returns a deep copy of p.
func (p *Profile) Clone() *Profile {
	c := *p
	c.Scopes = append([]string(nil), p.Scopes...)
	if p.AuthParams != nil {
		c.AuthParams = make(map[string]string, len(p.AuthParams))
		for k, v := range p.AuthParams {
			c.AuthParams[k] = v
		}
	}
	return &c
}

// Values returns the profile as BuildProfile input (canonical keys, empty
// fields left out), so a CLI can pre-fill a reconfiguration: merge new
// answers into p.Values() and call BuildProfile(p.Provider, merged).
func (p *Profile) Values() map[string]string {
	v := map[string]string{}
	put := func(k, x string) {
		if x != "" {
			v[k] = x
		}
	}
	num := func(k string, n int) {
		if n != 0 {
			v[k] = strconv.Itoa(n)
		}
	}
	put("name", p.Name)
	put("provider", p.Provider)
	put("issuer", p.Issuer)
	put("client_id", p.ClientID)
	put("client_secret_ref", p.ClientSecretRef)
	put("scopes", strings.Join(p.Scopes, " "))
	num("redirect_port", p.RedirectPort)
	put("idp_endpoints.authorization", p.IdP.Authorization)
	put("idp_endpoints.token", p.IdP.Token)
	put("idp_endpoints.device", p.IdP.Device)
	put("idp_endpoints.revocation", p.IdP.Revocation)
	put("idp_endpoints.userinfo", p.IdP.UserInfo)
	put("idp_endpoints.jwks", p.IdP.JWKS)
	put("idp_endpoints.discovery", p.IdP.Discovery)
	if len(p.AuthParams) > 0 {
		keys := make([]string, 0, len(p.AuthParams))
		for k := range p.AuthParams {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		q := make([]string, 0, len(keys))
		for _, k := range keys {
			q = append(q, k+"="+p.AuthParams[k])
		}
		put("auth_params", strings.Join(q, "&"))
	}
	put("assertion", p.Assertion)
	put("exchange_credentials", p.ExchangeCredentials)
	put("application_arn", p.ApplicationARN)
	put("bridge_role_arn", p.BridgeRoleARN)
	put("enhanced_role_arn", p.EnhancedRoleARN)
	put("region", p.Region)
	put("identity_center_region", p.IdentityCenterRegion)
	num("bridge_session_seconds", p.BridgeSessionSeconds)
	num("enhanced_session_seconds", p.EnhancedSessionSeconds)
	put("endpoint_url", p.EndpointURL)
	put("role_session_name", p.RoleSessionName)
	put("base_aws_profile", p.BaseAWSProfile)
	put("quicksight_role_arn", p.QuickSightRoleARN)
	put("sandbox_admin_key_id", p.SandboxAdminKeyID)
	put("sandbox_admin_secret_key", p.SandboxAdminSecretKey)
	return v
}

// Redacted returns a copy safe to print: the sandbox admin secret key is
// masked. (Nothing else in a profile is secret; ClientSecretRef is only a
// reference.)
func (p *Profile) Redacted() *Profile {
	c := p.Clone()
	if c.SandboxAdminSecretKey != "" {
		c.SandboxAdminSecretKey = "****"
	}
	return c
}

// BridgeSession is the bridge role session duration (default 15 minutes).
func (p *Profile) BridgeSession() time.Duration {
	return secondsOr(p.BridgeSessionSeconds, DefaultBridgeSessionSeconds)
}

// EnhancedSession is the identity-enhanced session duration (default 1 hour).
func (p *Profile) EnhancedSession() time.Duration {
	return secondsOr(p.EnhancedSessionSeconds, DefaultEnhancedSessionSeconds)
}

func secondsOr(v, def int) time.Duration {
	if v == 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

// Assertion kinds (Profile.Assertion).
const (
	AssertionIDToken     = "id_token"
	AssertionAccessToken = "access_token"
)

// UsesAccessToken reports whether the IdP access token, not the id_token,
// is the assertion exchanged with AWS.
func (p *Profile) UsesAccessToken() bool { return p.Assertion == AssertionAccessToken }

// ExchangeAWSProfile is the named AWS profile of ExchangeCredentials
// ("profile:NAME"), or "".
func (p *Profile) ExchangeAWSProfile() string {
	name, _ := strings.CutPrefix(p.ExchangeCredentials, "profile:")
	if name == p.ExchangeCredentials {
		return ""
	}
	return name
}

// ICRegion is the Identity Center region (IdentityCenterRegion or Region).
func (p *Profile) ICRegion() string {
	if p.IdentityCenterRegion != "" {
		return p.IdentityCenterRegion
	}
	return p.Region
}

// EffectiveScopes returns Scopes, or the provider's default scopes when none
// are configured.
func (p *Profile) EffectiveScopes() []string {
	if len(p.Scopes) > 0 {
		return append([]string(nil), p.Scopes...)
	}
	return DefaultScopes(p.Provider)
}

// DefaultScopes are the scopes requested when a profile sets none. Cognito
// rejects offline_access (it issues refresh tokens without it).
func DefaultScopes(provider string) []string {
	if provider == ProviderCognito {
		return []string{"openid", "email", "profile"}
	}
	return []string{"openid", "email", "profile", "offline_access"}
}

var sessionNameBad = lazyre.New(`[^\w+=,.@-]`)

// SessionName renders the RoleSessionName template (DefaultRoleSessionName
// when empty) with vars (keys without braces: user, email, sub, profile; the
// profile name is filled in when absent). Characters STS does not allow
// become '-', and the result is cut to 64 characters and padded to the
// minimum of 2, so it is always a valid RoleSessionName.
func (p *Profile) SessionName(vars map[string]string) string {
	tmpl := p.RoleSessionName
	if tmpl == "" {
		tmpl = DefaultRoleSessionName
	}
	out := placeholderRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		k := m[1 : len(m)-1]
		if v, ok := vars[k]; ok {
			return v
		}
		if k == "profile" {
			return p.Name
		}
		return ""
	})
	out = sessionNameBad.ReplaceAllString(out, "-")
	if len(out) > 64 {
		out = out[:64]
	}
	for len(out) < 2 {
		out += "-"
	}
	return out
}

var placeholderRE = lazyre.New(`\{[a-z]+\}`)

// sessionPlaceholders are the names SessionName understands.
var sessionPlaceholders = map[string]bool{"user": true, "email": true, "sub": true, "profile": true}

// SecretRef is a parsed ClientSecretRef.
type SecretRef struct {
	// Scheme is "store" (Name is a tip/store key) or "env" (Name is an
	// environment variable).
	Scheme string
	Name   string
}

// ParseSecretRef parses "store:KEY" or "env:VAR". The error never repeats
// the input, in case someone pasted a secret where a reference belongs.
func ParseSecretRef(ref string) (SecretRef, error) {
	scheme, name, ok := strings.Cut(ref, ":")
	switch {
	case !ok:
		return SecretRef{}, fmt.Errorf("must be a reference (store:KEY or env:VAR), not the secret itself; keep the secret in the tipctl secret store")
	case scheme == "store":
		if name == "" || strings.ContainsAny(name, " \t\r\n") {
			return SecretRef{}, fmt.Errorf("store: reference needs a key without spaces, e.g. store:profile/NAME/client-secret")
		}
	case scheme == "env":
		if !envNameRE.MatchString(name) {
			return SecretRef{}, fmt.Errorf("env: reference needs an environment variable name, e.g. env:TIPCTL_CLIENT_SECRET")
		}
	default:
		return SecretRef{}, fmt.Errorf("unknown reference scheme (want store:KEY or env:VAR)")
	}
	return SecretRef{Scheme: scheme, Name: name}, nil
}

var envNameRE = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ClientSecretKey is the conventional tip/store key for a profile's client
// secret (use it as "store:" + ClientSecretKey(name)).
func ClientSecretKey(profile string) string { return "profile/" + profile + "/client-secret" }
