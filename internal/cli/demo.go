package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/sandbox"
	sbidp "github.com/tipctl/tipctl/sandbox/idp"
	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/idp"
	"github.com/tipctl/tipctl/tip/session"
)

func init() { register(newDemoCmd) }

// demo plays a person's day against an in-process sandbox, through the
// same code paths as the commands.
type demo struct {
	app  *App
	ctx  context.Context
	sb   *sandbox.Sandbox
	step int
	out  io.Writer
	mgr  *session.Manager
	prof *config.Profile
	hc   *http.Client
	// extra steps registered by other command groups (S3, QuickSight).
	outDir string
}

// demoSteps are the steps after the identity-enhanced session exists; other
// command files append theirs in init.
var demoSteps []func(d *demo) error

func newDemoCmd(app *App) *cobra.Command {
	var keep bool
	var outDir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Play the whole flow offline against a built-in sandbox",
		Long: `Starts an in-process sandbox and plays a person's day: alice signs in on the
sandbox login page as a browser would, gets identity-enhanced AWS credentials,
and uses them. Everything runs locally; nothing touches AWS. The profile and
secrets live in a temporary TIPCTL_HOME that is removed afterwards.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d := &demo{app: app, ctx: cmd.Context(), out: app.Stdout, outDir: outDir}
			return d.run(keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary TIPCTL_HOME and print its path")
	cmd.Flags().StringVar(&outDir, "out", "tipctl-demo-output", "where to write the demo's files")
	return cmd
}

// do runs one step and prints its line with the step's duration.
func (d *demo) do(name string, f func() (string, error)) error {
	d.step++
	start := time.Now()
	msg, err := f()
	el := time.Since(start)
	if err != nil {
		fmt.Fprintf(d.out, "%2d. %-13s FAILED: %v\n", d.step, name, err)
		return err
	}
	lines := strings.Split(msg, "\n")
	fmt.Fprintf(d.out, "%2d. %-13s %s  [%s]\n", d.step, name, lines[0], fmtDur(el))
	for _, l := range lines[1:] {
		fmt.Fprintf(d.out, "    %-13s %s\n", "", l)
	}
	return nil
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return d.Round(time.Millisecond).String()
}

func (d *demo) run(keep bool) error {
	fmt.Fprintln(d.out, "tipctl demo: trusted identity propagation, offline, against the built-in sandbox")
	fmt.Fprintln(d.out)
	home, err := os.MkdirTemp("", "tipctl-demo-")
	if err != nil {
		return err
	}
	if keep {
		defer d.app.say("tipctl demo: kept TIPCTL_HOME=%s", home)
	} else {
		defer os.RemoveAll(home)
	}
	for k, v := range map[string]string{"TIPCTL_HOME": home, "TIPCTL_KEYRING_BACKEND": "file", "TIPCTL_FILE_PASSPHRASE": ""} {
		restore := os.Getenv(k)
		_ = os.Setenv(k, v)
		defer os.Setenv(k, restore)
	}
	if d.hc, err = d.app.httpClient(); err != nil {
		return err
	}

	if err := d.do("sandbox", func() (string, error) {
		sb, err := sandbox.Start(sandbox.Options{})
		if err != nil {
			return "", err
		}
		d.sb = sb
		return "started at " + sb.URL() + ": IdP, Identity Center, STS, S3, Access Grants, QuickSight", nil
	}); err != nil {
		return err
	}
	defer d.sb.Close()

	if err := d.do("profile", func() (string, error) {
		p, err := sandboxProfile(d.ctx, d.hc, d.sb.URL(), "demo")
		if err != nil {
			return "", err
		}
		cfg, err := config.Load()
		if err != nil {
			return "", err
		}
		if err := cfg.Set(p); err != nil {
			return "", err
		}
		if err := cfg.Save(); err != nil {
			return "", err
		}
		d.prof = p
		return fmt.Sprintf("%q written from /_sandbox/info (what `tipctl configure sandbox` does)", p.Name), nil
	}); err != nil {
		return err
	}
	d.app.Profile = d.prof.Name
	if d.mgr, err = d.app.manager(d.prof); err != nil {
		return err
	}

	if err := d.do("login", d.login); err != nil {
		return err
	}
	var creds *session.Credentials
	if err := d.do("credentials", func() (string, error) {
		before := d.sb.Env.Stats.Snapshot()
		c, err := d.mgr.Credentials(d.ctx, false)
		if err != nil {
			return "", failure(err, d.prof.Name)
		}
		creds = c
		after := d.sb.Env.Stats.Snapshot()
		calls := 0
		for _, op := range []string{"sts:AssumeRoleWithWebIdentity", "sso-oauth:CreateTokenWithIAM", "sts:AssumeRole"} {
			calls += int(after[op] - before[op])
		}
		return fmt.Sprintf("identity-enhanced session in %d AWS calls:\n"+
			"AssumeRoleWithWebIdentity -> CreateTokenWithIAM -> AssumeRole(ProvidedContexts=IdentityCenter)\n"+
			"valid until %s", calls, c.Expiration.Local().Format(time.RFC3339)), nil
	}); err != nil {
		return err
	}
	if err := d.do("who am I", func() (string, error) {
		cfg, err := d.awsConfig(creds)
		if err != nil {
			return "", err
		}
		who, err := sts.NewFromConfig(cfg).GetCallerIdentity(d.ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", err
		}
		msg := "GetCallerIdentity: " + aws.ToString(who.Arn)
		if p, ok := d.sb.Env.Registry.Resolve(creds.AccessKeyID, creds.SessionToken); ok && p.Context != nil {
			msg += fmt.Sprintf("\nthe session carries Identity Center user %s (%s), groups %s",
				p.Context.UserName, p.Context.UserID, strings.Join(p.Context.GroupNames(), ", "))
		}
		return msg, nil
	}); err != nil {
		return err
	}
	if err := d.do("cached", func() (string, error) {
		before := d.sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM")
		c, err := d.mgr.Credentials(d.ctx, false)
		if err != nil {
			return "", err
		}
		if c.AccessKeyID != creds.AccessKeyID || d.sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != before {
			return "", fmt.Errorf("the second request was not served from the cache")
		}
		return "credential_process again: same session from the encrypted store, 0 AWS calls", nil
	}); err != nil {
		return err
	}
	for _, s := range demoSteps {
		if err := s(d); err != nil {
			return err
		}
	}
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, "Next: `tipctl sandbox` serves the same world on a port; `tipctl configure sandbox` and `tipctl auth login` use it for real.")
	return nil
}

// login signs alice in through the real browser flow: tipctl's loopback
// listener, PKCE and state; the "browser" fills in the sandbox login page.
func (d *demo) login() (string, error) {
	const email, password = "alice@example.com", "alice-sandbox-pw"
	var port string
	open := func(authURL string) error {
		if u, err := url.Parse(authURL); err == nil {
			if r, err := url.Parse(u.Query().Get("redirect_uri")); err == nil {
				port = r.Port()
			}
		}
		loc, err := sbidp.FollowLogin(d.ctx, d.hc, authURL, email, password)
		if err != nil {
			return err
		}
		resp, err := d.hc.Get(loc.String())
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	cfg := d.mgr.IdP.(*session.OIDC).Config
	t, err := idp.Login(d.ctx, cfg, idp.LoginOptions{Open: open, Out: io.Discard, Timeout: time.Minute})
	if err != nil {
		return "", loginFailure(err, d.prof.Name, false)
	}
	st := session.TokensOf(t)
	st.LoggedInAt = time.Now().UTC()
	if err := d.mgr.SaveLogin(d.ctx, st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s signed in on the sandbox login page, as a browser would\n"+
		"(authorization code + PKCE S256, redirect to 127.0.0.1:%s, state and nonce checked)\n"+
		"only the IdP tokens are stored; AWS credentials are minted on first use", st.Email, port), nil
}

// awsConfig is an SDK configuration for the demo's sandbox with creds.
func (d *demo) awsConfig(c *session.Credentials) (aws.Config, error) {
	return awsconf.New(awsconf.Options{Region: d.prof.Region, Endpoint: d.prof.EndpointURL, HTTPClient: d.hc,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c.AWS(), nil })})
}
