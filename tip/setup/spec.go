package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// Spec is a tip-setup.yaml file: the AWS side of trusted identity
// propagation for one IdP, declared.
type Spec struct {
	// Region of IAM Identity Center, STS and S3 Access Grants.
	Region string `yaml:"region"`
	// Endpoint, when set, receives every AWS call (the sandbox).
	Endpoint string  `yaml:"endpoint_url,omitempty"`
	IdP      SpecIdP `yaml:"idp"`
	Roles    Roles   `yaml:"roles"`
	// IdentityCenter is the trusted token issuer and the application.
	IdentityCenter IdentityCenter `yaml:"identity_center"`
	// AccessGrants is optional.
	AccessGrants *AccessGrants `yaml:"access_grants,omitempty"`
	// Profile is the tipctl profile apply writes.
	Profile SpecProfile `yaml:"profile"`

	lines map[string]int
}

// SpecIdP is the IdP whose tokens are trusted.
type SpecIdP struct {
	Issuer     string   `yaml:"issuer"`
	Audiences  []string `yaml:"audiences"`
	Thumbprint string   `yaml:"thumbprint,omitempty"`
	// ClaimMapping maps a token claim to an Identity Center user attribute.
	ClaimMapping ClaimMapping `yaml:"claim_mapping"`
}

// ClaimMapping is the trusted token issuer's attribute mapping.
type ClaimMapping struct {
	Claim             string `yaml:"claim"`
	IdentityStorePath string `yaml:"identity_store_attribute"`
}

// Roles are the IAM roles setup owns.
type Roles struct {
	Bridge   RoleSpec  `yaml:"bridge"`
	Enhanced RoleSpec  `yaml:"enhanced"`
	Snapshot *RoleSpec `yaml:"quicksight_snapshot,omitempty"`
}

// RoleSpec is one role.
type RoleSpec struct {
	Name              string   `yaml:"name"`
	MaxSessionSeconds int      `yaml:"max_session_seconds,omitempty"`
	Services          []string `yaml:"services,omitempty"`
}

// IdentityCenter names the trusted token issuer and the application.
type IdentityCenter struct {
	InstanceArn        string      `yaml:"instance_arn,omitempty"`
	TrustedTokenIssuer string      `yaml:"trusted_token_issuer"`
	Application        Application `yaml:"application"`
}

// Application is the customer managed application.
type Application struct {
	Name               string   `yaml:"name"`
	Scopes             []string `yaml:"scopes"`
	AssignmentRequired bool     `yaml:"assignment_required"`
	AssignedGroups     []string `yaml:"assigned_groups,omitempty"`
}

// AccessGrants is the S3 Access Grants part.
type AccessGrants struct {
	LocationRole string      `yaml:"location_role"`
	Locations    []string    `yaml:"locations"`
	Grants       []GrantSpec `yaml:"grants"`
}

// GrantSpec grants a group access to an S3 prefix.
type GrantSpec struct {
	Group      string `yaml:"group"`
	Permission string `yaml:"permission"`
	Target     string `yaml:"target"`
}

// SpecProfile is the tipctl profile apply writes.
type SpecProfile struct {
	Name           string `yaml:"name"`
	Provider       string `yaml:"provider"`
	BaseAWSProfile string `yaml:"base_aws_profile,omitempty"`
}

// SpecError is a problem in the file, with its line (0 when unknown).
type SpecError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *SpecError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return loc + ": " + e.Msg
}

var (
	scopeRe   = lazyre.New(`^[a-zA-Z0-9_:.\-]{1,80}$`)
	appNameRe = lazyre.New(`^[\w+=,.@-]{1,255}$`)
	s3TargetR = lazyre.New(`^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\x00-\x1f]*)?$`)
)

// MaxSpecBytes bounds the file.
const MaxSpecBytes = 1 << 20

// ParseSpec reads and validates a tip-setup.yaml; name is used in errors.
func ParseSpec(data []byte, name string) (*Spec, error) {
	if len(data) > MaxSpecBytes {
		return nil, &SpecError{File: name, Msg: "the file is larger than 1 MiB"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &SpecError{File: name, Msg: "the file is empty; write one with `tipctl setup init`"}
		}
		return nil, yamlError(name, err)
	}
	s.lines = map[string]int{}
	if len(root.Content) > 0 {
		collectLines(root.Content[0], "", s.lines)
	}
	if err := s.validate(name); err != nil {
		return nil, err
	}
	return &s, nil
}

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into a SpecError.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	line := 0
	if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return &SpecError{File: name, Line: line, Msg: msg}
}

// collectLines records the line of every key path (a.b.0.c).
func collectLines(n *yaml.Node, prefix string, out map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prefix != "" {
				k = prefix + "." + k
			}
			out[k] = n.Content[i].Line
			collectLines(n.Content[i+1], k, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			k := fmt.Sprintf("%s.%d", prefix, i)
			out[k] = c.Line
			collectLines(c, k, out)
		}
	}
}

func (s *Spec) fail(file, key, format string, a ...any) error {
	line := 0
	for k := key; k != ""; {
		if l, ok := s.lines[k]; ok {
			line = l
			break
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return &SpecError{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, a...)}
}

// loopbackHTTP reports whether u is an http URL on a loopback host (the sandbox).
func loopbackHTTP(u *url.URL) bool {
	h := u.Hostname()
	ip := net.ParseIP(h)
	return u.Scheme == "http" && (h == "localhost" || (ip != nil && ip.IsLoopback()))
}

func (s *Spec) validate(f string) error {
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	if !regionRe.MatchString(s.Region) {
		return s.fail(f, "region", "%q is not an AWS region (for example us-east-1)", s.Region)
	}
	if s.Endpoint != "" {
		u, err := url.Parse(s.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || hasControl(s.Endpoint) {
			return s.fail(f, "endpoint_url", "%q is not an http(s) URL", s.Endpoint)
		}
		s.Endpoint = strings.TrimRight(s.Endpoint, "/")
	}
	u, err := url.Parse(s.IdP.Issuer)
	switch {
	case s.IdP.Issuer == "":
		return s.fail(f, "idp.issuer", "required: the iss claim of your IdP's tokens")
	case err != nil || u.Host == "" || hasControl(s.IdP.Issuer) || len(s.IdP.Issuer) > 255:
		return s.fail(f, "idp.issuer", "%q is not a URL", s.IdP.Issuer)
	case u.Scheme != "https" && !loopbackHTTP(u):
		return s.fail(f, "idp.issuer", "IAM and Identity Center need an https:// issuer (http only for a loopback sandbox)")
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return s.fail(f, "idp.issuer", "the issuer must not have a query, fragment or user info")
	}
	if len(s.IdP.Audiences) == 0 {
		return s.fail(f, "idp.audiences", "at least one audience is required (the aud claim, usually the client id)")
	}
	for i, a := range s.IdP.Audiences {
		if a == "" || len(a) > 255 || hasControl(a) {
			return s.fail(f, fmt.Sprintf("idp.audiences.%d", i), "an audience is 1-255 printable characters")
		}
	}
	if s.IdP.Thumbprint != "" {
		if !thumbprintRe.MatchString(s.IdP.Thumbprint) {
			return s.fail(f, "idp.thumbprint", "a thumbprint is 40 hexadecimal digits")
		}
		s.IdP.Thumbprint = strings.ToLower(s.IdP.Thumbprint)
	}
	cm := &s.IdP.ClaimMapping
	if cm.Claim == "" {
		cm.Claim = "email"
	}
	if cm.IdentityStorePath == "" {
		cm.IdentityStorePath = "emails.value"
	}
	if hasControl(cm.Claim) || len(cm.Claim) > 255 {
		return s.fail(f, "idp.claim_mapping.claim", "a claim name is 1-255 printable characters")
	}
	switch cm.IdentityStorePath {
	case "emails.value", "userName", "externalIds.value", "id":
	default:
		return s.fail(f, "idp.claim_mapping.identity_store_attribute", "%q is not an Identity Center attribute (use emails.value, userName, externalIds.value or id)", cm.IdentityStorePath)
	}
	roles := []struct {
		key string
		r   *RoleSpec
		def string
	}{{"roles.bridge", &s.Roles.Bridge, DefaultBridgeRoleName}, {"roles.enhanced", &s.Roles.Enhanced, DefaultEnhancedRoleName}}
	if s.Roles.Snapshot != nil {
		roles = append(roles, struct {
			key string
			r   *RoleSpec
			def string
		}{"roles.quicksight_snapshot", s.Roles.Snapshot, "tip-quicksight-snapshots"})
	}
	names := map[string]bool{}
	for _, r := range roles {
		if r.r.Name == "" {
			r.r.Name = r.def
		}
		if !roleNameRe.MatchString(r.r.Name) {
			return s.fail(f, r.key+".name", "%q is not a valid IAM role name", r.r.Name)
		}
		if names[r.r.Name] {
			return s.fail(f, r.key+".name", "role %s is named twice", r.r.Name)
		}
		names[r.r.Name] = true
		if r.r.MaxSessionSeconds == 0 {
			r.r.MaxSessionSeconds = 3600
		}
		if r.r.MaxSessionSeconds < 3600 || r.r.MaxSessionSeconds > 43200 {
			return s.fail(f, r.key+".max_session_seconds", "IAM allows 3600 to 43200 seconds")
		}
		if r.key != "roles.enhanced" && len(r.r.Services) > 0 {
			return s.fail(f, r.key+".services", "only the enhanced role takes services")
		}
	}
	o := TemplateOptions{Issuer: "https://x", Audience: "x", Services: s.Roles.Enhanced.Services}
	if err := o.Validate(); err != nil {
		return s.fail(f, "roles.enhanced.services", "%s", err.(*OptionError).Msg)
	}
	s.Roles.Enhanced.Services = o.Services
	ic := &s.IdentityCenter
	if ic.InstanceArn != "" && !strings.HasPrefix(ic.InstanceArn, "arn:aws:sso:::instance/") {
		return s.fail(f, "identity_center.instance_arn", "%q is not an Identity Center instance ARN", ic.InstanceArn)
	}
	if ic.TrustedTokenIssuer == "" {
		ic.TrustedTokenIssuer = "tipctl-idp"
	}
	if !appNameRe.MatchString(ic.TrustedTokenIssuer) {
		return s.fail(f, "identity_center.trusted_token_issuer", "%q is not a valid name", ic.TrustedTokenIssuer)
	}
	if ic.Application.Name == "" {
		ic.Application.Name = "tipctl"
	}
	if !appNameRe.MatchString(ic.Application.Name) {
		return s.fail(f, "identity_center.application.name", "%q is not a valid application name", ic.Application.Name)
	}
	for i, sc := range ic.Application.Scopes {
		if !scopeRe.MatchString(sc) {
			return s.fail(f, fmt.Sprintf("identity_center.application.scopes.%d", i), "%q is not a scope (for example s3:access_grants:read_write)", sc)
		}
	}
	for i, g := range ic.Application.AssignedGroups {
		if g == "" || len(g) > 1024 || hasControl(g) {
			return s.fail(f, fmt.Sprintf("identity_center.application.assigned_groups.%d", i), "a group display name is 1-1024 printable characters")
		}
	}
	if ag := s.AccessGrants; ag != nil {
		if ag.LocationRole == "" {
			ag.LocationRole = "tip-s3ag-location"
		}
		if !roleNameRe.MatchString(ag.LocationRole) || names[ag.LocationRole] {
			return s.fail(f, "access_grants.location_role", "%q is not a valid, unused IAM role name", ag.LocationRole)
		}
		if len(ag.Locations) == 0 {
			return s.fail(f, "access_grants.locations", "at least one location is required, for example s3://my-bucket/")
		}
		for i, l := range ag.Locations {
			if !s3TargetR.MatchString(l) {
				return s.fail(f, fmt.Sprintf("access_grants.locations.%d", i), "%q is not an S3 location (s3://bucket/ or s3://bucket/prefix/)", l)
			}
		}
		for i, g := range ag.Grants {
			k := fmt.Sprintf("access_grants.grants.%d", i)
			if g.Group == "" || hasControl(g.Group) {
				return s.fail(f, k+".group", "the group's display name is required")
			}
			ag.Grants[i].Permission = strings.ToUpper(g.Permission)
			switch ag.Grants[i].Permission {
			case "READ", "WRITE", "READWRITE":
			default:
				return s.fail(f, k+".permission", "%q is not READ, WRITE or READWRITE", g.Permission)
			}
			if !s3TargetR.MatchString(g.Target) {
				return s.fail(f, k+".target", "%q is not an S3 target (s3://bucket/prefix/*)", g.Target)
			}
			if locationOf(ag.Locations, g.Target) == "" {
				return s.fail(f, k+".target", "%s is under none of the locations", g.Target)
			}
		}
	}
	if s.Profile.Name == "" {
		s.Profile.Name = "default"
	}
	if s.Profile.Provider == "" {
		s.Profile.Provider = "oidc"
	}
	return nil
}

var regionRe = lazyre.New(`^[a-z]{2}(-[a-z]+)+-\d$`)

// locationOf returns the longest location whose scope contains target.
func locationOf(locations []string, target string) string {
	best := ""
	for _, l := range locations {
		scope := strings.TrimSuffix(l, "*")
		if strings.HasPrefix(target, scope) || scope == "s3://" {
			if len(scope) > len(best) {
				best = l
			}
		}
	}
	return best
}
