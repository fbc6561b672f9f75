package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/exchange"
	"github.com/tipctl/tipctl/tip/quicksight"
	"github.com/tipctl/tipctl/tip/session"
	"github.com/tipctl/tipctl/tip/store"
)

func init() { register(newQuickSightCmd) }

func newQuickSightCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quicksight",
		Short: "QuickSight as a person: identity-enhanced sessions and dashboard snapshots (PDF, CSV, Excel)",
		Long: `Takes QuickSight dashboard snapshots as a person, with QuickSight's row-level
security applied to them, in one command.

Two ways to be that person:
  --identity-center   your own session from ` + "`tipctl auth login`" + ` (Identity Center;
                      the default when you are logged in)
  --as EMAIL          a QuickSight user, through quicksight:GetIdentityContext with
                      the administrator credentials (sandbox keys or base_aws_profile),
                      then sts:AssumeRole with the context (the role of --role-arn,
                      quicksight_role_arn in the profile, or the sandbox's snapshot role)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Errorf(ExitUsage, "see `tipctl quicksight --help`", "tipctl quicksight needs a subcommand: credentials, dashboards, snapshot or snapshot-status")
		},
	}
	cmd.AddCommand(newQSCredentialsCmd(app), newQSDashboardsCmd(app), newQSSnapshotCmd(app), newQSStatusCmd(app))
	return cmd
}

// qsEnv is what every quicksight command needs from the profile.
type qsEnv struct {
	app  *App
	p    *config.Profile
	hc   *http.Client
	base aws.Config // region, endpoint, HTTP client; no credentials
	// admin holds the administrator (base) credentials; nil when there are
	// none, and then adminWhy says why.
	admin    *aws.Config
	adminWhy string
}

func qsSetup(ctx context.Context, app *App) (*qsEnv, error) {
	p, err := app.loadProfile()
	if err != nil {
		return nil, err
	}
	hc, err := app.httpClient()
	if err != nil {
		return nil, err
	}
	base, err := awsconf.New(awsconf.Options{Region: p.Region, Endpoint: p.EndpointURL, HTTPClient: hc, Getenv: app.Getenv})
	if err != nil {
		return nil, Errorf(ExitConfig, "", "%v", err)
	}
	e := &qsEnv{app: app, p: p, hc: hc, base: base}
	creds, why := qsAdminCredentials(ctx, app, p)
	if creds != nil {
		admin := base.Copy()
		admin.Credentials = creds
		e.admin = &admin
	}
	e.adminWhy = why
	return e, nil
}

// qsAdminCredentials picks the administrator credentials: the sandbox keys
// of a sandbox profile, else the AWS profile named base_aws_profile, else
// the SDK's standard chain. It returns nil and why when there are none.
func qsAdminCredentials(ctx context.Context, app *App, p *config.Profile) (aws.CredentialsProvider, string) {
	if p.SandboxAdminKeyID != "" && p.SandboxAdminSecretKey != "" {
		return credentials.NewStaticCredentialsProvider(p.SandboxAdminKeyID, p.SandboxAdminSecretKey, ""), ""
	}
	// An AWS profile whose credential_process is tipctl itself would call
	// back into this lookup forever; the variable marks the nesting.
	if app.Getenv(qsNestedEnv) != "" {
		return nil, "the base credentials lookup was reached again from inside itself (an AWS profile's credential_process runs tipctl); set base_aws_profile to a profile with its own credentials"
	}
	_ = os.Setenv(qsNestedEnv, "1")
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(p.Region)}
	source := "the standard AWS credential chain"
	if p.BaseAWSProfile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(p.BaseAWSProfile))
		source = "AWS profile " + p.BaseAWSProfile + " (base_aws_profile)"
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, source + ": " + err.Error()
	}
	if cfg.Credentials == nil {
		return nil, source + " has no credentials"
	}
	probe, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(probe); err != nil {
		return nil, source + " has no usable credentials"
	}
	return cfg.Credentials, ""
}

// qsNestedEnv is set while tipctl looks up base credentials through the
// shared AWS configuration; child credential processes inherit it.
const qsNestedEnv = "TIPCTL_BASE_CREDENTIALS_LOOKUP"

// needAdmin returns the administrator configuration or a clear error.
func (e *qsEnv) needAdmin(why string) (aws.Config, error) {
	if e.admin != nil {
		return *e.admin, nil
	}
	return aws.Config{}, Errorf(ExitConfig, fmt.Sprintf("set base_aws_profile in profile %s to an AWS profile allowed to call QuickSight (or AWS_PROFILE / AWS_ACCESS_KEY_ID)", e.p.Name),
		"%s needs administrator credentials, and there are none: %s", why, e.adminWhy)
}

// roleArn picks the role for QuickSight identity-context sessions: the
// flag, the profile's quicksight_role_arn, or the sandbox's snapshot role.
func (e *qsEnv) roleArn(ctx context.Context, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if e.p.QuickSightRoleARN != "" {
		return e.p.QuickSightRoleARN, nil
	}
	if e.p.Provider == config.ProviderSandbox && e.p.EndpointURL != "" {
		if arn := qsSandboxRole(ctx, e.hc, e.p.EndpointURL); arn != "" {
			return arn, nil
		}
	}
	return "", Errorf(ExitConfig, fmt.Sprintf("pass --role-arn, or add quicksight_role_arn to profile %s (`tipctl configure idp --profile %s --config '{\"quicksight_role_arn\": \"arn:aws:iam::ACCOUNT:role/NAME\"}'`)", e.p.Name, e.p.Name),
		"no role to assume with the QuickSight identity context (its trust policy must allow sts:AssumeRole and sts:SetContext)")
}

// qsSandboxRole reads quicksight.snapshot_role from /_sandbox/info.
func qsSandboxRole(ctx context.Context, hc *http.Client, endpoint string) string {
	info, err := fetchSandboxInfo(ctx, hc, strings.TrimSuffix(endpoint, "/"))
	if err != nil {
		return ""
	}
	return info.QuickSight.SnapshotRole
}

// account is the QuickSight account: the role's, else the administrator
// credentials' (sts:GetCallerIdentity).
func (e *qsEnv) account(ctx context.Context, roleArn string) (string, error) {
	if a := quicksight.AccountOf(roleArn); a != "" {
		return a, nil
	}
	admin, err := e.needAdmin("finding the QuickSight account")
	if err != nil {
		return "", err
	}
	out, err := sts.NewFromConfig(admin).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", qsFailure(err, e.p.Name)
	}
	return aws.ToString(out.Account), nil
}

// qsViewer is the person a snapshot is taken for.
type qsViewer struct {
	creds   aws.CredentialsProvider
	who     string
	account string
	flags   string // how to name the same person again (for hints)
}

// viewer builds the person's refreshable identity-enhanced credentials:
// --as (a QuickSight user through GetIdentityContext), else the profile's
// Identity Center session.
func (e *qsEnv) viewer(ctx context.Context, as string, identityCenter bool, namespace, role string) (*qsViewer, error) {
	if as != "" && identityCenter {
		return nil, Errorf(ExitUsage, "pass one of them", "--as and --identity-center name two different people")
	}
	if as != "" {
		admin, err := e.needAdmin("--as (quicksight:GetIdentityContext)")
		if err != nil {
			return nil, err
		}
		arn, err := e.roleArn(ctx, role)
		if err != nil {
			return nil, err
		}
		flags := "--as " + as
		if namespace != "" && namespace != quicksight.DefaultNamespace {
			flags += " --namespace " + namespace
		}
		return &qsViewer{who: as, account: quicksight.AccountOf(arn), flags: flags,
			creds: quicksight.IdentityCredentials(admin, quicksight.IdentityRequest{User: quicksight.ParseUser(as), Namespace: namespace, RoleArn: arn})}, nil
	}
	m, err := e.app.manager(e.p)
	if err != nil {
		return nil, err
	}
	t, err := m.Tokens()
	if err != nil {
		if errors.Is(err, session.ErrLoginRequired) && !identityCenter {
			return nil, &Error{Code: ExitAuth, Err: err, Msg: "no one to take the snapshot as: profile " + e.p.Name + " is not logged in",
				Fix: fmt.Sprintf("run `tipctl auth login --profile %s` (the snapshot then runs as you, through Identity Center), or pass --as EMAIL to run it as a QuickSight user with the administrator credentials", e.p.Name)}
		}
		return nil, failure(err, e.p.Name)
	}
	who := t.Email
	if who == "" {
		who = t.Subject
	}
	creds := quicksight.NewCredentials(func(ctx context.Context, force bool) (aws.Credentials, error) {
		c, err := m.Credentials(ctx, force)
		if err != nil {
			return aws.Credentials{}, err
		}
		return c.AWS(), nil
	})
	return &qsViewer{who: who, account: quicksight.AccountOf(e.p.EnhancedRoleARN), flags: "--identity-center", creds: creds}, nil
}

// qsPerson is qsSetup and viewer for the commands that act as one person
// (snapshot, snapshot-status), with the person's account known.
func qsPerson(ctx context.Context, app *App, as string, identityCenter bool, namespace, role string) (*qsEnv, *qsViewer, error) {
	e, err := qsSetup(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	v, err := e.viewer(ctx, as, identityCenter, namespace, role)
	if err != nil {
		return nil, nil, err
	}
	if v.account == "" {
		if v.account, err = e.account(ctx, ""); err != nil {
			return nil, nil, err
		}
	}
	return e, v, nil
}

// qsFailure maps library errors to exit codes: bad input 2, refusals and
// failed jobs 5; session, network and store errors as everywhere else.
func qsFailure(err error, profile string) error {
	if err == nil {
		return nil
	}
	var ce *Error
	var se *exchange.StepError
	var lte *store.LockTimeoutError
	if errors.As(err, &ce) || errors.Is(err, session.ErrLoginRequired) || errors.As(err, &se) || errors.As(err, &lte) ||
		errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrWrongPassphrase) {
		return failure(err, profile)
	}
	var qe *quicksight.Error
	if errors.As(err, &qe) {
		code := ExitAWS
		switch qe.Kind {
		case quicksight.KindInput, quicksight.KindNotFound:
			code = ExitUsage
		}
		return &Error{Code: code, Msg: qe.Msg, Fix: qe.Fix, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: ExitFailure, Msg: "timed out: " + err.Error(), Err: err,
			Fix: "raise --timeout, or check later with `tipctl quicksight snapshot-status JOB --dashboard DASHBOARD`"}
	}
	return failure(err, profile)
}

func newQSCredentialsCmd(app *App) *cobra.Command {
	var email, userName, userArn, namespace, role string
	var duration time.Duration
	var force bool
	cmd := &cobra.Command{
		Use:   "credentials (--email E | --user-name U | --user-arn A)",
		Short: "Print credential_process JSON for a QuickSight user's identity-enhanced session",
		Long: `Runs quicksight:GetIdentityContext for the user with the administrator
credentials, then sts:AssumeRole with the context (ProvidedContexts, provider
arn:aws:iam::aws:contextProvider/QuickSight), and prints the session as
credential_process JSON on stdout and nothing else:

  [profile alice-qs]
  credential_process = tipctl quicksight credentials --email alice@example.com

Such sessions may call StartDashboardSnapshotJob, DescribeDashboardSnapshotJob
and DescribeDashboardSnapshotJobResult as that user. They are cached in the
secret store until 15 minutes before they expire (--force-new mints new ones).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			u := quicksight.User{Email: email, UserName: userName, Arn: userArn}
			if n := btoi(email != "") + btoi(userName != "") + btoi(userArn != ""); n != 1 {
				return Errorf(ExitUsage, "pass exactly one of --email, --user-name or --user-arn", "name the QuickSight user once (%d given)", n)
			}
			ctx := cmd.Context()
			e, err := qsSetup(ctx, app)
			if err != nil {
				return err
			}
			admin, err := e.needAdmin("quicksight credentials")
			if err != nil {
				return err
			}
			arn, err := e.roleArn(ctx, role)
			if err != nil {
				return err
			}
			req := quicksight.IdentityRequest{User: u, Namespace: namespace, RoleArn: arn, Duration: duration}
			c, err := qsCachedSession(ctx, app, e.p, admin, req, force)
			if err != nil {
				return qsFailure(err, e.p.Name)
			}
			return app.printProcess(c.Process())
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the QuickSight user's email")
	f.StringVar(&userName, "user-name", "", "the QuickSight user name (IAM-federated users: ROLE/SESSION)")
	f.StringVar(&userArn, "user-arn", "", "the QuickSight user ARN")
	f.StringVar(&namespace, "namespace", quicksight.DefaultNamespace, "the QuickSight namespace")
	f.StringVar(&role, "role-arn", "", "role to assume with the context (default: quicksight_role_arn of the profile, or the sandbox's snapshot role)")
	f.DurationVar(&duration, "duration", 0, "session duration (default: STS's, 1h; 15m to 12h as the role allows)")
	f.BoolVar(&force, "force-new", false, "mint a new session even if a cached one is fresh")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// qsCachedSession returns a cached identity-context session, or mints one
// (once for all processes asking at the same time).
func qsCachedSession(ctx context.Context, app *App, p *config.Profile, admin aws.Config, req quicksight.IdentityRequest, force bool) (*session.Credentials, error) {
	ns := req.Namespace
	if ns == "" {
		ns = quicksight.DefaultNamespace
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{req.User.Email, req.User.UserName, req.User.Arn, ns, req.RoleArn, req.Duration.String()}, "\x00")))
	key := "profile/" + p.Name + "/quicksight/" + hex.EncodeToString(sum[:8])
	const kind = "quicksight-credentials"
	decode := func(b []byte) (*session.Credentials, error) {
		it, err := store.DecodeItem(b)
		if err != nil {
			return nil, err
		}
		var c session.Credentials
		if it.Kind != kind {
			return nil, &store.CorruptError{Key: "quicksight credentials", Reason: "unexpected item kind " + it.Kind}
		}
		return &c, it.Unmarshal(&c)
	}
	v, err := app.openVault()
	if err != nil {
		return nil, err
	}
	fresh := func(b []byte) bool {
		if force || b == nil {
			return false
		}
		c, err := decode(b)
		if err != nil {
			return false
		}
		left := time.Until(c.Expiration)
		return left > min(session.Advisory, c.Expiration.Sub(c.IssuedAt)/4)
	}
	b, err := v.GetOrRefresh(ctx, key, fresh, func(ctx context.Context, _ []byte) ([]byte, error) {
		s, err := quicksight.IdentitySession(ctx, admin, req)
		if err != nil {
			return nil, err
		}
		c := &session.Credentials{AccessKeyID: s.Credentials.AccessKeyID, SecretAccessKey: s.Credentials.SecretAccessKey,
			SessionToken: s.Credentials.SessionToken, Expiration: s.Credentials.Expires.UTC(), AssumedRoleArn: s.AssumedRoleArn,
			IssuedAt: time.Now().UTC()}
		return store.EncodeItem(kind, c)
	})
	if err != nil {
		return nil, err
	}
	return decode(b)
}

func newQSDashboardsCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "dashboards",
		Short: "List dashboards with their sheets, visuals and parameters (administrator credentials)",
		Long: `Lists the account's dashboards (ListDashboards) with, for each, its sheets,
visuals and parameters (DescribeDashboard, DescribeDashboardDefinition): the ids
and names ` + "`tipctl quicksight snapshot`" + ` takes. Visuals marked csv/excel are
tables and pivot tables, the only ones QuickSight exports to CSV and Excel.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := qsSetup(ctx, app)
			if err != nil {
				return err
			}
			admin, err := e.needAdmin("listing dashboards")
			if err != nil {
				return err
			}
			acct, err := e.account(ctx, e.p.QuickSightRoleARN)
			if err != nil {
				return err
			}
			list, err := quicksight.ListDashboards(ctx, admin, acct)
			if err != nil {
				return qsFailure(err, e.p.Name)
			}
			out := []*quicksight.Dashboard{}
			for _, s := range list {
				d, err := quicksight.DescribeDashboard(ctx, admin, acct, s.ID)
				if err != nil {
					return qsFailure(err, e.p.Name)
				}
				out = append(out, d)
			}
			if app.JSON() {
				return app.printJSON(out)
			}
			if len(out) == 0 {
				app.say("no dashboards in account %s", acct)
				return nil
			}
			tw := tabwriter.NewWriter(app.text(), 0, 4, 2, ' ', 0)
			for i, d := range out {
				if i > 0 {
					fmt.Fprintln(tw)
				}
				fmt.Fprintf(tw, "%s\t%q\tversion %d\n", d.ID, d.Name, d.Version)
				if len(d.Parameters) > 0 {
					var ps []string
					for _, p := range d.Parameters {
						ps = append(ps, p.Name+" ("+strings.ToLower(p.Type)+")")
					}
					fmt.Fprintf(tw, "  parameters: %s\n", strings.Join(ps, ", "))
				}
				for _, s := range d.Sheets {
					fmt.Fprintf(tw, "  sheet %s\t%q\n", s.ID, s.Name)
					for _, v := range s.Visuals {
						export := ""
						if v.Exportable {
							export = "pdf csv excel"
						} else {
							export = "pdf"
						}
						fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", v.ID, v.Type, v.Title, export)
					}
				}
			}
			return tw.Flush()
		},
	}
}

// qsReadInput reads --cli-input-json: a path, file://path, or - (stdin).
func qsReadInput(app *App, name string) (*quicksight.JobInput, error) {
	name = strings.TrimPrefix(name, "file://")
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(app.Stdin, quicksight.MaxCLIInputJSON+1))
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, Errorf(ExitUsage, "pass the path of the JSON file (file://PATH or PATH), or - for stdin", "--cli-input-json: %v", err)
	}
	in, err := quicksight.ParseCLIInputJSON(data)
	if err != nil {
		return nil, qsFailure(err, "")
	}
	return in, nil
}

func newQSSnapshotCmd(app *App) *cobra.Command {
	var o struct {
		dashboard, as, namespace, role, bucket, prefix, out, jobID, input string
		sheets, visuals, formats, params                                  []string
		identityCenter, noWait                                            bool
		timeout                                                           time.Duration
	}
	cmd := &cobra.Command{
		Use:   "snapshot --dashboard ID|NAME [--sheet S]... [--visual V]... [--format pdf,csv,excel]",
		Short: "Snapshot a dashboard as a person (PDF, CSV, Excel) and download the files",
		Long: `Takes a snapshot of a dashboard as one person, with row-level security applied
for them, and downloads the files.

What:   --sheet (ids or names; default every sheet), --visual (ids, titles or
        SHEET/VISUAL; they go to CSV and Excel, default every table and pivot
        table of the sheets), --format pdf,csv,excel (default pdf, or csv when
        visuals are named), --param Name=Value (repeat a name for several values).
        --cli-input-json FILE takes a StartDashboardSnapshotJob document as the
        AWS CLI does (its UserConfiguration is left out: the job runs as the person).
Who:    --identity-center (your ` + "`tipctl auth login`" + ` session; the default when logged
        in) or --as EMAIL|USER|ARN (a QuickSight user via GetIdentityContext).
Where:  --out DIR (default ./tipctl-snapshots/<dashboard>/<job id>); --bucket and
        --prefix have QuickSight write to S3 first (else it returns download URLs).

QuickSight makes at most 1 PDF (of one sheet), 1 Excel workbook of up to 5
visuals and 5 CSV files (one visual each) per job. tipctl checks the selection
against the dashboard first, then splits it into as many jobs as needed (at
most 8) and says so on stderr. Jobs are polled with backoff; expired
credentials are refreshed and the poll resumes. The paths of the files are
printed on stdout (JSON with --output json).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			formats, err := quicksight.ParseFormats(o.formats)
			if err != nil {
				return qsFailure(err, "")
			}
			var in *quicksight.JobInput
			if o.input != "" {
				if in, err = qsReadInput(app, o.input); err != nil {
					return err
				}
			}
			if o.dashboard == "" && (in == nil || in.DashboardId == "") {
				return Errorf(ExitUsage, "pass --dashboard ID or NAME (`tipctl quicksight dashboards` lists them)", "no dashboard given")
			}
			if o.prefix != "" && o.bucket == "" {
				return Errorf(ExitUsage, "pass --bucket as well", "--prefix needs --bucket")
			}
			ctx := cmd.Context()
			if o.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, o.timeout)
				defer cancel()
			}
			e, v, err := qsPerson(ctx, app, o.as, o.identityCenter, o.namespace, o.role)
			if err != nil {
				return err
			}
			progress, stopProgress := app.liveProgress()
			res, err := quicksight.Snapshot(ctx, quicksight.SnapshotRequest{
				AWS: e.base, Session: v.creds, Admin: e.admin, AccountID: v.account, Dashboard: o.dashboard,
				Selection: quicksight.Selection{Sheets: o.sheets, Visuals: o.visuals, Formats: formats},
				Params:    o.params, Input: in, JobID: o.jobID, Bucket: o.bucket, Prefix: o.prefix, OutDir: o.out,
				NoWait: o.noWait, Progress: progress, Notes: app.Stderr,
			})
			stopProgress()
			if res != nil && (err == nil || len(res.Jobs) > 0) {
				if perr := qsPrintSnapshot(app, res, v, o.noWait); perr != nil {
					return perr
				}
			}
			return qsFailure(err, e.p.Name)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dashboard, "dashboard", "", "dashboard id or name")
	f.StringArrayVar(&o.sheets, "sheet", nil, "sheet id or name (repeatable; default every sheet)")
	f.StringArrayVar(&o.visuals, "visual", nil, "visual id, title or SHEET/VISUAL for CSV and Excel (repeatable)")
	f.StringArrayVar(&o.formats, "format", nil, "pdf, csv, excel (comma-separated or repeated)")
	f.StringArrayVar(&o.params, "param", nil, "dashboard parameter Name=Value (repeatable)")
	f.StringVar(&o.as, "as", "", "take the snapshot as this QuickSight user (email, user name or ARN), via GetIdentityContext")
	f.BoolVar(&o.identityCenter, "identity-center", false, "take the snapshot as yourself, with the profile's Identity Center session")
	f.StringVar(&o.namespace, "namespace", quicksight.DefaultNamespace, "QuickSight namespace of --as")
	f.StringVar(&o.role, "role-arn", "", "role for --as sessions (default: quicksight_role_arn of the profile, or the sandbox's snapshot role)")
	f.StringVar(&o.bucket, "bucket", "", "have QuickSight write the files to this S3 bucket first")
	f.StringVar(&o.prefix, "prefix", "", "key prefix in --bucket (default tipctl-snapshots)")
	f.StringVar(&o.out, "out", "", "directory for the files (default ./tipctl-snapshots/<dashboard>/<job id>)")
	f.StringVar(&o.jobID, "job-id", "", "snapshot job id (default tipctl-<time>-<random>; -1, -2… when split)")
	f.StringVar(&o.input, "cli-input-json", "", "StartDashboardSnapshotJob input as JSON: PATH, file://PATH or - for stdin")
	f.BoolVar(&o.noWait, "no-wait", false, "start the jobs and return; check them with snapshot-status")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up waiting after this long")
	return cmd
}

func qsPrintSnapshot(app *App, res *quicksight.SnapshotResult, v *qsViewer, noWait bool) error {
	if app.JSON() {
		return app.printJSON(res)
	}
	if noWait {
		for _, j := range res.Jobs {
			fmt.Fprintln(app.text(), j.JobID)
		}
		if len(res.Jobs) > 0 {
			app.say("tipctl: started %d job(s) as %s; follow with `tipctl quicksight snapshot-status %s --dashboard %s %s --download`",
				len(res.Jobs), v.who, res.Jobs[0].JobID, res.Dashboard, v.flags)
		}
		return nil
	}
	for _, f := range res.Files {
		fmt.Fprintln(app.text(), f)
	}
	return nil
}

func newQSStatusCmd(app *App) *cobra.Command {
	var dashboard, as, namespace, role, out string
	var identityCenter, download bool
	cmd := &cobra.Command{
		Use:   "snapshot-status JOB --dashboard ID|NAME",
		Short: "Show a snapshot job's status and result (and download its files)",
		Long: `Describes a snapshot job and, once it has ended, its result: the files or
the error. QuickSight shows a user's jobs only to that user, so name the same
person as when the job was started (--as or --identity-center). --download
saves the files of a completed job (default ./tipctl-snapshots/<dashboard>/<job id>).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dashboard == "" {
				return Errorf(ExitUsage, "pass --dashboard ID or NAME", "snapshot-status needs the job's dashboard")
			}
			ctx := cmd.Context()
			e, v, err := qsPerson(ctx, app, as, identityCenter, namespace, role)
			if err != nil {
				return err
			}
			st, err := quicksight.Status(ctx, quicksight.StatusRequest{AWS: e.base, Session: v.creds, Admin: e.admin,
				AccountID: v.account, Dashboard: dashboard, JobID: args[0], Download: download, OutDir: out, Progress: app.progress()})
			if st == nil {
				return qsFailure(err, e.p.Name)
			}
			if app.JSON() {
				if perr := app.printJSON(st); perr != nil {
					return perr
				}
			} else {
				qsPrintStatus(app.text(), st)
			}
			if err != nil {
				return qsFailure(err, e.p.Name)
			}
			if st.Status == quicksight.StatusFailed {
				msg := "snapshot job " + st.JobID + " FAILED"
				if st.Error != nil {
					msg += ": " + st.Error.String()
				}
				return &Error{Code: ExitAWS, Msg: msg}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dashboard, "dashboard", "", "the job's dashboard (id or name)")
	f.StringVar(&as, "as", "", "the QuickSight user who started the job (email, user name or ARN)")
	f.BoolVar(&identityCenter, "identity-center", false, "the job was started with your Identity Center session")
	f.StringVar(&namespace, "namespace", quicksight.DefaultNamespace, "QuickSight namespace of --as")
	f.StringVar(&role, "role-arn", "", "role for --as sessions")
	f.BoolVar(&download, "download", false, "download the files of a completed job")
	f.StringVar(&out, "out", "", "directory for --download")
	return cmd
}

func qsPrintStatus(w io.Writer, st *quicksight.JobStatus) {
	fmt.Fprintf(w, "Job:        %s\nDashboard:  %s\nStatus:     %s\n", st.JobID, st.Dashboard, st.Status)
	if st.Plan != "" {
		fmt.Fprintf(w, "Files:      %s\n", st.Plan)
	}
	if !st.Created.IsZero() {
		fmt.Fprintf(w, "Started:    %s\nUpdated:    %s\n", st.Created.Local().Format(time.RFC3339), st.Updated.Local().Format(time.RFC3339))
	}
	if st.Error != nil {
		fmt.Fprintf(w, "Error:      %s\n", st.Error)
	}
	for _, r := range st.Results {
		what := r.Format
		if r.Sheet != "" {
			what += " " + r.Sheet
		}
		if len(r.Visuals) > 0 {
			what += " (" + strings.Join(r.Visuals, ", ") + ")"
		}
		where := r.URI
		if !strings.HasPrefix(where, "s3://") && where != "" {
			where = "download URL (valid for a few minutes; --download saves the file)"
		}
		if r.Error != nil {
			where = "error: " + r.Error.String()
		}
		fmt.Fprintf(w, "  %s: %s\n", what, where)
	}
	for _, f := range st.Files {
		fmt.Fprintf(w, "Saved:      %s\n", f.Path)
	}
}
