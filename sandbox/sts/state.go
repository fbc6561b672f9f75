// Package sts emulates the AWS Security Token Service: AssumeRoleWithWebIdentity
// (unsigned, with an OIDC token), AssumeRole (with ProvidedContexts for
// identity-enhanced sessions) and GetCallerIdentity. STS keeps no state of
// its own: sessions live in the shared principal registry (env.Registry).
// This file holds the session model; handlers.go the awsQuery wire handlers.
package sts

import (
	"strconv"
	"time"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/iam"
)

// Session limits, as AWS applies them.
const (
	// MinDuration is the shortest session STS issues.
	MinDuration = 900 * time.Second
	// DefaultDuration is the session length when DurationSeconds is absent.
	DefaultDuration = time.Hour
	// ChainedMax caps sessions made by a role session (role chaining).
	ChainedMax = time.Hour
	// MaxProvidedContexts is the model's bound on ProvidedContexts.
	MaxProvidedContexts = 5
)

var (
	sessionNameRe = lazyre.New(`^[\w+=,.@-]*$`)
	// arnChars is the character class of the model's arnType pattern.
	arnChars = lazyre.New("^[\t\n\r\u0020-\u007e\u0085\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+$")
)

// AssumedRoleArn is the caller ARN of a role session. AWS leaves the role's
// path out of it.
func AssumedRoleArn(account, roleName, sessionName string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + sessionName
}

// SessionSpec describes a role session to issue.
type SessionSpec struct {
	Account        string
	Role           *iam.Role
	SessionName    string
	Chained        bool
	Federated      string
	SourceIdentity string
	Context        *auth.IdentityContext
	IssuedAt       time.Time
	Expires        time.Time
	// SessionPolicies narrow the session to their intersection with the role's policies.
	SessionPolicies []*iampolicy.Document
}

// Principal builds the session principal (without keys) for spec.
func (s SessionSpec) Principal() *auth.Principal {
	return &auth.Principal{
		AccountID:       s.Account,
		Arn:             AssumedRoleArn(s.Account, s.Role.Name, s.SessionName),
		UserID:          s.Role.RoleID + ":" + s.SessionName,
		RoleArn:         s.Role.Arn,
		RoleName:        s.Role.Name,
		SessionName:     s.SessionName,
		Chained:         s.Chained,
		Federated:       s.Federated,
		SourceIdentity:  s.SourceIdentity,
		Policies:        s.Role.Policies,
		SessionPolicies: s.SessionPolicies,
		// Evaluated with the role's current policies, as IAM does.
		PoliciesFromRole: true,
		Context:          s.Context,
		IssuedAt:         s.IssuedAt,
	}
}

// Issue registers the session in reg with fresh ASIA keys.
func (s SessionSpec) Issue(reg *auth.Registry) *auth.Principal {
	exp := s.Expires
	if s.Context != nil && !s.Context.ExpiresAt.IsZero() && s.Context.ExpiresAt.Before(exp) {
		exp = s.Context.ExpiresAt
	}
	return reg.IssueSession(s.Principal(), exp)
}

// baseContext is the set of global condition keys every STS request carries.
func baseContext(now time.Time) map[string][]string {
	return map[string][]string{
		"aws:CurrentTime":            {now.UTC().Format(time.RFC3339)},
		"aws:EpochTime":              {strconv.FormatInt(now.Unix(), 10)},
		"aws:SecureTransport":        {"false"},
		"aws:MultiFactorAuthPresent": {"false"},
	}
}
