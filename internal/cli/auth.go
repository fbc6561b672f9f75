package cli

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/idp"
	"github.com/tipctl/tipctl/tip/session"
	"github.com/tipctl/tipctl/tip/store"
)

func init() { register(newAuthCmd) }

func newAuthCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Log in at the IdP and get identity-enhanced AWS credentials",
	}
	cmd.AddCommand(newLoginCmd(app), newGetCredsCmd(app), newStatusCmd(app), newRefreshCmd(app), newLogoutCmd(app))
	return cmd
}

// openBrowser opens a URL for the login flow; the demo and tests replace it.
var openBrowser = idp.OpenBrowser

func newLoginCmd(app *App) *cobra.Command {
	var device, browser, noBrowser, verify bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in at the IdP (browser with PKCE, or the device flow)",
		Long: `Signs in at the profile's IdP with the authorization code flow and PKCE
(S256): the browser is sent to the IdP and comes back to 127.0.0.1 on a
random port. Under SSH, on WSL, or on Linux without a display the device flow
is used instead, unless BROWSER names the browser to use (--device forces it,
--browser forbids it). --no-browser prints the URL instead of opening it.

Only the IdP tokens are stored; AWS credentials are minted on first use.
--verify also runs the whole exchange once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, m, err := app.session()
			if err != nil {
				return err
			}
			// A store that cannot be written fails now, not after the sign-in.
			if err := m.PreflightLogin(); err != nil {
				return failure(err, p.Name)
			}
			cfg := m.IdP.(*session.OIDC).Config
			useDevice := device
			if !device && !browser && !noBrowser {
				if prefer, why := idp.PreferDevice(app.Getenv); prefer {
					app.say("tipctl: using the device flow (%s); pass --browser to open a browser instead", why)
					useDevice = true
				}
			}
			var t *idp.Tokens
			if useDevice {
				t, err = idp.DeviceLogin(cmd.Context(), cfg, idp.DeviceOptions{Out: app.Stderr})
			} else {
				t, err = idp.Login(cmd.Context(), cfg, idp.LoginOptions{Open: openBrowser, NoBrowser: noBrowser, Out: app.Stderr, Timeout: timeout})
			}
			if err != nil {
				return loginFailure(err, p.Name, useDevice)
			}
			st := session.TokensOf(t)
			st.LoggedInAt = time.Now().UTC()
			if err := m.SaveLogin(cmd.Context(), st); err != nil {
				return failure(err, p.Name)
			}
			out := map[string]any{"profile": p.Name, "email": st.Email, "subject": st.Subject,
				"id_token_expiry": st.Expiry.UTC().Format(time.RFC3339), "refreshable": st.RefreshToken != ""}
			if verify {
				c, err := m.Credentials(cmd.Context(), true)
				if err != nil {
					return failure(err, p.Name)
				}
				out["assumed_role_arn"] = c.AssumedRoleArn
				out["credentials_expiry"] = c.Expiration.UTC().Format(time.RFC3339)
			}
			if app.JSON() {
				return app.printJSON(out)
			}
			who := st.Email
			if who == "" {
				who = st.Subject
			}
			until := st.Expiry.Local().Format("2006-01-02 15:04 MST")
			refresh := ""
			if st.RefreshToken != "" {
				refresh = ", renewed automatically"
			}
			fmt.Fprintf(app.text(), "Logged in as %s (profile %s) until %s%s.\n", who, p.Name, until, refresh)
			if m.Vault.KeyBesideData() {
				app.say("tipctl: note: %s", store.WeakStoreNote)
			}
			if c, ok := out["assumed_role_arn"]; ok {
				fmt.Fprintf(app.text(), "Identity-enhanced session: %s (until %s)\n", c, out["credentials_expiry"])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&device, "device", false, "use the device authorization flow")
	f.BoolVar(&browser, "browser", false, "use the browser flow even under SSH or without a display")
	f.BoolVar(&noBrowser, "no-browser", false, "print the login URL instead of opening a browser")
	f.BoolVar(&verify, "verify", false, "also run the exchange once and show the identity-enhanced session")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the sign-in")
	return cmd
}

func loginFailure(err error, profile string, device bool) error {
	var oe *idp.OAuthError
	var ue *idp.UnreachableError
	switch {
	case errors.Is(err, idp.ErrLoginTimeout):
		fix := "run `tipctl auth login` again"
		if !device {
			fix += ", or use --device or --no-browser"
		}
		return &Error{Code: ExitAuth, Msg: err.Error(), Fix: fix, Err: err}
	case errors.Is(err, idp.ErrStateMismatch), errors.Is(err, idp.ErrNonceMismatch):
		return &Error{Code: ExitAuth, Msg: err.Error(), Fix: "the sign-in response did not belong to this login; run `tipctl auth login` again", Err: err}
	case errors.As(err, &oe):
		return &Error{Code: ExitAuth, Msg: err.Error(), Fix: "check the profile's client id, scopes and redirect settings at the IdP", Err: err}
	case errors.As(err, &ue):
		return &Error{Code: ExitNetwork, Msg: err.Error(), Fix: "check the issuer URL in the profile (`tipctl configure show`) and the network", Err: err}
	}
	return failure(err, profile)
}

func newGetCredsCmd(app *App) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "get-iam-credentials",
		Short: "Print identity-enhanced credentials as credential_process JSON",
		Long: `Prints {"Version":1,"AccessKeyId",...,"Expiration"} on stdout and nothing
else, for the AWS CLI and SDKs:

  [profile analytics]
  credential_process = tipctl auth get-iam-credentials --profile default

Cached credentials are returned while they have more than 15 minutes left;
otherwise the IdP token is refreshed if needed and the exchange runs once,
however many processes ask at the same time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, m, err := app.session()
			if err != nil {
				return err
			}
			c, err := m.Credentials(cmd.Context(), force)
			if err != nil {
				return failure(err, p.Name)
			}
			return app.printProcess(c.Process())
		},
	}
	cmd.Flags().BoolVar(&force, "force-new", false, "mint new credentials even if cached ones are fresh")
	return cmd
}

func newStatusCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show who is logged in and what is cached (no secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, m, err := app.session()
			if err != nil {
				return err
			}
			s, err := m.Status()
			if err != nil {
				return failure(err, p.Name)
			}
			if app.JSON() {
				if err := app.printJSON(s); err != nil {
					return err
				}
				return statusExit(s)
			}
			printStatus(app, s)
			return statusExit(s)
		},
	}
}

func orDash(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return "-"
}

func until(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	d := t.Sub(now).Round(time.Second)
	if d <= 0 {
		return fmt.Sprintf("expired %s ago (%s)", (-d).String(), t.Local().Format(time.RFC3339))
	}
	return fmt.Sprintf("valid for %s (until %s)", d.String(), t.Local().Format(time.RFC3339))
}

func newRefreshCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh",
		Short: "Refresh the IdP tokens and mint new AWS credentials now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, m, err := app.session()
			if err != nil {
				return err
			}
			if _, err := m.RefreshIdP(cmd.Context()); err != nil {
				return failure(err, p.Name)
			}
			c, err := m.Credentials(cmd.Context(), true)
			if err != nil {
				return failure(err, p.Name)
			}
			if app.JSON() {
				return app.printJSON(map[string]any{"profile": p.Name, "assumed_role_arn": c.AssumedRoleArn,
					"credentials_expiry": c.Expiration.UTC().Format(time.RFC3339)})
			}
			fmt.Fprintf(app.text(), "Refreshed profile %s: %s until %s.\n", p.Name, c.AssumedRoleArn, c.Expiration.Local().Format(time.RFC3339))
			return nil
		},
	}
}

func newLogoutCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the IdP session where supported and wipe the stored secrets",
		Long: `Revokes the refresh token at the IdP when it supports revocation, then
deletes the profile's tokens and cached credentials. It works even when the
stored secrets are corrupt, so it is the way out of a broken store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := app.profileName()
			// Without a valid profile there is nothing to revoke, but the
			// secrets of that name can still be wiped.
			p, m, err := app.wipeSession()
			if err != nil {
				return wipeUnopenable(app, name, err)
			}
			if p.Issuer == "" {
				m.IdP = nil
			}
			revoked, err := m.Logout(cmd.Context())
			if err != nil {
				return failure(err, name)
			}
			msg := "Logged out of profile " + name + ": stored tokens and credentials wiped"
			if revoked {
				msg += "; the IdP session was revoked"
			}
			if app.JSON() {
				return app.printJSON(map[string]any{"profile": name, "wiped": true, "revoked": revoked})
			}
			fmt.Fprintln(app.text(), msg+".")
			return nil
		},
	}
}

// idpConfig builds the IdP client configuration of a profile.
func idpConfig(p *config.Profile, hc *http.Client, getenv func(string) string) idp.Config {
	c := idp.Config{Issuer: p.Issuer, ClientID: p.ClientID, Scopes: p.EffectiveScopes(), RedirectPort: p.RedirectPort, AuthParams: p.AuthParams,
		HTTPClient: hc, Endpoints: idp.Endpoints{AuthURL: p.IdP.Authorization, TokenURL: p.IdP.Token, DeviceAuthURL: p.IdP.Device,
			RevocationURL: p.IdP.Revocation, UserInfoURL: p.IdP.UserInfo, JWKSURL: p.IdP.JWKS}, DiscoveryURL: p.IdP.Discovery}
	if d, err := config.Paths(); err == nil {
		c.Cache = idp.DirCache{Dir: filepath.Join(d.State, "cache")}
	}
	if ref, err := config.ParseSecretRef(p.ClientSecretRef); err == nil && ref.Scheme == "env" {
		c.ClientSecret = getenv(ref.Name)
	}
	return c
}
