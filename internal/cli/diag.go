package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/diag"
	"github.com/tipctl/tipctl/tip/session"
)

func init() { register(newDiagCmd) }

// diagOptions are the flags of tipctl diag.
type diagOptions struct {
	jwt, jwtFile                   string
	appArn, bridgeArn, enhancedArn string
	endpoint, region               string
	noE2E                          bool
	services                       []string
}

func newDiagCmd(app *App) *cobra.Command {
	var o diagOptions
	cmd := &cobra.Command{
		Use:   "diag [--jwt TOKEN | --jwt-file FILE] [--application-arn ARN] [--bridge-role-arn ARN] [--enhanced-role-arn ARN]",
		Short: "Tell exactly why the identity chain fails and how to fix it",
		Long: `Checks every link of trusted identity propagation with the administrator (base)
credentials and prints a checklist: the IdP token (structure, expiry, clock skew,
discovery, signature), the Identity Center application (enabled, customer managed,
jwt-bearer grant, trusted token issuer, audience, user mapping, external ids,
assignment, scopes, actor policy) and IAM (OIDC provider, the bridge and the
identity-enhanced roles' trust policies, linted). With --services it also checks
each scope's authorized targets against the services used (and Redshift's and
Q Business's own Identity Center application), the jti claim Redshift requires,
and that the S3 Access Grants instance uses the same Identity Center instance. It ends with a real dry run of
the three calls, which reports the first failing step with its AWS error code.

The dry run exchanges the token with Identity Center, which accepts each token
once: log in again afterwards, or pass --no-e2e to leave the token unused.

Each check is PASS, WARN, FAIL or SKIP; every WARN and FAIL comes with its fix.
A check the credentials may not perform is a SKIP naming the IAM action needed.
Exits 1 when a check fails.

The token defaults to the profile's stored login (tipctl auth login; refreshed
when already used, and refreshed again after the dry run used it). The ARNs,
region and endpoint default to the profile's. The base credentials
come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile's sandbox keys,
or the AWS profile (AWS_PROFILE, or the profile's base_aws_profile). They need:
  ` + strings.Join(diag.Actions(), ", "),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDiag(cmd, app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.jwt, "jwt", "", "the IdP id_token to diagnose")
	f.StringVar(&o.jwtFile, "jwt-file", "", "read the id_token from FILE (- for stdin)")
	f.StringVar(&o.appArn, "application-arn", "", "Identity Center application ARN (default: the profile's)")
	f.StringVar(&o.bridgeArn, "bridge-role-arn", "", "bridge role ARN (default: the profile's)")
	f.StringVar(&o.enhancedArn, "enhanced-role-arn", "", "identity-enhanced role ARN (default: the profile's)")
	f.StringVar(&o.endpoint, "endpoint-url", "", "send every AWS call here, e.g. the sandbox (default: the profile's, or AWS_ENDPOINT_URL)")
	f.StringVar(&o.region, "region", "", "AWS region (default: the profile's Identity Center region, AWS_REGION, us-east-1)")
	f.BoolVar(&o.noE2E, "no-e2e", false, "skip the dry run, so the token stays unused")
	f.StringSliceVar(&o.services, "services", nil, "services used with the sessions ("+strings.Join(diag.ServiceNames(), ",")+"): checks their scopes, the jti claim and the S3 Access Grants instance")
	return cmd
}

func runDiag(cmd *cobra.Command, app *App, o diagOptions) error {
	if o.jwt != "" && o.jwtFile != "" {
		return Errorf(ExitUsage, "pass one of them", "--jwt and --jwt-file cannot be used together")
	}
	token := o.jwt
	if o.jwtFile != "" {
		b, err := readPolicyInput(app, o.jwtFile)
		if err != nil {
			return err
		}
		token = strings.TrimSpace(string(b))
	}
	prof, err := diagProfile(app)
	if err != nil {
		return err
	}
	var stored *session.Manager
	if token == "" && prof != nil {
		token, stored = diagStoredToken(cmd.Context(), app, prof)
	}
	for _, sv := range o.services {
		if _, ok := diag.Services[sv]; !ok {
			return Errorf(ExitUsage, "pass --services from "+strings.Join(diag.ServiceNames(), ","), "unknown service %q", sv)
		}
	}
	in := diag.Input{Token: token, ApplicationArn: o.appArn, BridgeRoleArn: o.bridgeArn, EnhancedRoleArn: o.enhancedArn,
		SkipE2E: o.noE2E, Services: o.services}
	endpoint, region := o.endpoint, o.region
	var accessKey, secretKey, sharedProfile string
	if prof != nil {
		in.ApplicationArn = genFirstNonEmpty(in.ApplicationArn, prof.ApplicationARN)
		in.BridgeRoleArn = genFirstNonEmpty(in.BridgeRoleArn, prof.BridgeRoleARN)
		in.EnhancedRoleArn = genFirstNonEmpty(in.EnhancedRoleArn, prof.EnhancedRoleARN)
		endpoint = genFirstNonEmpty(endpoint, prof.EndpointURL)
		region = genFirstNonEmpty(region, prof.ICRegion())
		accessKey, secretKey, sharedProfile = prof.SandboxAdminKeyID, prof.SandboxAdminSecretKey, prof.BaseAWSProfile
	}
	region = genFirstNonEmpty(region, app.Getenv("AWS_REGION"), app.Getenv("AWS_DEFAULT_REGION"), "us-east-1")

	creds, err := diagCredentials(cmd, app, accessKey, secretKey, sharedProfile, region)
	if err != nil {
		return err
	}
	hc, err := app.httpClient()
	if err != nil {
		return err
	}
	cfg, err := awsconf.New(awsconf.Options{Region: region, Endpoint: endpoint, Credentials: creds, HTTPClient: hc,
		Getenv: app.Getenv, MaxAttempts: 2})
	if err != nil {
		return Errorf(ExitConfig, "", "%v", err)
	}
	in.AWS, in.HTTPClient = cfg, hc
	if t, err := storedTokens(stored); err == nil && t.RefreshToken != "" {
		in.RenewsToken = true
	}
	if !o.noE2E && token != "" {
		app.say("tipctl diag: the dry run at the end exchanges the token with Identity Center (once only); --no-e2e leaves it unused")
	}
	rep := diag.Run(cmd.Context(), in)
	renewed := false
	if rep.Summary.TokenConsumed && stored != nil {
		renewed = diagReplaceStoredToken(cmd.Context(), app, stored)
	}
	if app.JSON() {
		if err := app.printJSON(rep); err != nil {
			return err
		}
	} else {
		writeDiagText(app.Stdout, rep, diagColor(app), renewed)
	}
	if rep.Failed() {
		return &Error{Code: ExitFailure, Msg: fmt.Sprintf("diag: %d check(s) failed, the first is %s", rep.Summary.Fail, rep.Summary.FirstFailure),
			Fix: "apply the fixes shown, then run tipctl diag again with a fresh token"}
	}
	return nil
}

// diagStoredToken returns the id_token stored by `tipctl auth login` for
// profile p, refreshed first when it was already exchanged or is about to
// expire. Without a stored login it returns "" (diag then says so).
func diagStoredToken(ctx context.Context, app *App, p *config.Profile) (string, *session.Manager) {
	m, err := app.manager(p)
	if err != nil {
		app.say("tipctl diag: cannot open the secret store (%v); pass the token with --jwt", err)
		return "", nil
	}
	t, err := m.Tokens()
	if err != nil {
		app.say("tipctl diag: no stored login for profile %s (%v); log in with `tipctl auth login --profile %s` or pass --jwt", p.Name, err, p.Name)
		return "", nil
	}
	if (t.IDTokenUsed || time.Until(t.Expiry) < session.IDTokenMargin) && t.RefreshToken != "" {
		if nt, err := m.RefreshIdP(ctx); err == nil {
			t = nt
		} else {
			app.say("tipctl diag: the stored id_token was used or expires soon and could not be refreshed (%v)", err)
		}
	}
	app.say("tipctl diag: diagnosing the stored login of profile %s (%s)", p.Name, genFirstNonEmpty(t.Email, t.Subject))
	return t.IDToken, m
}

// diagReplaceStoredToken leaves the stored session usable after the dry
// run exchanged its id_token: it refreshes the token through the IdP, or
// marks it used so the next credentials ask for a new login. It reports
// whether the stored login is usable again.
func diagReplaceStoredToken(ctx context.Context, app *App, m *session.Manager) bool {
	if _, err := m.RefreshIdP(ctx); err == nil {
		app.say("tipctl diag: the dry run used the stored id_token; refreshed it through the IdP, so the login works as before")
		return true
	}
	t, err := m.Tokens()
	if err == nil {
		t.IDTokenUsed = true
		err = m.SaveLogin(ctx, t)
	}
	if err != nil {
		app.say("tipctl diag: the dry run used the stored id_token and it could not be replaced (%v)", err)
	}
	app.say("tipctl diag: the dry run used the stored id_token; log in again: tipctl auth login --profile %s", m.Profile.Name)
	return false
}

// storedTokens are the stored login's tokens, when diag uses one.
func storedTokens(m *session.Manager) (*session.Tokens, error) {
	if m == nil {
		return nil, errors.New("no stored login")
	}
	return m.Tokens()
}

// diagProfile returns the selected profile when there is one; diag also
// runs from flags alone. A profile named explicitly must exist.
func diagProfile(app *App) (*config.Profile, error) {
	p, _, err := setupProfile(app)
	return p, err
}

// diagCredentials picks the base (administrator) credentials: the
// environment's keys, the profile's sandbox keys, else the shared AWS
// config (AWS_PROFILE or the profile's base_aws_profile).
func diagCredentials(cmd *cobra.Command, app *App, accessKey, secretKey, sharedProfile, region string) (aws.CredentialsProvider, error) {
	if id, secret := app.Getenv("AWS_ACCESS_KEY_ID"), app.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		return credentials.NewStaticCredentialsProvider(id, secret, app.Getenv("AWS_SESSION_TOKEN")), nil
	}
	if accessKey != "" && secretKey != "" {
		return credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""), nil
	}
	// No SDK log lines on stderr: a missing credential is reported once,
	// as the aws.credentials result.
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(region), awsconfig.WithLogger(logging.Nop{})}
	if p := genFirstNonEmpty(app.Getenv("AWS_PROFILE"), sharedProfile); p != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(p))
	}
	cfg, err := awsconfig.LoadDefaultConfig(cmd.Context(), opts...)
	if err != nil {
		return nil, Errorf(ExitConfig, "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for an identity allowed to read Identity Center and IAM",
			"cannot load the base AWS credentials: %v", err)
	}
	return cfg.Credentials, nil
}

// diagIsTerminal reports whether w is a terminal; tests replace it.
var diagIsTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// diagColor: colour only on a terminal, never with --no-color or NO_COLOR.
func diagColor(app *App) bool {
	return !app.NoColor && app.Getenv("NO_COLOR") == "" && diagIsTerminal(app.Stdout)
}

var statusColor = map[diag.Status]string{diag.Pass: "\x1b[32m", diag.Warn: "\x1b[33m", diag.Fail: "\x1b[1;31m", diag.Skip: "\x1b[36m"}

// writeDiagText prints the report as a checklist.
// renewed says the stored login was refreshed after the dry run used its
// token, so nothing needs to be done about it.
func writeDiagText(w io.Writer, rep *diag.Report, color, renewed bool) {
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.ID))
	}
	indent := strings.Repeat(" ", 2+4+2+width+2)
	for _, c := range rep.Checks {
		status := string(c.Status)
		if color {
			status = statusColor[c.Status] + status + "\x1b[0m"
		}
		fmt.Fprintf(w, "  %s  %-*s  %s\n", status, width, Sanitize(c.ID), Sanitize(c.Message))
		if c.Fix != "" {
			label := "fix: "
			if c.Status == diag.Skip {
				label = "needs: "
			}
			if color {
				label = "\x1b[1m" + label + "\x1b[0m"
			}
			fmt.Fprintf(w, "%s%s%s\n", indent, label, Sanitize(c.Fix))
		}
	}
	s := rep.Summary
	line := fmt.Sprintf("%d passed, %d warning(s), %d failed, %d skipped", s.Pass, s.Warn, s.Fail, s.Skip)
	switch {
	case s.Fail > 0:
		line += fmt.Sprintf(" — start with %s", s.FirstFailure)
	case s.Warn == 0 && s.Skip == 0:
		line += " — the chain works"
	}
	fmt.Fprintln(w, line)
	if s.TokenConsumed && !renewed {
		fmt.Fprintln(w, "The dry run exchanged the token with Identity Center, which accepts it once: log in again before using it.")
	}
}
