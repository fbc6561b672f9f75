package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/s3ag"
)

func init() { register(newS3agCmd) }

func newS3agCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "s3ag",
		Short: "Get S3 Access Grants credentials as the person logged in",
		Long: `S3 Access Grants vends S3 credentials scoped to the grants of the person
behind the identity-enhanced session (their Identity Center user and groups).`,
	}
	cmd.AddCommand(newS3agGetCmd(app), newS3agListCmd(app), newS3agClearCmd(app))
	return cmd
}

func newS3agGetCmd(app *App) *cobra.Command {
	var req s3ag.Request
	var duration int
	var lifetime time.Duration
	cmd := &cobra.Command{
		Use:   "get-data-access S3_URI",
		Short: "Print S3 Access Grants credentials for an S3 prefix as credential_process JSON",
		Long: `Calls s3:GetDataAccess with the identity-enhanced session and prints
{"Version":1,"AccessKeyId",...,"Expiration"} on stdout and nothing else, for
an AWS CLI profile:

  [profile emea]
  credential_process = tipctl s3ag get-data-access s3://analytics-data/emea/ --permission READ --profile default

  aws s3 ls s3://analytics-data/emea/ --profile emea

Credentials are cached per account, matched grant, permission, privilege and
target type, and reused for any target under the grant while more than 15
minutes are left: after s3://bucket/emea/ READ matched the grant
s3://bucket/emea/*, s3://bucket/emea/2024/ READ makes no AWS call. READWRITE
credentials serve READ and WRITE requests too. With --privilege Minimal the
credentials reach only the requested target, and only targets under it reuse
them. --force-new skips the cache.

The account is the identity-enhanced session's unless --account-id is given.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return Errorf(ExitUsage, "e.g. `tipctl s3ag get-data-access s3://bucket/prefix/ --permission READ`", "get-data-access takes one S3 URI, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Target = args[0]
			if lifetime != 0 {
				if err := checkDuration(lifetime); err != nil {
					return err
				}
				duration = int(lifetime / time.Second)
			}
			if duration < 0 || duration > s3ag.MaxDurationSeconds {
				return Errorf(ExitUsage, "use --duration from 15m to 12h, such as 1h", "--duration-seconds %d is out of range", duration)
			}
			req.DurationSeconds = int32(duration)
			if _, err := s3ag.ParseS3URI(req.Target); err != nil {
				return s3agCommandFailure(err, "")
			}
			p, m, err := app.session()
			if err != nil {
				return err
			}
			c, err := s3ag.GetDataAccess(cmd.Context(), m, req)
			if err != nil {
				return s3agCommandFailure(err, p.Name)
			}
			return app.printProcess(c.Process())
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Permission, "permission", s3ag.Read, "READ, WRITE or READWRITE")
	f.StringVar(&req.Privilege, "privilege", s3ag.PrivilegeDefault, "Default (scoped to the matched grant) or Minimal (scoped to the target)")
	f.StringVar(&req.TargetType, "target-type", "", "Object when S3_URI names one object")
	f.DurationVar(&lifetime, "duration", 0, "lifetime of new credentials, 15m to 12h (default: S3 Access Grants' 1h)")
	f.IntVar(&duration, "duration-seconds", 0, "lifetime of new credentials in seconds, 900-43200")
	_ = f.MarkHidden("duration-seconds") // the older spelling, still accepted
	f.StringVar(&req.AccountID, "account-id", "", "account of the Access Grants instance (default: the session's)")
	f.BoolVar(&req.ForceNew, "force-new", false, "get new credentials even if cached ones cover the request")
	_ = cmd.RegisterFlagCompletionFunc("permission", cobra.FixedCompletions([]string{s3ag.Read, s3ag.Write, s3ag.ReadWrite}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("privilege", cobra.FixedCompletions([]string{s3ag.PrivilegeDefault, s3ag.PrivilegeMinimal}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("target-type", cobra.FixedCompletions([]string{s3ag.TargetTypeObject}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// s3agCommandFailure maps s3ag errors to one line, a fix and an exit code.
func s3agCommandFailure(err error, profile string) error {
	var denied *s3ag.AccessDeniedError
	var api *s3ag.APIError
	var re *s3ag.RequestError
	switch {
	case errors.Is(err, s3ag.ErrInvalidURI):
		return &Error{Code: ExitUsage, Msg: err.Error(), Err: err}
	case errors.As(err, &re):
		return &Error{Code: ExitUsage, Msg: "--" + re.Error(), Fix: "see `tipctl s3ag get-data-access --help`", Err: err}
	case errors.As(err, &denied):
		return &Error{Code: ExitAWS, Msg: denied.Error(), Fix: denied.Hint(), Err: err}
	case errors.As(err, &api):
		return &Error{Code: ExitAWS, Msg: api.Error(), Fix: api.Hint, Err: err}
	}
	return failure(err, profile)
}

func newS3agListCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list-credentials",
		Short: "List the cached S3 Access Grants credentials (no secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, m, err := app.session()
			if err != nil {
				return err
			}
			entries, err := s3ag.List(m)
			if err != nil {
				return failure(err, p.Name)
			}
			if app.JSON() {
				return app.printJSON(map[string]any{"profile": p.Name, "credentials": entries})
			}
			if len(entries) == 0 {
				fmt.Fprintf(app.text(), "No cached S3 Access Grants credentials for profile %s.\n", p.Name)
				return nil
			}
			tw := tabwriter.NewWriter(app.text(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SCOPE\tPERMISSION\tPRIVILEGE\tACCOUNT\tGRANTEE\tEXPIRES\tSTATE")
			now := time.Now()
			for _, e := range entries {
				priv := e.Privilege
				if e.TargetType != "" {
					priv += "/" + e.TargetType
				}
				grantee := orDash(e.Grantee.Type)
				if e.Grantee.Identifier != "" {
					grantee += ":" + e.Grantee.Identifier
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Scope, e.Permission, priv, e.AccountID, grantee,
					expiresIn(e.Expiration, now), e.State)
			}
			return tw.Flush()
		},
	}
}

func expiresIn(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d <= 0 {
		return fmt.Sprintf("%s (expired)", t.Local().Format("15:04:05"))
	}
	return fmt.Sprintf("%s (in %s)", t.Local().Format("15:04:05"), d)
}

func newS3agClearCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "clear-credentials",
		Short: "Delete the cached S3 Access Grants credentials of the profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := app.profileName()
			// Like logout: a broken profile's cache can still be wiped.
			_, m, err := app.wipeSession()
			if err != nil {
				return err
			}
			n, err := s3ag.Clear(cmd.Context(), m)
			if err != nil {
				return failure(err, name)
			}
			if app.JSON() {
				return app.printJSON(map[string]any{"profile": name, "cleared": n})
			}
			fmt.Fprintf(app.text(), "Cleared %d cached S3 Access Grants credential(s) of profile %s.\n", n, name)
			return nil
		},
	}
}
