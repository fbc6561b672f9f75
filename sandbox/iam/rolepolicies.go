package iam

import (
	"fmt"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// The read side of role permission policies (ListRolePolicies,
// GetRolePolicy, ListAttachedRolePolicies, in writes.go), so that diag can
// lint an identity-enhanced role's permissions as it would in an account. A
// world role's unnamed policies are listed as <role>-policy-<n>; named
// inline policies (PutRolePolicy) and managed policies keep their names.

// InlinePolicyName names a role's n-th (0-based) world policy.
func InlinePolicyName(role string, n int) string { return fmt.Sprintf("%s-policy-%d", role, n+1) }

// roleFor checks RoleName and the caller's permission for action on it.
func (s *Service) roleFor(req *request) (*Role, *awsproto.Error) {
	name, ok := req.form["RoleName"]
	if !ok {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null")
	}
	if n := len(name[0]); n < 1 || n > 64 {
		return nil, validationError("roleName", name[0], "Member must have length between 1 and 64")
	}
	r, found := s.store.RoleByName(name[0])
	resource := "arn:aws:iam::" + s.store.Account + ":role/" + name[0]
	if found {
		resource = r.Arn
	}
	if e := s.authorize(req, resource); e != nil {
		return nil, e
	}
	if !found {
		return nil, noSuchEntity("The role with name %s cannot be found.", name[0])
	}
	return r, nil
}
