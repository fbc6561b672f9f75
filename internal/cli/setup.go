package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/setup"
)

// ExitPlanChanges is the exit code of `setup plan` when there are changes
// (terraform plan -detailed-exitcode).
const ExitPlanChanges = 2

func init() { register(newSetupCmd) }

func newSetupCmd(app *App) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create, check and remove the AWS side of trusted identity propagation from a file",
		Long: `Declares the AWS side in a file (tip-setup.yaml): the IAM OIDC provider, the bridge
and identity-enhanced roles, the Identity Center trusted token issuer and
application (grant, actor policy, scopes, assignments), and optionally S3 Access
Grants. Then:
  tipctl setup init      write a commented starter file
  tipctl setup plan      show what would be created, changed or deleted, and why
  tipctl setup apply     make exactly those changes and write the tipctl profile
  tipctl setup destroy   remove what setup created (recorded in FILE.state.json)
  tipctl setup export --format cloudformation

The administrator credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
the profile's sandbox keys, or the AWS profile (AWS_PROFILE, or the file's
profile.base_aws_profile).`,
	}
	cmd.PersistentFlags().StringVarP(&file, "file", "f", "tip-setup.yaml", "the setup file")
	cmd.AddCommand(newSetupInitCmd(app, &file), newSetupPlanCmd(app, &file), newSetupApplyCmd(app, &file),
		newSetupDestroyCmd(app, &file), newSetupExportCmd(app, &file))
	return cmd
}

func loadSpec(file string) (*setup.Spec, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, Errorf(ExitConfig, "write one with `tipctl setup init`", "cannot read the setup file: %v", err)
	}
	s, err := setup.ParseSpec(b, file)
	if err != nil {
		return nil, Errorf(ExitConfig, "fix the file and run the command again", "%v", err)
	}
	return s, nil
}

// setupClients builds the AWS clients from the file and the profile it names.
func setupClients(cmd *cobra.Command, app *App, s *setup.Spec) (*setup.Clients, error) {
	var key, secret string
	shared := s.Profile.BaseAWSProfile
	if cfg, err := config.Load(); err == nil {
		if p, ok := cfg.Lookup(s.Profile.Name); ok {
			key, secret = p.SandboxAdminKeyID, p.SandboxAdminSecretKey
			shared = genFirstNonEmpty(shared, p.BaseAWSProfile)
		}
	}
	if s.Profile.Provider == config.ProviderSandbox && key == "" {
		key, secret = config.SandboxAdminKeyID, config.SandboxAdminSecretKey
	}
	creds, err := diagCredentials(cmd, app, key, secret, shared, s.Region)
	if err != nil {
		return nil, err
	}
	hc, err := app.httpClient()
	if err != nil {
		return nil, err
	}
	cfg, err := awsconf.New(awsconf.Options{Region: s.Region, Endpoint: s.Endpoint, Credentials: creds, HTTPClient: hc, Getenv: app.Getenv})
	if err != nil {
		return nil, Errorf(ExitConfig, "", "%v", err)
	}
	return setup.NewClients(cfg, awsconf.ServiceEndpoint(s.Endpoint, "S3_CONTROL", app.Getenv)), nil
}

// setupAWSError maps a read or step failure to one line with its fix.
func setupAWSError(err error) error {
	var se *setup.StepError
	if errors.As(err, &se) {
		return &Error{Code: ExitAWS, Msg: sanitize(se.Error()), Fix: se.Fix, Err: err}
	}
	var re *setup.ReadError
	if errors.As(err, &re) {
		fix := "check the credentials and the region, then run the command again"
		var ae smithy.APIError
		if errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "AccessDenied") && re.Permission != "" {
			fix = "allow " + re.Permission + " to the credentials' identity"
		} else if !errors.As(err, &ae) {
			fix = "see the message; the file or the account needs fixing first"
		}
		return &Error{Code: ExitAWS, Msg: sanitize(re.Error()), Fix: fix, Err: err}
	}
	return &Error{Code: ExitAWS, Msg: sanitize(err.Error()), Err: err}
}

// sanitize keeps one printable line of an error from a server.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

func makePlan(cmd *cobra.Command, app *App, file string) (*setup.Plan, *setup.Spec, *setup.State, *setup.Clients, error) {
	s, err := loadSpec(file)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	st, err := setup.LoadState(setup.StatePath(file))
	if err != nil {
		return nil, nil, nil, nil, Errorf(ExitConfig, "restore or remove the state file", "%v", err)
	}
	c, err := setupClients(cmd, app, s)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	p, err := setup.MakePlan(cmd.Context(), c, s, st)
	if err != nil {
		return nil, nil, nil, nil, setupAWSError(err)
	}
	return p, s, st, c, nil
}

func newSetupPlanCmd(app *App, file *string) *cobra.Command {
	return &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would create, change or delete, with the reason (exit 0: no changes, 2: changes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, _, _, err := makePlan(cmd, app, *file)
			if err != nil {
				return err
			}
			if app.JSON() {
				if err := app.printJSON(p); err != nil {
					return err
				}
			} else {
				p.Write(app.Stdout)
			}
			if !p.Empty() {
				return &Error{Code: ExitPlanChanges, Msg: fmt.Sprintf("setup plan: %d change(s)", len(p.Changes)), Fix: "run `tipctl setup apply` to make them"}
			}
			return nil
		},
	}
}

func newSetupApplyCmd(app *App, file *string) *cobra.Command {
	return &cobra.Command{
		Use:   "apply",
		Short: "Make the plan's changes in dependency order, print each ARN and write the tipctl profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, s, _, _, err := makePlan(cmd, app, *file)
			if err != nil {
				return err
			}
			res, err := setup.Apply(cmd.Context(), p, func(a setup.Applied) {
				fmt.Fprintf(app.Stdout, "%-7s %-28s %s\n", a.Change.Action, a.Change.Step(), a.Arn)
			})
			if err != nil {
				return setupAWSError(err)
			}
			if len(res.Applied) == 0 {
				fmt.Fprintln(app.Stdout, "No changes: the account matches the file.")
			}
			return writeSetupProfile(app, s, res)
		},
	}
}

// writeSetupProfile creates or updates the tipctl profile the file names.
func writeSetupProfile(app *App, s *setup.Spec, res *setup.Result) error {
	cfg, err := config.Load()
	if err != nil {
		return &Error{Code: ExitConfig, Msg: err.Error(), Err: err}
	}
	p, ok := cfg.Lookup(s.Profile.Name)
	if !ok {
		vals := map[string]string{"name": s.Profile.Name, "issuer": s.IdP.Issuer, "client_id": s.IdP.Audiences[0],
			"application_arn": res.ApplicationArn, "bridge_role_arn": res.BridgeRoleArn, "enhanced_role_arn": res.EnhancedRoleArn,
			"region": s.Region, "endpoint_url": s.Endpoint, "base_aws_profile": s.Profile.BaseAWSProfile, "quicksight_role_arn": res.SnapshotRoleArn}
		for k, v := range vals {
			if v == "" {
				delete(vals, k)
			}
		}
		np, missing, err := config.BuildProfile(s.Profile.Provider, vals)
		if err != nil || len(missing) > 0 {
			return Errorf(ExitConfig, "create the profile with `tipctl configure`, then run `tipctl setup apply` again",
				"the AWS side is set up, but profile %s cannot be written (missing %s): %v", s.Profile.Name, strings.Join(missing, ", "), err)
		}
		p = np
	} else {
		p.Issuer, p.ClientID, p.Region = s.IdP.Issuer, s.IdP.Audiences[0], s.Region
		p.ApplicationARN, p.BridgeRoleARN, p.EnhancedRoleARN = res.ApplicationArn, res.BridgeRoleArn, res.EnhancedRoleArn
		if s.Endpoint != "" {
			p.EndpointURL = s.Endpoint
		}
		if res.SnapshotRoleArn != "" {
			p.QuickSightRoleARN = res.SnapshotRoleArn
		}
	}
	p.Name = s.Profile.Name
	if err := cfg.Set(p); err != nil {
		return Errorf(ExitConfig, "fix the file's profile section", "profile %s: %v", s.Profile.Name, err)
	}
	if err := cfg.Save(); err != nil {
		return Errorf(ExitConfig, "", "writing %s: %v", cfg.Path(), err)
	}
	app.say("tipctl setup: profile %s in %s uses application %s", p.Name, cfg.Path(), aws.ToString(&res.ApplicationArn))
	return nil
}

func newSetupDestroyCmd(app *App, file *string) *cobra.Command {
	return &cobra.Command{
		Use:   "destroy",
		Short: "Remove exactly what setup created (recorded in FILE.state.json), newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSpec(*file)
			if err != nil {
				return err
			}
			st, err := setup.LoadState(setup.StatePath(*file))
			if err != nil {
				return Errorf(ExitConfig, "restore the state file", "%v", err)
			}
			c, err := setupClients(cmd, app, s)
			if err != nil {
				return err
			}
			p, err := setup.DestroyPlan(cmd.Context(), c, s, st)
			if err != nil {
				return setupAWSError(err)
			}
			if p.Empty() {
				fmt.Fprintln(app.Stdout, "Nothing to destroy: the state records no resources.")
				return nil
			}
			_, err = setup.Apply(cmd.Context(), p, func(a setup.Applied) {
				fmt.Fprintf(app.Stdout, "deleted %-28s %s\n", a.Change.Step(), a.Arn)
			})
			if err != nil {
				return setupAWSError(err)
			}
			return nil
		},
	}
}
