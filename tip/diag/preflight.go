package diag

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Preflight results, reported first and only when something is wrong:
// without administrator credentials every read would fail the same way,
// and a role that does not exist explains most later failures.
const (
	idAdminCredentials = "aws.credentials"
	idRolesExist       = "iam.roles"
)

// AdminCredentialsFix is what to do when diag has no administrator
// credentials.
const AdminCredentialsFix = "set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or the profile's base_aws_profile, to an identity allowed to read Identity Center and IAM"

// preflight checks, once, that the administrator credentials resolve,
// and that the roles named exist. It returns the results to report first.
func (r *runner) preflight(ctx context.Context) []Result {
	if r.cfg.Credentials == nil {
		r.noAdmin = "no credentials are configured"
	} else if _, err := r.cfg.Credentials.Retrieve(ctx); err != nil {
		r.noAdmin = firstLine(err.Error())
	}
	if r.noAdmin != "" {
		return []Result{{ID: idAdminCredentials, Status: Warn, Fix: AdminCredentialsFix,
			Message: "no administrator AWS credentials (" + truncate(r.noAdmin, 200) + "): the Identity Center and IAM checks are skipped"}}
	}
	var missing []string
	for _, arn := range []string{r.in.BridgeRoleArn, r.in.EnhancedRoleArn} {
		name, err := RoleName(arn)
		if arn == "" || err != nil {
			continue
		}
		if _, err := r.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); err != nil && classify(err).code == "NoSuchEntity" {
			missing = append(missing, arn)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	r.missingRoles = missing
	return []Result{{ID: idRolesExist, Status: Fail,
		Message: fmt.Sprintf("role %s does not exist", strings.Join(missing, " and ")),
		Fix:     "fix the role ARN in the profile (bridge_role_arn, enhanced_role_arn) or create the role (deploy the template of `tipctl generate cfn-template`)"}}
}

// needsAdmin reports whether check id reads the setup with the
// administrator credentials.
func needsAdmin(id string) bool {
	return strings.HasPrefix(id, "idc.") || strings.HasPrefix(id, "iam.") || strings.HasPrefix(id, "s3ag.")
}

// adminSkip is the result of such a check without the credentials.
func adminSkip() Result {
	return skip(AdminCredentialsFix, "skipped: needs administrator AWS credentials (see %s)", idAdminCredentials)
}

// noMissingResource keeps a fix from naming a role that does not exist
// (granting it, trusting it): such a fix points at the role check instead.
func (r *runner) noMissingResource(res Result) Result {
	for _, arn := range r.missingRoles {
		name, _ := RoleName(arn)
		if res.Fix != "" && (strings.Contains(res.Fix, arn) || (name != "" && strings.Contains(res.Fix, "role "+name))) {
			res.Fix = "fix " + idRolesExist + " first: " + arn + " does not exist"
		}
	}
	return res
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
