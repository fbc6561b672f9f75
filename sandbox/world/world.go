// Package world declares the sandbox's universe: the account, the IdP, IAM
// Identity Center, IAM, S3 and QuickSight. A world is plain YAML; Load decodes
// and validates it, reporting errors with their line and field path.
package world

import (
	"encoding/json"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// World is the whole declarative sandbox state at start-up.
type World struct {
	AccountID      string         `yaml:"account_id"`
	Region         string         `yaml:"region"`
	IdP            IdP            `yaml:"idp"`
	IdentityCenter IdentityCenter `yaml:"identity_center"`
	IAM            IAM            `yaml:"iam"`
	S3             S3             `yaml:"s3,omitempty"`
	QuickSight     QuickSight     `yaml:"quicksight,omitempty"`
	Redshift       Redshift       `yaml:"redshift,omitempty"`
	QBusiness      QBusiness      `yaml:"qbusiness,omitempty"`
	Athena         Athena         `yaml:"athena,omitempty"`
	Glue           Glue           `yaml:"glue,omitempty"`
	LakeFormation  LakeFormation  `yaml:"lake_formation,omitempty"`

	// Endpoint is the sandbox's base URL (http://127.0.0.1:PORT), set by Load.
	Endpoint string `yaml:"-"`
	// Source names the file the world came from, for error messages.
	Source string `yaml:"-"`
}

// IdP is the sandbox's own OpenID Connect provider.
type IdP struct {
	// Issuer is the issuer URL; ${endpoint} expands to the sandbox URL.
	Issuer string `yaml:"issuer"`
	// SigningKeys are RSA private keys in PEM; one is generated when empty.
	SigningKeys []SigningKey `yaml:"signing_keys,omitempty"`
	// TokenTTL is the lifetime of id and access tokens (default 1h).
	TokenTTL Duration `yaml:"token_ttl,omitempty"`
	// RefreshTTL is the lifetime of refresh tokens (default 720h).
	RefreshTTL Duration `yaml:"refresh_ttl,omitempty"`
	// RefreshReuseGrace is how long a rotated refresh token may be redeemed
	// again (a client that crashed before saving its successor); reuse
	// after it revokes the login. 0-60s, default 30s, as Okta's "grace
	// period for token rotation" and Cognito's RetryGracePeriodSeconds.
	RefreshReuseGrace *Duration   `yaml:"refresh_reuse_grace,omitempty"`
	Clients           []IdPClient `yaml:"clients"`
	Users             []IdPUser   `yaml:"users"`
}

// SigningKey is an RSA private key in PEM form with its key id.
type SigningKey struct {
	KID string `yaml:"kid"`
	PEM string `yaml:"pem"`
}

// IdPClient is an OAuth client registered at the IdP.
type IdPClient struct {
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret,omitempty"`
	// Public clients have no secret and must use PKCE S256.
	Public bool `yaml:"public"`
	// RedirectURIs are exact URIs or patterns where "*" in the port matches any
	// port (RFC 8252 loopback redirects), e.g. http://127.0.0.1:*/callback.
	RedirectURIs []string `yaml:"redirect_uris"`
	// AllowPasswordGrant enables the resource-owner password grant, for
	// sandbox automation only.
	AllowPasswordGrant bool `yaml:"allow_password_grant,omitempty"`
}

// IdPUser is a person who can sign in at the IdP.
type IdPUser struct {
	Email    string `yaml:"email"`
	Password string `yaml:"password"`
	Name     string `yaml:"name,omitempty"`
	// Subject is the stable `sub` claim; derived from the email when empty.
	Subject    string            `yaml:"subject,omitempty"`
	Groups     []string          `yaml:"groups,omitempty"`
	Attributes map[string]string `yaml:"attributes,omitempty"`
}

// IdentityCenter is the IAM Identity Center instance of the account.
type IdentityCenter struct {
	InstanceArn         string               `yaml:"instance_arn,omitempty"`
	IdentityStoreID     string               `yaml:"identity_store_id,omitempty"`
	Users               []IdCUser            `yaml:"users"`
	Groups              []IdCGroup           `yaml:"groups"`
	TrustedTokenIssuers []TrustedTokenIssuer `yaml:"trusted_token_issuers"`
	Applications        []Application        `yaml:"applications"`
	// Provisioning (sandbox only) names external issuers the directory is
	// provisioned from, as SCIM from that IdP would: a verified token of
	// the issuer for the audience, accepted by an application's jwt-bearer
	// grant, creates its user on first sight when no user matches
	// (tipctl sandbox --bare --trust-issuer URL --audience AUD).
	Provisioning []Provisioning `yaml:"provisioning,omitempty"`
}

// Provisioning is an external issuer whose people are created in the
// identity store on first sight (user name and email from the claim the
// trusted token issuer maps to emails.value, groups that exist from the
// groups claim).
type Provisioning struct {
	Issuer      string `yaml:"issuer"`
	Audience    string `yaml:"audience"`
	GroupsClaim string `yaml:"groups_claim,omitempty"`
}

// IdCUser is a user of the identity store.
type IdCUser struct {
	UserName    string       `yaml:"user_name"`
	DisplayName string       `yaml:"display_name,omitempty"`
	GivenName   string       `yaml:"given_name,omitempty"`
	FamilyName  string       `yaml:"family_name,omitempty"`
	Email       string       `yaml:"email"`
	UserID      string       `yaml:"user_id,omitempty"`
	ExternalIDs []ExternalID `yaml:"external_ids,omitempty"`
}

// ExternalID links an identity-store user to an external identity.
type ExternalID struct {
	Issuer string `yaml:"issuer"`
	ID     string `yaml:"id"`
}

// IdCGroup is a group of the identity store; Members are user names.
type IdCGroup struct {
	Name        string   `yaml:"name"`
	GroupID     string   `yaml:"group_id,omitempty"`
	Description string   `yaml:"description,omitempty"`
	Members     []string `yaml:"members"`
}

// TrustedTokenIssuer maps an external issuer's claim to an identity-store attribute.
type TrustedTokenIssuer struct {
	Name string `yaml:"name"`
	Arn  string `yaml:"arn,omitempty"`
	// IssuerURL must equal the `iss` claim of accepted tokens.
	IssuerURL string `yaml:"issuer_url"`
	// ClaimAttributePath is the token claim to read, e.g. "email".
	ClaimAttributePath string `yaml:"claim_attribute_path"`
	// IdentityStoreAttributePath is the user attribute it must equal,
	// e.g. "emails.value", "userName" or "externalIds.id".
	IdentityStoreAttributePath string `yaml:"identity_store_attribute_path"`
	// CreateUsers (sandbox only; what SCIM provisioning does for a real
	// instance) creates the Identity Center user on first sight of a token
	// whose email claim matches nobody, in the groups its GroupsClaim
	// (default "groups") names that exist.
	CreateUsers bool   `yaml:"create_users,omitempty"`
	GroupsClaim string `yaml:"groups_claim,omitempty"`
}

// Application is a customer-managed OAuth application in Identity Center.
type Application struct {
	Name string `yaml:"name"`
	Arn  string `yaml:"arn,omitempty"`
	// Status is ENABLED or DISABLED (default ENABLED).
	Status string `yaml:"status,omitempty"`
	// ProviderArn defaults to arn:aws:sso::aws:applicationProvider/custom.
	ProviderArn        string           `yaml:"provider_arn,omitempty"`
	JWTBearer          []JWTBearerGrant `yaml:"jwt_bearer"`
	RefreshTokenGrant  bool             `yaml:"refresh_token_grant,omitempty"`
	Scopes             []string         `yaml:"scopes"`
	AssignmentRequired bool             `yaml:"assignment_required"`
	Assignments        []Assignment     `yaml:"assignments,omitempty"`
	// ActorPolicy says which IAM principals may call CreateTokenWithIAM.
	ActorPolicy Policy `yaml:"actor_policy"`
	Description string `yaml:"description,omitempty"`
	// AuthorizationCode is the authorization_code grant, when put.
	AuthorizationCode *AuthorizationCodeGrant `yaml:"authorization_code,omitempty"`
	// TokenExchangeGrant enables urn:ietf:params:oauth:grant-type:token-exchange.
	TokenExchangeGrant bool `yaml:"token_exchange_grant,omitempty"`
	// ScopeTargets lists a scope's authorized targets (application ARNs).
	ScopeTargets map[string][]string `yaml:"scope_targets,omitempty"`
}

// AuthorizationCodeGrant is an application's authorization_code grant.
type AuthorizationCodeGrant struct {
	RedirectURIs []string `yaml:"redirect_uris"`
}

// JWTBearerGrant authorizes one trusted token issuer for some audiences.
type JWTBearerGrant struct {
	// TrustedTokenIssuer is the issuer's name or ARN.
	TrustedTokenIssuer string   `yaml:"trusted_token_issuer"`
	Audiences          []string `yaml:"audiences"`
}

// Assignment assigns a USER or GROUP (by user name / group name) to an application.
type Assignment struct {
	PrincipalType string `yaml:"principal_type"`
	Principal     string `yaml:"principal"`
}

// IAM holds users, OIDC providers and roles.
type IAM struct {
	Users         []IAMUser      `yaml:"users"`
	OIDCProviders []OIDCProvider `yaml:"oidc_providers"`
	Roles         []Role         `yaml:"roles"`
	// ManagedPolicies are customer-managed policies (CreatePolicy).
	ManagedPolicies []ManagedPolicy `yaml:"managed_policies,omitempty"`
}

// ManagedPolicy is a customer-managed policy with its default version.
type ManagedPolicy struct {
	Name        string `yaml:"name"`
	Path        string `yaml:"path,omitempty"`
	Description string `yaml:"description,omitempty"`
	Document    Policy `yaml:"document"`
}

// NamedPolicy is an inline policy with its name.
type NamedPolicy struct {
	Name     string `yaml:"name"`
	Document Policy `yaml:"document"`
}

// IAMUser is a long-term IAM identity with access keys.
type IAMUser struct {
	Name       string      `yaml:"name"`
	AccessKeys []AccessKey `yaml:"access_keys"`
	Policies   []Policy    `yaml:"policies"`
}

// AccessKey is a long-term access key pair.
type AccessKey struct {
	ID     string `yaml:"id"`
	Secret string `yaml:"secret"`
}

// OIDCProvider is an IAM OpenID Connect identity provider.
type OIDCProvider struct {
	// URL is the issuer URL; the provider ARN uses it without the scheme.
	URL         string   `yaml:"url"`
	ClientIDs   []string `yaml:"client_ids"`
	Thumbprints []string `yaml:"thumbprints,omitempty"`
}

// Role is an IAM role.
type Role struct {
	Name        string `yaml:"name"`
	Path        string `yaml:"path,omitempty"`
	Description string `yaml:"description,omitempty"`
	TrustPolicy Policy `yaml:"trust_policy"`
	// Policies are the role's permission policies.
	Policies []Policy `yaml:"policies"`
	// MaxSessionDuration in seconds, 3600 to 43200 (default 3600).
	MaxSessionDuration int `yaml:"max_session_duration,omitempty"`
	// InlinePolicies are named inline policies (PutRolePolicy).
	InlinePolicies []NamedPolicy `yaml:"inline_policies,omitempty"`
	// ManagedPolicies are the ARNs of attached managed policies.
	ManagedPolicies []string          `yaml:"managed_policies,omitempty"`
	Tags            map[string]string `yaml:"tags,omitempty"`
}

// Policy is an IAM policy document; in YAML it is either a mapping or a
// string holding JSON. JSON holds the document as JSON.
type Policy struct {
	JSON json.RawMessage
	line int
}

// UnmarshalYAML accepts a mapping or a JSON string.
func (p *Policy) UnmarshalYAML(n *yaml.Node) error {
	p.line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			p.JSON = nil
			return nil
		}
		if !json.Valid([]byte(n.Value)) {
			return fmt.Errorf("line %d: policy string is not valid JSON", n.Line)
		}
		p.JSON = json.RawMessage(n.Value)
		return nil
	case yaml.MappingNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: policy: %v", n.Line, err)
		}
		p.JSON = b
		return nil
	}
	return fmt.Errorf("line %d: a policy must be a mapping or a JSON string", n.Line)
}

// MarshalYAML writes the policy back as a mapping.
func (p Policy) MarshalYAML() (any, error) {
	if len(p.JSON) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(p.JSON, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// IsZero reports whether no policy was given.
func (p Policy) IsZero() bool { return len(p.JSON) == 0 }

// S3 declares buckets, objects and the account's Access Grants instance.
type S3 struct {
	Buckets      []Bucket     `yaml:"buckets,omitempty"`
	AccessGrants AccessGrants `yaml:"access_grants,omitempty"`
}

// Bucket is an S3 bucket with its initial objects.
type Bucket struct {
	Name    string   `yaml:"name"`
	Objects []Object `yaml:"objects,omitempty"`
}

// Object is an initial S3 object.
type Object struct {
	Key         string `yaml:"key"`
	ContentType string `yaml:"content_type,omitempty"`
	Content     string `yaml:"content"`
}

// AccessGrants is the account's S3 Access Grants instance.
type AccessGrants struct {
	// IdentityCenterArn associates the instance with Identity Center
	// (defaults to the world's instance when grants name directory grantees).
	IdentityCenterArn string     `yaml:"identity_center_arn,omitempty"`
	Locations         []Location `yaml:"locations,omitempty"`
	Grants            []Grant    `yaml:"grants,omitempty"`
	// NoInstance says the account has no Access Grants instance (the
	// default is one, which holds the locations and grants).
	NoInstance bool `yaml:"no_instance,omitempty"`
	// NoIdentityCenter says the instance is not associated with Identity Center.
	NoIdentityCenter bool `yaml:"no_identity_center,omitempty"`
	// ResourcePolicy is the instance's resource policy.
	ResourcePolicy Policy `yaml:"resource_policy,omitempty"`
}

// Location is a registered Access Grants location.
type Location struct {
	// ID defaults to an id derived from the scope ("default" for s3://).
	ID      string `yaml:"id,omitempty"`
	Scope   string `yaml:"scope"`
	IAMRole string `yaml:"iam_role"`
}

// Grant gives a grantee a permission on a target.
type Grant struct {
	// ID defaults to an id derived from the grant.
	ID string `yaml:"id,omitempty"`
	// Grantee is "user:<user name>", "group:<group name>" or "iam:<principal ARN>".
	Grantee string `yaml:"grantee"`
	// Permission is READ, WRITE or READWRITE.
	Permission string `yaml:"permission"`
	// Target is an S3 URI, e.g. s3://bucket/prefix/*.
	Target string `yaml:"target"`
}

// Duration is a time.Duration written as a Go duration string ("1h").
type Duration time.Duration

// UnmarshalYAML parses a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 15m or 1h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
