package iam

import (
	"fmt"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// The read side of role permission policies: ListRolePolicies,
// GetRolePolicy and ListAttachedRolePolicies, so that diag can lint an
// identity-enhanced role's permissions as it would in an account. A world's
// role policies are inline and unnamed; they are listed as
// <role>-policy-<n>. The world has no managed policies.

func init() {
	iamOperations["ListRolePolicies"] = (*Service).listRolePolicies
	iamOperations["GetRolePolicy"] = (*Service).getRolePolicy
	iamOperations["ListAttachedRolePolicies"] = (*Service).listAttachedRolePolicies
}

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

func (s *Service) listRolePolicies(req *request) (any, *awsproto.Error) {
	r, e := s.roleFor(req)
	if e != nil {
		return nil, e
	}
	out := struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool
	}{PolicyNames: []string{}}
	for i := range r.PolicyJSON {
		out.PolicyNames = append(out.PolicyNames, InlinePolicyName(r.Name, i))
	}
	return out, nil
}

func (s *Service) getRolePolicy(req *request) (any, *awsproto.Error) {
	r, e := s.roleFor(req)
	if e != nil {
		return nil, e
	}
	name, ok := req.form["PolicyName"]
	if !ok {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'policyName' failed to satisfy constraint: Member must not be null")
	}
	for i, doc := range r.PolicyJSON {
		if InlinePolicyName(r.Name, i) == name[0] {
			return struct {
				RoleName       string
				PolicyName     string
				PolicyDocument string
			}{r.Name, name[0], EncodePolicy(doc)}, nil
		}
	}
	return nil, noSuchEntity("The role policy with name %s cannot be found.", awsproto.Truncate(name[0], 128))
}

func (s *Service) listAttachedRolePolicies(req *request) (any, *awsproto.Error) {
	if _, e := s.roleFor(req); e != nil {
		return nil, e
	}
	return struct {
		AttachedPolicies []struct{} `xml:"AttachedPolicies>member"`
		IsTruncated      bool
	}{}, nil
}
