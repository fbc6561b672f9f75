package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// Problem is one thing wrong with a profile. Field is the config.yaml key
// (e.g. "bridge_role_arn", "idp_endpoints.token"); Line is its line in
// config.yaml when the profile was loaded from a file (0 otherwise).
type Problem struct {
	Field   string
	Message string
	Line    int
}

// String formats the problem as "field (line N): message".
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", p.Field, p.Line, p.Message)
	}
	return p.Field + ": " + p.Message
}

// ValidationError lists every problem found in one profile.
type ValidationError struct {
	Profile  string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.Profile != "" {
		fmt.Fprintf(&b, "profile %q is invalid:", e.Profile)
	} else {
		b.WriteString("invalid profile:")
	}
	if len(e.Problems) == 1 {
		b.WriteString(" " + e.Problems[0].String())
		return b.String()
	}
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.String())
	}
	return b.String()
}

// Fields returns the fields that have problems, in order.
func (e *ValidationError) Fields() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Field
	}
	return out
}

var (
	regionRE      = lazyre.New(`^[a-z]{2}(-[a-z]+)+-\d$`)
	partitionPart = `aws(-[a-z]{1,5}){0,3}`
	roleARNRE     = lazyre.New(`^arn:` + partitionPart + `:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)
	appARNRE      = lazyre.New(`^arn:` + partitionPart + `:sso::(\d{12}):application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}$`)
	profileNameRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	sessionLitRE  = lazyre.New(`^[\w+=,.@-]*$`)
	accountRE     = lazyre.New(`^\d{12}$`)
	guidRE        = lazyre.New(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// ValidProfileName reports whether name can name a profile: 1-64 letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func ValidProfileName(name string) bool { return profileNameRE.MatchString(name) }

type checker struct {
	p        *Profile
	problems []Problem
}

func (c *checker) add(field, format string, args ...any) {
	line := c.p.lines[field]
	if line == 0 {
		if top, _, ok := strings.Cut(field, "."); ok {
			line = c.p.lines[top]
		}
	}
	if line == 0 {
		line = c.p.line
	}
	c.problems = append(c.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...), Line: line})
}

// Validate checks every field and returns nil or a *ValidationError listing
// all problems, each with the field name, what is wrong and what is expected.
func (p *Profile) Validate() error {
	c := &checker{p: p}
	if p.Name != "" && !ValidProfileName(p.Name) {
		c.add("name", "%q is not a valid profile name (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)", p.Name)
	}
	switch p.Provider {
	case ProviderOkta, ProviderEntraID, ProviderCognito, ProviderOIDC, ProviderSandbox:
	case "":
		c.add("provider", "missing (one of %s)", strings.Join(Providers(), ", "))
	default:
		c.add("provider", "%q is not a known provider (one of %s)", p.Provider, strings.Join(Providers(), ", "))
	}
	c.url("issuer", p.Issuer, true)
	if u, err := url.Parse(p.Issuer); err == nil && p.Issuer != "" && (u.RawQuery != "" || u.Fragment != "") {
		c.add("issuer", "%q must not have a query or fragment (it must equal the token's iss claim)", p.Issuer)
	}
	if p.Provider == ProviderEntraID && p.Issuer != "" {
		c.entraIssuer(p.Issuer)
	}
	switch {
	case p.ClientID == "":
		c.add("client_id", "missing (the OAuth client/application id registered at the IdP)")
	case strings.ContainsAny(p.ClientID, " \t\r\n"):
		c.add("client_id", "%q must not contain whitespace", p.ClientID)
	}
	if p.ClientSecretRef != "" {
		if _, err := ParseSecretRef(p.ClientSecretRef); err != nil {
			c.add("client_secret_ref", "%v", err)
		}
	}
	if len(p.Scopes) > 0 {
		hasOpenID := false
		for _, s := range p.Scopes {
			if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
				c.add("scopes", "%q is not a valid scope (no spaces or quotes; list scopes as separate items)", s)
			}
			hasOpenID = hasOpenID || s == "openid"
		}
		if !hasOpenID {
			c.add("scopes", "must include openid (tipctl needs an id_token)")
		}
	}
	if p.RedirectPort != 0 && (p.RedirectPort < 1024 || p.RedirectPort > 65535) {
		c.add("redirect_port", "%d is out of range (0 for a random port, or 1024-65535)", p.RedirectPort)
	}
	c.endpoint("idp_endpoints.authorization", p.IdP.Authorization)
	c.endpoint("idp_endpoints.token", p.IdP.Token)
	c.endpoint("idp_endpoints.device", p.IdP.Device)
	c.endpoint("idp_endpoints.revocation", p.IdP.Revocation)
	c.endpoint("idp_endpoints.userinfo", p.IdP.UserInfo)
	c.endpoint("idp_endpoints.jwks", p.IdP.JWKS)
	c.endpoint("idp_endpoints.discovery", p.IdP.Discovery)
	if d := p.IdP.Discovery; d != "" && !strings.HasSuffix(d, "/.well-known/openid-configuration") {
		c.add("idp_endpoints.discovery", "%q must end with /.well-known/openid-configuration", d)
	}

	c.appARN(p.ApplicationARN)
	c.exchangeShape(p)
	c.roleARN("enhanced_role_arn", p.EnhancedRoleARN)
	if p.ExchangeCredentials == "" && p.BridgeRoleARN != "" && p.BridgeRoleARN == p.EnhancedRoleARN {
		c.add("enhanced_role_arn", "is the same role as bridge_role_arn; the identity-enhanced role must be a separate role that trusts the bridge role")
	}
	if p.QuickSightRoleARN != "" {
		c.roleARN("quicksight_role_arn", p.QuickSightRoleARN)
	}
	c.region("region", p.Region, true)
	c.region("identity_center_region", p.IdentityCenterRegion, false)
	c.duration("bridge_session_seconds", p.BridgeSessionSeconds)
	c.duration("enhanced_session_seconds", p.EnhancedSessionSeconds)
	c.url("endpoint_url", p.EndpointURL, false)
	if p.Provider == ProviderSandbox && p.EndpointURL == "" {
		c.add("endpoint_url", "missing: a sandbox profile needs the sandbox URL (printed by `tipctl sandbox`, e.g. http://127.0.0.1:4566)")
	}
	c.sessionName(p.RoleSessionName)
	if p.BaseAWSProfile != "" && strings.ContainsAny(p.BaseAWSProfile, " \t\r\n[]") {
		c.add("base_aws_profile", "%q is not an AWS profile name (no spaces or brackets)", p.BaseAWSProfile)
	}
	if p.SandboxAdminKeyID != "" || p.SandboxAdminSecretKey != "" {
		switch {
		case p.Provider != ProviderSandbox:
			c.add("sandbox_admin_key_id", "sandbox admin keys are only allowed in sandbox profiles; for real accounts name an AWS CLI profile in base_aws_profile instead")
		case p.SandboxAdminKeyID == "":
			c.add("sandbox_admin_key_id", "missing while sandbox_admin_secret_key is set (set both, e.g. test/test, or neither)")
		case p.SandboxAdminSecretKey == "":
			c.add("sandbox_admin_secret_key", "missing while sandbox_admin_key_id is set (set both, e.g. test/test, or neither)")
		}
	}
	if len(c.problems) == 0 {
		return nil
	}
	return &ValidationError{Profile: p.Name, Problems: c.problems}
}

// Warnings returns advice about a valid profile that will probably fail at
// run time.
func (p *Profile) Warnings() []string {
	var w []string
	if p.EnhancedSessionSeconds > 3600 {
		w = append(w, fmt.Sprintf("enhanced_session_seconds is %d, but the identity-enhanced role is assumed from the bridge role session (role chaining), which AWS caps at 3600 seconds; AssumeRole will be refused", p.EnhancedSessionSeconds))
	}
	if p.Provider != ProviderSandbox && p.EndpointURL != "" {
		w = append(w, fmt.Sprintf("endpoint_url %s sends every AWS call to a non-default endpoint", p.EndpointURL))
	}
	return w
}

// checkURL validates an absolute http(s) URL: https, or http to a loopback
// host. The message never echoes userinfo.
func checkURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Sprintf("%q is not an absolute URL (want https://host/...)", v)
	}
	if u.User != nil {
		return "must not embed a user name or password (user:pass@host); remove it"
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return fmt.Sprintf("%q must use https (plain http is only allowed to loopback hosts such as 127.0.0.1 or localhost)", v)
		}
	default:
		return fmt.Sprintf("%q has scheme %q (want https)", v, u.Scheme)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q has an invalid port", v)
		}
	}
	return ""
}

// IsLoopback reports whether host (no port) is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *checker) url(field, v string, required bool) {
	if v == "" {
		if required {
			c.add(field, "missing (an https:// URL)")
		}
		return
	}
	if msg := checkURL(v); msg != "" {
		c.add(field, "%s", msg)
	}
}

func (c *checker) endpoint(field, v string) { c.url(field, v, false) }

func (c *checker) entraIssuer(iss string) {
	u, err := url.Parse(iss)
	if err != nil {
		return
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) == 0 {
		return
	}
	switch strings.ToLower(parts[0]) {
	case "common", "organizations", "consumers":
		c.add("issuer", "%q uses the multi-tenant alias %q; Identity Center trusts one tenant, so use https://login.microsoftonline.com/<tenant GUID>/v2.0", iss, parts[0])
	}
}

func (c *checker) region(field, v string, required bool) {
	if v == "" {
		if required {
			c.add(field, "missing (an AWS region such as us-east-1)")
		}
		return
	}
	if !regionRE.MatchString(v) {
		c.add(field, "%q is not an AWS region (want a name such as us-east-1 or eu-central-1)", v)
	}
}

func (c *checker) duration(field string, v int) {
	if v != 0 && (v < MinSessionSeconds || v > MaxSessionSeconds) {
		c.add(field, "%d seconds is out of range (%d-%d, or 0 for the default)", v, MinSessionSeconds, MaxSessionSeconds)
	}
}

func (c *checker) roleARN(field, v string) {
	if v == "" {
		c.add(field, "missing (an IAM role ARN, arn:aws:iam::<account id>:role/<name>)")
		return
	}
	if roleARNRE.MatchString(v) {
		return
	}
	parts := strings.SplitN(v, ":", 6)
	switch {
	case len(parts) == 6 && parts[2] == "sts" && strings.HasPrefix(parts[5], "assumed-role/"):
		c.add(field, "%q is an assumed-role session ARN; use the role's ARN, arn:aws:iam::%s:role/<name>", v, parts[4])
	case len(parts) == 6 && parts[2] == "iam" && !accountRE.MatchString(parts[4]):
		c.add(field, "%q: the account id %q must be 12 digits", v, parts[4])
	case len(parts) == 6 && parts[2] == "iam" && !strings.HasPrefix(parts[5], "role/"):
		c.add(field, "%q is an IAM ARN but not a role (want arn:aws:iam::%s:role/<name>)", v, parts[4])
	case !strings.HasPrefix(v, "arn:"):
		c.add(field, "%q is not an ARN (want arn:aws:iam::<12-digit account id>:role/<name>)", v)
	default:
		c.add(field, "%q is not an IAM role ARN (want arn:aws:iam::<12-digit account id>:role/<name>, name up to 64 characters of letters, digits and +=,.@_-)", v)
	}
}

func (c *checker) appARN(v string) {
	const field = "application_arn"
	const want = "arn:aws:sso::<12-digit account id>:application/ssoins-<16 chars>/apl-<16 chars>"
	if v == "" {
		c.add(field, "missing (the Identity Center customer-managed application ARN, %s)", want)
		return
	}
	if appARNRE.MatchString(v) {
		return
	}
	switch {
	case strings.Contains(v, ":instance/"):
		c.add(field, "%q is the Identity Center instance ARN; use the application's ARN (%s)", v, want)
	case strings.Contains(v, ":iam::"):
		c.add(field, "%q is an IAM ARN; use the Identity Center application's ARN (%s)", v, want)
	default:
		c.add(field, "%q is not an Identity Center application ARN (want %s)", v, want)
	}
}

func (c *checker) sessionName(tmpl string) {
	if tmpl == "" {
		return
	}
	for _, m := range placeholderRE.FindAllString(tmpl, -1) {
		if !sessionPlaceholders[m[1:len(m)-1]] {
			c.add("role_session_name", "unknown placeholder %s (known: {user} {email} {sub} {profile})", m)
		}
	}
	lit := placeholderRE.ReplaceAllString(tmpl, "")
	if !sessionLitRE.MatchString(lit) {
		c.add("role_session_name", "%q has characters STS refuses in a session name (allowed: letters, digits and +=,.@_-)", tmpl)
	}
	if len(lit) > 64 {
		c.add("role_session_name", "is longer than 64 characters")
	}
}
