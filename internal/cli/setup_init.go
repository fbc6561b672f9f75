package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/setup"
)

const starterSpec = `# tipctl setup file: the AWS side of trusted identity propagation.
# Check it with ` + "`tipctl setup plan`" + `, create it with ` + "`tipctl setup apply`" + `,
# remove what setup created with ` + "`tipctl setup destroy`" + `.
region: %s
%s
idp:
  # The iss claim of the IdP's tokens, exactly.
  issuer: %s
  # The aud claims accepted (the IdP client ids).
  audiences: [%s]
  # Which token claim names the Identity Center user, and which user attribute it matches.
  claim_mapping:
    claim: email
    identity_store_attribute: emails.value

roles:
  # Assumed with the IdP token; may only exchange it with the application below
  # and assume the enhanced role.
  bridge:
    name: tip-bridge
  # Carries the person's Identity Center identity; every permission needs it.
  enhanced:
    name: tip-enhanced
    max_session_seconds: 3600
    services: [s3ag]
  # quicksight_snapshot:
  #   name: tip-quicksight-snapshots

identity_center:
  trusted_token_issuer: tipctl-idp
  application:
    name: tipctl
    scopes: [s3:access_grants:read_write, sts:identity_context]
    assignment_required: true
    assigned_groups: []

# access_grants:
#   location_role: tip-s3ag-location
#   locations: [s3://my-bucket/]
#   grants:
#     - group: my-group
#       permission: READ
#       target: s3://my-bucket/prefix/*

# The tipctl profile apply writes (provider: okta, entra-id, cognito, oidc, sandbox).
profile:
  name: %s
  provider: %s
`

func newSetupInitCmd(app *App, file *string) *cobra.Command {
	var issuer, audience, region, endpoint, provider string
	var fromProfile, force bool
	cmd := &cobra.Command{
		Use:   "init [--issuer URL --audience AUD | --from-profile]",
		Short: "Write a commented starter setup file from flags or from an existing tipctl profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name := genFirstNonEmpty(app.Profile, app.Getenv(config.EnvProfile), config.DefaultProfile)
			if fromProfile {
				p, _, err := setupProfile(app)
				if err != nil {
					return err
				}
				if p == nil {
					return Errorf(ExitConfig, "create it with `tipctl configure`, or pass --issuer and --audience", "no profile %q", name)
				}
				issuer, audience = genFirstNonEmpty(issuer, p.Issuer), genFirstNonEmpty(audience, p.ClientID)
				region, endpoint = genFirstNonEmpty(region, p.Region), genFirstNonEmpty(endpoint, p.EndpointURL)
				provider = genFirstNonEmpty(provider, p.Provider)
			}
			if issuer == "" || audience == "" {
				return Errorf(ExitUsage, "pass --issuer URL --audience CLIENT_ID, or --from-profile", "the issuer and the audience are required")
			}
			ep := ""
			if endpoint != "" {
				ep = "# Every AWS call goes here (the sandbox).\nendpoint_url: " + endpoint
			}
			text := fmt.Sprintf(starterSpec, genFirstNonEmpty(region, "us-east-1"), ep, issuer, audience, name, genFirstNonEmpty(provider, "oidc"))
			if _, err := setup.ParseSpec([]byte(text), *file); err != nil {
				return Errorf(ExitUsage, "fix the flag", "%v", err)
			}
			if _, err := os.Stat(*file); err == nil && !force {
				return Errorf(ExitUsage, "pass --force to overwrite it, or --file for another name", "%s exists", *file)
			}
			if err := config.WriteFileAtomic(*file, []byte(text), 0o644); err != nil {
				return Errorf(ExitFailure, "", "writing %s: %v", *file, err)
			}
			app.say("tipctl setup: wrote %s; review it, then run `tipctl setup plan -f %s`", *file, *file)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&issuer, "issuer", "", "the IdP's issuer URL")
	f.StringVar(&audience, "audience", "", "the tokens' aud claim (the IdP client id)")
	f.StringVar(&region, "region", "", "AWS region (default us-east-1)")
	f.StringVar(&endpoint, "endpoint-url", "", "send every AWS call here (the sandbox)")
	f.StringVar(&provider, "provider", "", "the provider of the profile apply writes")
	f.BoolVar(&fromProfile, "from-profile", false, "take the issuer, audience, region and endpoint from the tipctl profile")
	f.BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

func newSetupExportCmd(app *App, file *string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export --format cloudformation",
		Short: "Write the parts CloudFormation can express as a template, and list the parts it cannot",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "cloudformation" {
				return Errorf(ExitUsage, "use --format cloudformation", "unknown format %q", format)
			}
			s, err := loadSpec(*file)
			if err != nil {
				return err
			}
			b, err := setup.RenderExport(s, setup.FormatYAML)
			if err != nil {
				return Errorf(ExitConfig, "fix the file", "%v", err)
			}
			if _, err := app.Stdout.Write(b); err != nil {
				return err
			}
			has := "the OIDC provider, the roles, the Identity Center application and its assignments"
			if s.AccessGrants != nil {
				has += ", and S3 Access Grants"
			}
			app.say("tipctl setup export: the template has %s; its parameters take the Identity Center instance and the groups' Identity Store ids.\n"+
				"Not in it, as CloudFormation has no resource type for them (run `tipctl setup apply` after deploying; it adopts what the stack made):\n  - %s",
				has, strings.Join(setup.NotInCloudFormation, "\n  - "))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "cloudformation")
	return cmd
}
