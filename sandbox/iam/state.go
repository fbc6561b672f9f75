// Package iam is the sandbox's IAM: users, roles and OIDC providers from the
// world (state), and the IAM read APIs (wire handlers, awsQuery).
package iam

import (
	"fmt"
	"strings"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Role is an IAM role.
type Role struct {
	Name               string
	Path               string
	Arn                string
	RoleID             string
	Description        string
	TrustJSON          string
	Trust              *iampolicy.Document
	PolicyJSON         []string
	Policies           []*iampolicy.Document
	MaxSessionDuration int
	CreateDate         time.Time
	// Inline are the named inline policies (PutRolePolicy); their parsed
	// documents are also in Policies.
	Inline []world.NamedPolicy
	// Attached are the ARNs of attached managed policies; their documents
	// are also in Policies.
	Attached []string
	Tags     map[string]string
}

// ManagedPolicy is a customer-managed policy.
type ManagedPolicy struct {
	world.ManagedPolicy
	Arn         string
	PolicyID    string
	Attachments int
	CreateDate  time.Time
}

// User is an IAM user.
type User struct {
	Name       string
	Arn        string
	UserID     string
	AccessKeys []world.AccessKey
	Policies   []*iampolicy.Document
}

// OIDCProvider is an IAM OpenID Connect provider.
type OIDCProvider struct {
	Arn string
	URL string
	// HostPath is the URL without its scheme; it prefixes condition keys
	// ("HOST/PATH:aud") and ends the ARN.
	HostPath    string
	ClientIDs   []string
	Thumbprints []string
	CreateDate  time.Time
}

// Store is the IAM state. It is rebuilt from the world on every change
// (env.Change), under the sandbox's write lock.
type Store struct {
	Account   string
	roles     map[string]*Role // by name
	users     map[string]*User
	providers map[string]*OIDCProvider // by ARN
	RoleList  []*Role
	UserList  []*User
	Providers []*OIDCProvider
	// Managed are the customer-managed policies by ARN.
	Managed map[string]*ManagedPolicy
}

// HostPath strips the scheme and trailing slash from an issuer URL.
func HostPath(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	return strings.TrimSuffix(u, "/")
}

// New builds the IAM state from a validated world.
func New(w *world.World) (*Store, error) {
	s := &Store{Account: w.AccountID, roles: map[string]*Role{}, users: map[string]*User{}, providers: map[string]*OIDCProvider{},
		Managed: map[string]*ManagedPolicy{}}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range w.IAM.ManagedPolicies {
		arn := w.ManagedPolicyArn(m)
		s.Managed[arn] = &ManagedPolicy{ManagedPolicy: m, Arn: arn, CreateDate: created,
			PolicyID: "ANPA" + strings.ToUpper(world.StableHex(17, "policy", arn))}
	}
	for _, r := range w.IAM.Roles {
		trust, err := iampolicy.Parse(r.TrustPolicy.JSON)
		if err != nil {
			return nil, fmt.Errorf("role %s: trust policy: %w", r.Name, err)
		}
		role := &Role{
			Name: r.Name, Path: r.Path, Description: r.Description,
			Arn:       fmt.Sprintf("arn:aws:iam::%s:role%s%s", w.AccountID, r.Path, r.Name),
			RoleID:    "AROA" + strings.ToUpper(world.StableHex(17, "role", r.Name)),
			TrustJSON: string(r.TrustPolicy.JSON), Trust: trust,
			MaxSessionDuration: r.MaxSessionDuration, CreateDate: created,
		}
		for _, p := range r.Policies {
			d, err := iampolicy.Parse(p.JSON)
			if err != nil {
				return nil, fmt.Errorf("role %s: policy: %w", r.Name, err)
			}
			role.Policies = append(role.Policies, d)
			role.PolicyJSON = append(role.PolicyJSON, string(p.JSON))
		}
		role.Inline, role.Attached, role.Tags = r.InlinePolicies, r.ManagedPolicies, r.Tags
		docs := make([]world.Policy, 0, len(r.InlinePolicies)+len(r.ManagedPolicies))
		for _, p := range r.InlinePolicies {
			docs = append(docs, p.Document)
		}
		for _, arn := range r.ManagedPolicies {
			m := s.Managed[arn]
			if m == nil {
				return nil, fmt.Errorf("role %s: no managed policy %s", r.Name, arn)
			}
			m.Attachments++
			docs = append(docs, m.Document)
		}
		for _, p := range docs {
			d, err := iampolicy.Parse(p.JSON)
			if err != nil {
				return nil, fmt.Errorf("role %s: policy: %w", r.Name, err)
			}
			role.Policies = append(role.Policies, d)
			role.PolicyJSON = append(role.PolicyJSON, string(p.JSON))
		}
		s.roles[r.Name] = role
		s.RoleList = append(s.RoleList, role)
	}
	for _, u := range w.IAM.Users {
		user := &User{Name: u.Name, Arn: fmt.Sprintf("arn:aws:iam::%s:user/%s", w.AccountID, u.Name),
			UserID: "AIDA" + strings.ToUpper(world.StableHex(17, "user", u.Name)), AccessKeys: u.AccessKeys}
		for _, p := range u.Policies {
			d, err := iampolicy.Parse(p.JSON)
			if err != nil {
				return nil, fmt.Errorf("user %s: policy: %w", u.Name, err)
			}
			user.Policies = append(user.Policies, d)
		}
		s.users[u.Name] = user
		s.UserList = append(s.UserList, user)
	}
	for _, o := range w.IAM.OIDCProviders {
		hp := HostPath(o.URL)
		p := &OIDCProvider{Arn: fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", w.AccountID, hp), URL: o.URL,
			HostPath: hp, ClientIDs: o.ClientIDs, Thumbprints: o.Thumbprints, CreateDate: created}
		s.providers[p.Arn] = p
		s.Providers = append(s.Providers, p)
	}
	return s, nil
}

// Replace installs the roles, providers and managed policies of n (a store
// built from a changed world); the account and the users never change.
func (s *Store) Replace(n *Store) {
	s.roles, s.RoleList, s.providers, s.Providers, s.Managed = n.roles, n.RoleList, n.providers, n.Providers, n.Managed
}

// RoleByArn finds a role by ARN (the path is ignored, as IAM does for lookups by name).
func (s *Store) RoleByArn(arn string) (*Role, bool) {
	prefix := "arn:aws:iam::" + s.Account + ":role/"
	if !strings.HasPrefix(arn, prefix) {
		return nil, false
	}
	name := arn[strings.LastIndex(arn, "/")+1:]
	r, ok := s.roles[name]
	return r, ok
}

// RoleByName finds a role by name.
func (s *Store) RoleByName(name string) (*Role, bool) { r, ok := s.roles[name]; return r, ok }

// UserByName finds a user by name.
func (s *Store) UserByName(name string) (*User, bool) { u, ok := s.users[name]; return u, ok }

// ProviderByArn finds an OIDC provider by ARN.
func (s *Store) ProviderByArn(arn string) (*OIDCProvider, bool) {
	p, ok := s.providers[arn]
	return p, ok
}

// ProviderForIssuer finds the OIDC provider whose URL is the token's iss.
func (s *Store) ProviderForIssuer(iss string) (*OIDCProvider, bool) {
	hp := HostPath(iss)
	for _, p := range s.Providers {
		if p.HostPath == hp {
			return p, true
		}
	}
	return nil, false
}
