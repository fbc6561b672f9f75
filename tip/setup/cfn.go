package setup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// Template services: each adds a least-privilege policy to the
// identity-enhanced role.
const (
	ServiceAthena       = "athena"
	ServiceRedshiftData = "redshift-data"
	ServiceS3AG         = "s3ag"
	ServiceQuickSight   = "quicksight"
	ServiceQBusiness    = "qbusiness"
)

// TemplateServices lists the services a template can grant.
func TemplateServices() []string {
	return []string{ServiceAthena, ServiceRedshiftData, ServiceS3AG, ServiceQuickSight, ServiceQBusiness}
}

// Template defaults.
const (
	DefaultBridgeRoleName   = "tip-bridge"
	DefaultEnhancedRoleName = "tip-enhanced"
)

// TemplateOptions describe the AWS side of one IdP.
type TemplateOptions struct {
	// Issuer is the IdP's issuer URL, exactly as in the tokens' iss claim.
	Issuer string
	// Audience is the tokens' aud claim (the IdP client id).
	Audience string
	// Thumbprint is the SHA-1 (40 hex digits) of the top intermediate CA
	// of the issuer's TLS chain; empty leaves ThumbprintList out (AWS then
	// relies on its trusted root CAs).
	Thumbprint string
	// SubjectClaim, when set, restricts the bridge role to tokens whose
	// sub claim equals it.
	SubjectClaim string
	// Services adds their permissions to the identity-enhanced role.
	Services []string
	// BridgeRoleName and EnhancedRoleName are the parameters' defaults.
	BridgeRoleName   string
	EnhancedRoleName string
	// applicationArn, when set, is the one application the bridge role
	// may exchange tokens with (a template expression), in place of the
	// IdentityCenterApplicationArn parameter.
	applicationArn any
}

// OptionError is a bad template option.
type OptionError struct {
	Option string
	Msg    string
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Msg }

var (
	thumbprintRe = lazyre.New(`^[0-9a-fA-F]{40}$`)
	roleNameRe   = lazyre.New(`^[\w+=,.@-]{1,64}$`)
)

// IssuerHostPath is the issuer URL without its scheme and trailing slash:
// the suffix of the OIDC provider ARN and the prefix of its condition keys.
func IssuerHostPath(issuer string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(issuer, "https://"), "http://")
	return strings.TrimSuffix(s, "/")
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// Validate checks the options and fills defaults.
func (o *TemplateOptions) Validate() error {
	u, err := url.Parse(o.Issuer)
	switch {
	case o.Issuer == "":
		return &OptionError{"issuer", "the issuer URL is required (the iss claim of your IdP's tokens)"}
	case err != nil || u.Host == "" || hasControl(o.Issuer):
		return &OptionError{"issuer", fmt.Sprintf("%q is not a URL", o.Issuer)}
	case u.Scheme != "https":
		return &OptionError{"issuer", "IAM OIDC providers need an https:// issuer URL"}
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return &OptionError{"issuer", "the issuer URL must not have a query, fragment or user info"}
	case len(o.Issuer) > 255:
		return &OptionError{"issuer", "IAM accepts issuer URLs of at most 255 characters"}
	}
	switch {
	case o.Audience == "":
		return &OptionError{"audience", "the audience is required (the aud claim of your IdP's tokens, usually the client id)"}
	case len(o.Audience) > 255 || hasControl(o.Audience):
		return &OptionError{"audience", "an audience is 1-255 printable characters"}
	}
	if o.Thumbprint != "" {
		if !thumbprintRe.MatchString(o.Thumbprint) {
			return &OptionError{"thumbprint", "a thumbprint is 40 hexadecimal digits (the SHA-1 of a certificate)"}
		}
		o.Thumbprint = strings.ToLower(o.Thumbprint)
	}
	if hasControl(o.SubjectClaim) || len(o.SubjectClaim) > 255 {
		return &OptionError{"subject-claim", "the subject is 1-255 printable characters"}
	}
	seen := map[string]bool{}
	var svcs []string
	for _, s := range o.Services {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" || seen[s] {
			continue
		}
		if !contains(TemplateServices(), s) {
			return &OptionError{"services", fmt.Sprintf("unknown service %q (use %s)", s, strings.Join(TemplateServices(), ","))}
		}
		seen[s] = true
		svcs = append(svcs, s)
	}
	order := map[string]int{}
	for i, s := range TemplateServices() {
		order[s] = i
	}
	sort.Slice(svcs, func(i, j int) bool { return order[svcs[i]] < order[svcs[j]] })
	o.Services = svcs
	if o.BridgeRoleName == "" {
		o.BridgeRoleName = DefaultBridgeRoleName
	}
	if o.EnhancedRoleName == "" {
		o.EnhancedRoleName = DefaultEnhancedRoleName
	}
	for opt, name := range map[string]string{"bridge-role-name": o.BridgeRoleName, "enhanced-role-name": o.EnhancedRoleName} {
		if !roleNameRe.MatchString(name) {
			return &OptionError{opt, fmt.Sprintf("%q is not a valid IAM role name", name)}
		}
	}
	return nil
}

// Intrinsic functions in their long form, which is valid YAML and JSON alike.
func ref(name string) M           { return M{{"Ref", name}} }
func getAtt(res, attr string) M   { return M{{"Fn::GetAtt", []string{res, attr}}} }
func sub(s string) M              { return M{{"Fn::Sub", s}} }
func policyDoc(statements ...M) M { return M{{"Version", "2012-10-17"}, {"Statement", statements}} }
func allow(sid string, actions []string, resource any) M {
	return M{{"Sid", sid}, {"Effect", "Allow"}, {"Action", actions}, {"Resource", resource}}
}

// servicePolicy is the least-privilege policy of one template service
// (the shared builder, with Fn::Sub ARNs).
func servicePolicy(svc string) M {
	return M{{"PolicyName", "tip-" + svc}, {"PolicyDocument", EnhancedServicePolicy(svc, templateArns)}}
}

// Template builds the CloudFormation template: Parameters, the OIDC
// provider, the bridge role, the identity-enhanced role and Outputs.
func Template(o TemplateOptions) (M, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	hp := IssuerHostPath(o.Issuer)
	params := M{
		{"Audience", M{{"Type", "String"}, {"Default", o.Audience}, {"MinLength", 1}, {"MaxLength", 255},
			{"Description", "The aud claim of the IdP's tokens (the OIDC client id). It must also be an authorized audience of the trusted token issuer in IAM Identity Center."}}},
		{"BridgeRoleName", M{{"Type", "String"}, {"Default", o.BridgeRoleName}, {"AllowedPattern", `[\w+=,.@-]{1,64}`},
			{"Description", "Name of the bridge role (assumed with the IdP token)."}}},
		{"EnhancedRoleName", M{{"Type", "String"}, {"Default", o.EnhancedRoleName}, {"AllowedPattern", `[\w+=,.@-]{1,64}`},
			{"Description", "Name of the identity-enhanced role (assumed with the Identity Center identity context)."}}},
		{"EnhancedSessionSeconds", M{{"Type", "Number"}, {"Default", 3600}, {"MinValue", 3600}, {"MaxValue", 43200},
			{"Description", "Maximum session duration of the identity-enhanced role, in seconds."}}},
	}

	appArn := o.applicationArn
	if appArn == nil {
		params = append(M{params[0], {"IdentityCenterApplicationArn", M{{"Type", "String"}, {"Default", "*"},
			{"Description", "ARN of the IAM Identity Center customer managed application the bridge role exchanges tokens with; * allows any."}}}}, params[1:]...)
		appArn = ref("IdentityCenterApplicationArn")
	}

	provider := M{{"Url", o.Issuer}, {"ClientIdList", []M{ref("Audience")}}}
	if o.Thumbprint != "" {
		provider = append(provider, KV{"ThumbprintList", []string{o.Thumbprint}})
	}

	bridgeTrust := BridgeTrust(ref("OIDCProvider"), hp, ref("Audience"), o.SubjectClaim)
	// The enhanced role's ARN is built from its name: a GetAtt would make
	// the two roles depend on each other.
	enhancedArn := sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${EnhancedRoleName}")
	bridgePolicy := M{{"PolicyName", "tip-token-exchange"}, {"PolicyDocument", BridgePermissions(appArn, enhancedArn)}}
	bridge := M{{"Type", "AWS::IAM::Role"}, {"Properties", M{
		{"RoleName", ref("BridgeRoleName")},
		{"Description", "tipctl bridge role: assumed with the IdP token, exchanges it with IAM Identity Center (CreateTokenWithIAM)"},
		{"MaxSessionDuration", 3600},
		{"AssumeRolePolicyDocument", bridgeTrust},
		{"Policies", []M{bridgePolicy}},
	}}}

	enhancedTrust := EnhancedTrust(getAtt("BridgeRole", "Arn"))
	enhancedProps := M{
		{"RoleName", ref("EnhancedRoleName")},
		{"Description", "tipctl identity-enhanced role: its sessions carry the person's IAM Identity Center identity"},
		{"MaxSessionDuration", ref("EnhancedSessionSeconds")},
		{"AssumeRolePolicyDocument", enhancedTrust},
	}
	if len(o.Services) > 0 {
		var pols []M
		for _, s := range o.Services {
			pols = append(pols, servicePolicy(s))
		}
		enhancedProps = append(enhancedProps, KV{"Policies", pols})
	}

	actorPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"${BridgeRole.Arn}"},"Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}`
	outputs := M{
		{"OIDCProviderArn", M{{"Description", "ARN of the IAM OIDC provider for " + o.Issuer}, {"Value", ref("OIDCProvider")}}},
		{"BridgeRoleArn", M{{"Description", "The bridge role: tipctl's bridge_role_arn"}, {"Value", getAtt("BridgeRole", "Arn")}}},
		{"EnhancedRoleArn", M{{"Description", "The identity-enhanced role: tipctl's enhanced_role_arn"}, {"Value", getAtt("EnhancedRole", "Arn")}}},
		{"IdentityCenterActorPolicy", M{
			{"Description", "Actor policy for the Identity Center application: aws sso-admin put-application-authentication-method --authentication-method-type IAM --authentication-method '{\"Iam\":{\"ActorPolicy\":<this>}}'"},
			{"Value", sub(actorPolicy)}}},
	}

	desc := "tipctl trusted identity propagation for " + o.Issuer +
		": IAM OIDC provider, bridge role and identity-enhanced role. Deploy with --capabilities CAPABILITY_NAMED_IAM."
	return M{
		{"AWSTemplateFormatVersion", "2010-09-09"},
		{"Description", truncate(desc, 1024)},
		{"Metadata", M{{"tipctl", M{{"Issuer", o.Issuer}, {"Audience", o.Audience}, {"Services", nonNilStrings(o.Services)}}}}},
		{"Parameters", params},
		{"Resources", M{
			{"OIDCProvider", M{{"Type", "AWS::IAM::OIDCProvider"}, {"Properties", provider}}},
			{"BridgeRole", bridge},
			{"EnhancedRole", M{{"Type", "AWS::IAM::Role"}, {"Properties", enhancedProps}}},
		}},
		{"Outputs", outputs},
	}, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Formats of RenderTemplate.
const (
	FormatYAML = "yaml"
	FormatJSON = "json"
)

// RenderTemplate builds the template and writes it as YAML or JSON.
func RenderTemplate(o TemplateOptions, format string) ([]byte, error) {
	t, err := Template(o)
	if err != nil {
		return nil, err
	}
	return render(t, "tipctl generate cfn-template", format)
}

// RenderExport builds the template of a setup file (ExportTemplate) and
// writes it as YAML or JSON.
func RenderExport(s *Spec, format string) ([]byte, error) {
	t, err := ExportTemplate(s)
	if err != nil {
		return nil, err
	}
	return render(t, "tipctl setup export", format)
}

func render(t M, by, format string) ([]byte, error) {
	switch format {
	case FormatYAML, "":
		var b bytes.Buffer
		b.WriteString("# Generated by " + by + ". Review it, then deploy:\n")
		b.WriteString("#   aws cloudformation deploy --template-file FILE --stack-name tipctl --capabilities CAPABILITY_NAMED_IAM\n")
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(t); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case FormatJSON:
		raw, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return nil, err
		}
		b.WriteByte('\n')
		return b.Bytes(), nil
	}
	return nil, &OptionError{"format", fmt.Sprintf("unknown format %q (use yaml or json)", format)}
}
