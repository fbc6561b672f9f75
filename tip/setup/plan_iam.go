package setup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	idsdoc "github.com/aws/aws-sdk-go-v2/service/identitystore/document"
)

func stringDocument(s string) idsdoc.Interface { return idsdoc.NewLazyDocument(s) }

func (e *engine) planProvider(ctx context.Context) error {
	arn := e.providerArn()
	idp := e.s.IdP
	out, err := e.c.IAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if notFound(err) {
		e.add(Change{Action: Create, Resource: "oidc-provider", Name: IssuerHostPath(idp.Issuer), Reason: "no IAM OIDC provider for " + idp.Issuer,
			Permission: "iam:CreateOpenIDConnectProvider",
			run: func(ctx context.Context) (string, error) {
				in := &iam.CreateOpenIDConnectProviderInput{Url: aws.String(idp.Issuer), ClientIDList: idp.Audiences,
					Tags: []iamtypes.Tag{{Key: aws.String(SetupTag), Value: aws.String(tagValue(e.s))}}}
				if idp.Thumbprint != "" {
					in.ThumbprintList = []string{idp.Thumbprint}
				}
				o, err := e.c.IAM.CreateOpenIDConnectProvider(ctx, in)
				if err != nil {
					return "", err
				}
				return aws.ToString(o.OpenIDConnectProviderArn), nil
			},
			record: func(a string) *Resource {
				return &Resource{Type: "oidc-provider", ID: a, Arn: a, Name: IssuerHostPath(idp.Issuer)}
			}})
		return nil
	}
	if err != nil {
		return readErr("the IAM OIDC provider", "iam:GetOpenIDConnectProvider", err)
	}
	for _, aud := range idp.Audiences {
		if !slices.Contains(out.ClientIDList, aud) {
			e.add(Change{Action: Update, Resource: "oidc-provider", Name: IssuerHostPath(idp.Issuer),
				Reason: fmt.Sprintf("audience %q is not in its client ids", aud), Permission: "iam:AddClientIDToOpenIDConnectProvider",
				run: func(ctx context.Context) (string, error) {
					_, err := e.c.IAM.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
						OpenIDConnectProviderArn: aws.String(arn), ClientID: aws.String(aud)})
					return arn, err
				}})
		}
	}
	if idp.Thumbprint != "" && !slices.Contains(out.ThumbprintList, idp.Thumbprint) {
		e.add(Change{Action: Update, Resource: "oidc-provider", Name: IssuerHostPath(idp.Issuer),
			Reason: "its thumbprints do not include " + idp.Thumbprint, Permission: "iam:UpdateOpenIDConnectProviderThumbprint",
			run: func(ctx context.Context) (string, error) {
				_, err := e.c.IAM.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{
					OpenIDConnectProviderArn: aws.String(arn), ThumbprintList: []string{idp.Thumbprint}})
				return arn, err
			}})
	}
	return nil
}

// roleWant is one role as the file wants it; its documents are built when
// the change runs, after the resources they name exist.
type roleWant struct {
	key      string
	name     string
	maxSess  int
	trust    func() M
	policies map[string]func() M
	// pending names what is not created yet when a document depends on it.
	pending func() string
}

func (e *engine) wantRoles() []roleWant {
	s := e.s
	bridge, enhanced := s.Roles.Bridge, s.Roles.Enhanced
	appPending := func() string {
		if e.appArn == "" {
			return "the application is created first"
		}
		return ""
	}
	rs := []roleWant{{
		key: "bridge", name: bridge.Name, maxSess: bridge.MaxSessionSeconds,
		trust: func() M {
			return BridgeTrust(e.providerArn(), IssuerHostPath(s.IdP.Issuer), s.IdP.Audiences, "")
		},
		policies: map[string]func() M{"tipctl-token-exchange": func() M {
			return BridgePermissions(e.appArn, e.roleArn(enhanced.Name))
		}},
		pending: appPending,
	}, {
		key: "enhanced", name: enhanced.Name, maxSess: enhanced.MaxSessionSeconds,
		trust:    func() M { return EnhancedTrust(e.roleArn(bridge.Name)) },
		policies: map[string]func() M{},
	}}
	for _, svc := range enhanced.Services {
		rs[1].policies["tipctl-"+svc] = func() M { return EnhancedServicePolicy(svc, LiteralArns(s.Region, e.account)) }
	}
	if q := s.Roles.Snapshot; q != nil {
		rs = append(rs, roleWant{key: "quicksight_snapshot", name: q.Name, maxSess: q.MaxSessionSeconds,
			trust: func() M { return SnapshotTrust("arn:aws:iam::" + e.account + ":root") },
			policies: map[string]func() M{"tipctl-quicksight-snapshots": func() M {
				return SnapshotPermissions(LiteralArns(s.Region, e.account))
			}}})
	}
	if ag := s.AccessGrants; ag != nil {
		rs = append(rs, roleWant{key: "location", name: ag.LocationRole, maxSess: 43200, trust: func() M { return LocationTrust(e.account, AccessGrantsInstanceArn(s.Region, e.account)) },
			policies: map[string]func() M{"tipctl-access-grants-location": func() M { return LocationPermissions(ag.Locations) }}})
	}
	return rs
}

func (e *engine) planRoles(ctx context.Context) error {
	for _, r := range e.wantRoles() {
		if err := e.planRole(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (e *engine) putPolicies(ctx context.Context, role string, names []string, pols map[string]func() M) error {
	for _, n := range names {
		if _, err := e.c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(n),
			PolicyDocument: aws.String(docJSON(pols[n]()))}); err != nil {
			return err
		}
	}
	return nil
}

func (e *engine) planRole(ctx context.Context, r roleWant) error {
	names := make([]string, 0, len(r.policies))
	for n := range r.policies {
		names = append(names, n)
	}
	slices.Sort(names)
	out, err := e.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.name)})
	if notFound(err) {
		e.add(Change{Action: Create, Resource: "iam-role", Name: r.name, Reason: "the " + r.key + " role does not exist",
			Permission: "iam:CreateRole",
			run: func(ctx context.Context) (string, error) {
				o, err := e.c.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name),
					AssumeRolePolicyDocument: aws.String(docJSON(r.trust())), MaxSessionDuration: aws.Int32(int32(r.maxSess)),
					Description: aws.String("tipctl setup: the " + r.key + " role"),
					Tags:        []iamtypes.Tag{{Key: aws.String(SetupTag), Value: aws.String(tagValue(e.s))}}})
				if err != nil {
					return "", err
				}
				return aws.ToString(o.Role.Arn), nil
			},
			record: func(a string) *Resource { return &Resource{Type: "iam-role", ID: r.name, Arn: a} }})
		for _, n := range names {
			e.add(Change{Action: Create, Resource: "iam-role-policy", Name: r.name + "/" + n, Reason: "inline policy of the new role",
				Permission: "iam:PutRolePolicy",
				run: func(ctx context.Context) (string, error) {
					return e.roleArn(r.name), e.putPolicies(ctx, r.name, []string{n}, r.policies)
				}})
		}
		return nil
	}
	if err != nil {
		return readErr("role "+r.name, "iam:GetRole", err)
	}
	if !sameDoc(aws.ToString(out.Role.AssumeRolePolicyDocument), docJSON(r.trust())) {
		e.add(Change{Action: Update, Resource: "iam-role", Name: r.name, Reason: "its trust policy differs from the least-privilege one",
			Permission: "iam:UpdateAssumeRolePolicy",
			run: func(ctx context.Context) (string, error) {
				_, err := e.c.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(r.name),
					PolicyDocument: aws.String(docJSON(r.trust()))})
				return e.roleArn(r.name), err
			}})
	}
	listed, err := e.c.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(r.name)})
	if err != nil {
		return readErr("the inline policies of role "+r.name, "iam:ListRolePolicies", err)
	}
	for _, n := range names {
		reason := "the policy is missing"
		if slices.Contains(listed.PolicyNames, n) {
			got, err := e.c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String(n)})
			if err != nil {
				return readErr("policy "+n+" of role "+r.name, "iam:GetRolePolicy", err)
			}
			if r.pending == nil || r.pending() == "" {
				if sameDoc(aws.ToString(got.PolicyDocument), docJSON(r.policies[n]())) {
					continue
				}
				reason = "the policy differs from the least-privilege one"
			} else {
				reason = "it will name the new application (" + r.pending() + ")"
			}
		}
		e.add(Change{Action: Update, Resource: "iam-role-policy", Name: r.name + "/" + n, Reason: reason, Permission: "iam:PutRolePolicy",
			run: func(ctx context.Context) (string, error) {
				return e.roleArn(r.name), e.putPolicies(ctx, r.name, []string{n}, r.policies)
			}})
	}
	for _, n := range listed.PolicyNames {
		if strings.HasPrefix(n, "tipctl-") && r.policies[n] == nil {
			e.add(Change{Action: Delete, Resource: "iam-role-policy", Name: r.name + "/" + n, Reason: "setup's policy is no longer in the file",
				Permission: "iam:DeleteRolePolicy",
				run: func(ctx context.Context) (string, error) {
					_, err := e.c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String(n)})
					return e.roleArn(r.name), err
				}})
		}
	}
	return nil
}

// deleteRole removes a role with its inline and attached policies.
func (e *engine) deleteRole(ctx context.Context, name string) error {
	pols, err := e.c.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return err
	}
	for _, p := range pols.PolicyNames {
		if _, err := e.c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)}); err != nil {
			return err
		}
	}
	att, err := e.c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return err
	}
	for _, p := range att.AttachedPolicies {
		if _, err := e.c.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: p.PolicyArn}); err != nil {
			return err
		}
	}
	_, err = e.c.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
	return err
}
