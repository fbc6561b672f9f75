package diag

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/tipctl/tipctl/tip/setup"
)

// iamEnhancedPermissions lints the identity-enhanced role's permission
// policies (inline and attached): each Allow must need a person in the
// session, or anyone trusted to assume the role can use it without
// ProvidedContexts.
func (r *runner) iamEnhancedPermissions(ctx context.Context) Result {
	if r.in.EnhancedRoleArn == "" {
		return skip("pass --enhanced-role-arn or set enhanced_role_arn in the profile", "no identity-enhanced role to check")
	}
	name, err := RoleName(r.in.EnhancedRoleArn)
	if err != nil {
		return fail("pass the role's ARN (arn:aws:iam::ACCOUNT:role/NAME)", "%v", err)
	}
	type doc struct{ where, raw string }
	var docs []doc
	inline := iam.NewListRolePoliciesPaginator(r.iam, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return r.readFailure("iam:ListRolePolicies", err, "the permission policies of role "+name)
		}
		for _, pn := range page.PolicyNames {
			out, err := r.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
			if err != nil {
				return r.readFailure("iam:GetRolePolicy", err, "the permission policies of role "+name)
			}
			docs = append(docs, doc{"inline policy " + pn, decodePolicy(aws.ToString(out.PolicyDocument))})
		}
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(r.iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return r.readFailure("iam:ListAttachedRolePolicies", err, "the managed policies of role "+name)
		}
		for _, ap := range page.AttachedPolicies {
			pol, err := r.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: ap.PolicyArn})
			if err != nil {
				return r.readFailure("iam:GetPolicy", err, "the managed policies of role "+name)
			}
			v, err := r.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: ap.PolicyArn, VersionId: pol.Policy.DefaultVersionId})
			if err != nil {
				return r.readFailure("iam:GetPolicyVersion", err, "the managed policies of role "+name)
			}
			docs = append(docs, doc{"managed policy " + aws.ToString(ap.PolicyArn), decodePolicy(aws.ToString(v.PolicyVersion.Document))})
		}
	}
	if len(docs) == 0 {
		return warn("attach the permissions tipctl's users need (see `tipctl generate cfn-template --services ...`), each conditioned with "+setup.IdentityCondition,
			"role %s has no permission policies: its identity-enhanced sessions can do nothing", name)
	}
	var holes []string
	for _, d := range docs {
		for _, f := range setup.Lint([]byte(d.raw), setup.KindEnhanced) {
			if f.Code == setup.CodeNoIdentityCondition {
				holes = append(holes, fmt.Sprintf("%s Statement[%d]", d.where, f.Statement))
			}
		}
	}
	if len(holes) > 0 {
		return fail(fmt.Sprintf("add %s to each of these statements of role %s (aws iam put-role-policy --role-name %s --policy-name NAME --policy-document FILE)",
			setup.IdentityCondition, name, name),
			"security: role %s grants rights without a person in the session (%s): anyone trusted to assume it can call AssumeRole without ProvidedContexts, which STS allows, and use them",
			name, strings.Join(holes, ", "))
	}
	return pass("every permission of role %s (%d policies) needs an identity-enhanced session (identitystore:UserId)", name, len(docs))
}

// decodePolicy undoes the URL encoding IAM applies to policy documents.
func decodePolicy(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}
