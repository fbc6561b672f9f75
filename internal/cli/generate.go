package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/setup"
)

func init() { register(newGenerateCmd) }

func newGenerateCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write the AWS setup: a CloudFormation template, an AWS CLI profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Errorf(ExitUsage, "see `tipctl generate --help`", "tipctl generate needs a subcommand: cfn-template or aws-config")
		},
	}
	cmd.AddCommand(newGenerateCFNCmd(app), newGenerateAWSConfigCmd(app))
	return cmd
}

// setupProfile returns the selected profile when a config file has it,
// or nil: generate works without any profile.
func setupProfile(app *App) (*config.Profile, string, error) {
	name := app.Profile
	if name == "" {
		name = app.Getenv(config.EnvProfile)
	}
	explicit := name != ""
	if name == "" {
		name = config.DefaultProfile
	}
	cfg, err := config.Load()
	if err != nil {
		return nil, name, &Error{Code: ExitConfig, Msg: err.Error(), Err: err}
	}
	p, ok := cfg.Lookup(name)
	if !ok && explicit {
		return nil, name, Errorf(ExitConfig, "create it with `tipctl configure` or check the name (`tipctl configure list`)",
			"no profile %q in %s", name, cfg.Path())
	}
	return p, name, nil
}

func newGenerateCFNCmd(app *App) *cobra.Command {
	var o setup.TemplateOptions
	var services, format string
	cmd := &cobra.Command{
		Use:   "cfn-template --issuer URL --audience AUD [--thumbprint HEX|auto] [--subject-claim VALUE] [--services athena,redshift-data,s3ag,quicksight,qbusiness] [--format yaml|json]",
		Short: "Write a CloudFormation template: the IAM OIDC provider, the bridge role and the identity-enhanced role",
		Long: `Writes a complete CloudFormation template (YAML, or JSON with --format json) for one
IdP: an IAM OIDC provider for the issuer, the bridge role (assumed with the IdP
token, allowed to call sso-oauth:CreateTokenWithIAM), and the identity-enhanced
role that trusts the bridge role for sts:AssumeRole and sts:SetContext (Identity
Center contexts only), with least-privilege policies for the services listed in
--services that work only in identity-enhanced sessions ("Null":
{"identitystore:UserId": "false"}). Outputs carry the
role and provider ARNs and the actor policy for the Identity Center application.

--issuer and --audience default to the profile's issuer and client id.
--thumbprint auto computes the OIDC thumbprint as AWS documents it: the SHA-1
of the top intermediate CA of the TLS chain of the issuer's jwks_uri host.

Deploy: aws cloudformation deploy --template-file T --stack-name tipctl --capabilities CAPABILITY_NAMED_IAM`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Issuer == "" || o.Audience == "" {
				if p, _, err := setupProfile(app); err == nil && p != nil {
					if o.Issuer == "" {
						o.Issuer = p.Issuer
					}
					if o.Audience == "" {
						o.Audience = p.ClientID
					}
				}
			}
			if services != "" {
				o.Services = strings.Split(services, ",")
			}
			if format == "" {
				format = setup.FormatYAML
				if app.JSON() {
					format = setup.FormatJSON
				}
			}
			if format != setup.FormatYAML && format != setup.FormatJSON {
				return Errorf(ExitUsage, "use --format yaml or --format json", "unknown format %q", format)
			}
			if strings.EqualFold(o.Thumbprint, "auto") {
				if err := o.Validate(); err != nil && !setupIsOption(err, "thumbprint") {
					return setupOptionError(err)
				}
				hc, err := app.httpClient()
				if err != nil {
					return err
				}
				roots, err := genCABundle(app.Getenv("AWS_CA_BUNDLE"))
				if err != nil {
					return Errorf(ExitConfig, "point AWS_CA_BUNDLE at a PEM file", "%v", err)
				}
				res, err := setup.Thumbprint(cmd.Context(), o.Issuer, setup.ThumbprintOptions{HTTPClient: hc, RootCAs: roots})
				if err != nil {
					return Errorf(ExitNetwork, "pass the thumbprint with --thumbprint HEX, or leave --thumbprint out (AWS then trusts its CA library)",
						"cannot compute the thumbprint: %v", err)
				}
				app.say("tipctl: thumbprint %s of %q, the last certificate of the %d-certificate chain at %s", res.Thumbprint, res.Subject, res.ChainLength, res.Host)
				o.Thumbprint = res.Thumbprint
			}
			b, err := setup.RenderTemplate(o, format)
			if err != nil {
				return setupOptionError(err)
			}
			_, err = app.Stdout.Write(b)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Issuer, "issuer", "", "the IdP's issuer URL, exactly as in the tokens' iss claim (default: the profile's)")
	f.StringVar(&o.Audience, "audience", "", "the tokens' aud claim, usually the IdP client id (default: the profile's client id)")
	f.StringVar(&o.Thumbprint, "thumbprint", "", "OIDC provider thumbprint: 40 hex digits, or auto to compute it")
	f.StringVar(&o.SubjectClaim, "subject-claim", "", "restrict the bridge role to tokens with this sub claim")
	f.StringVar(&services, "services", "", "comma-separated services the identity-enhanced role may use: "+strings.Join(setup.TemplateServices(), ","))
	f.StringVar(&format, "format", "", "yaml or json (default yaml; json with --output json)")
	f.StringVar(&o.BridgeRoleName, "bridge-role-name", setup.DefaultBridgeRoleName, "default name of the bridge role")
	f.StringVar(&o.EnhancedRoleName, "enhanced-role-name", setup.DefaultEnhancedRoleName, "default name of the identity-enhanced role")
	return cmd
}

func setupIsOption(err error, option string) bool {
	var oe *setup.OptionError
	return errors.As(err, &oe) && oe.Option == option
}

func setupOptionError(err error) error {
	var oe *setup.OptionError
	if errors.As(err, &oe) {
		return &Error{Code: ExitUsage, Msg: "--" + oe.Option + ": " + oe.Msg, Fix: "see `tipctl generate --help`", Err: err}
	}
	return Errorf(ExitFailure, "", "%v", err)
}

func newGenerateAWSConfigCmd(app *App) *cobra.Command {
	var awsProfile, command string
	cmd := &cobra.Command{
		Use:   "aws-config [--profile P]",
		Short: "Print the ~/.aws/config section that gets credentials from tipctl (credential_process)",
		Long: `Prints an AWS CLI profile whose credentials come from tipctl's credential_process:
the AWS CLI and every SDK then act with identity-enhanced credentials. The region
and, for the sandbox, endpoint_url come from the tipctl profile.

The AWS profile is named after the tipctl profile, except that the tipctl
profile "default" becomes [profile tipctl]: [default] is written only when
asked for with --aws-profile default. ` + "`tipctl configure aws-profile NAME`" + ` writes
the section into ~/.aws/config for you, showing the change first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, name, err := setupProfile(app)
			if err != nil {
				return err
			}
			if p == nil {
				return Errorf(ExitConfig, "create it with `tipctl configure`", "no profile %q to generate an AWS CLI profile for", name)
			}
			if command == "" {
				command = credentialCommand() + " auth get-iam-credentials --profile " + quoteArg(name)
			}
			if awsProfile == "" && name == config.DefaultProfile {
				awsProfile = "tipctl" // never [default] unless asked for
			}
			s, err := setup.AWSConfigSnippet(setup.AWSConfigOptions{Profile: name, AWSProfile: awsProfile, Region: p.Region,
				EndpointURL: p.EndpointURL, Command: command})
			if err != nil {
				return setupOptionError(err)
			}
			if app.JSON() {
				return app.printJSON(map[string]string{"profile": name, "aws_profile": genFirstNonEmpty(awsProfile, name), "snippet": s})
			}
			_, err = app.Stdout.Write([]byte(s))
			return err
		},
	}
	cmd.Flags().StringVar(&awsProfile, "aws-profile", "", "name of the AWS CLI profile (default: the tipctl profile's name)")
	cmd.Flags().StringVar(&command, "command", "", "credential_process command line (default: tipctl-creds, or tipctl, auth get-iam-credentials --profile P)")
	return cmd
}

func genFirstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// genCABundle returns the system roots plus the PEM bundle at path, or nil
// (the system roots) when path is empty.
func genCABundle(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("AWS_CA_BUNDLE %s holds no PEM certificate", path)
	}
	return pool, nil
}
