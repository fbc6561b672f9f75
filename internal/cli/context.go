package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/exchange"
	"github.com/tipctl/tipctl/tip/idp"
	"github.com/tipctl/tipctl/tip/session"
	"github.com/tipctl/tipctl/tip/store"
)

// profileName is the effective profile: --profile, TIPCTL_PROFILE, "default".
func (a *App) profileName() string {
	if a.Profile != "" {
		return a.Profile
	}
	if p := a.env(config.EnvProfile); p != "" {
		return p
	}
	return config.DefaultProfile
}

// loadProfile loads and validates the selected profile.
func (a *App) loadProfile() (*config.Profile, error) {
	_, p, err := a.loadConfigProfile()
	return p, err
}

// loadConfigProfile is loadProfile that also returns the configuration
// the profile comes from.
func (a *App) loadConfigProfile() (*config.Config, *config.Profile, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, configError(err)
	}
	p, err := cfg.Get(a.profileName())
	if err != nil {
		return nil, nil, configError(err)
	}
	if err := a.applyDuration(p); err != nil {
		return nil, nil, err
	}
	return cfg, p, nil
}

// configError is a configuration failure: exit code 3, the error's message.
func configError(err error) error {
	return &Error{Code: ExitConfig, Msg: err.Error(), Err: err}
}

// DefaultHTTPTimeout bounds each HTTP call (TIPCTL_HTTP_TIMEOUT overrides it).
const DefaultHTTPTimeout = 30 * time.Second

// httpClient is the client for every call; --debug traces it to stderr.
func (a *App) httpClient() (*http.Client, error) {
	c, err := awsconf.NewHTTPClient(a.env("AWS_CA_BUNDLE"))
	if err != nil {
		return nil, Errorf(ExitConfig, "point AWS_CA_BUNDLE at a PEM file", "%v", err)
	}
	c.Timeout = DefaultHTTPTimeout
	if v := a.env("TIPCTL_HTTP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, Errorf(ExitConfig, "use a duration such as 30s", "TIPCTL_HTTP_TIMEOUT=%q is not a duration", v)
		}
		c.Timeout = d
	}
	if a.Debug {
		c = awsconf.Trace(c, a.Stderr)
	}
	return c, nil
}

// openVault opens the secret store.
func (a *App) openVault() (*store.Vault, error) {
	v, err := store.Open(store.Options{})
	if err != nil {
		return nil, storeError(err, a.profileName())
	}
	return v, nil
}

// manager builds the session manager of profile p.
func (a *App) manager(p *config.Profile) (*session.Manager, error) {
	v, err := a.openVault()
	if err != nil {
		return nil, err
	}
	hc, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	return &session.Manager{
		Profile: p, Vault: v, HTTP: hc, Getenv: a.Getenv, Now: clock,
		MinLifetime: minLifetime(a.duration),
		Ambient:     a.ambientCredentials(p),
		IdP:         &session.OIDC{Config: idpConfig(p, hc, a.Getenv)},
		Warn:        func(format string, args ...any) { a.say(format, args...) },
	}, nil
}

// session loads the selected profile and builds its session manager: the
// start of every command that acts as the person logged in.
func (a *App) session() (*config.Profile, *session.Manager, error) {
	p, err := a.loadProfile()
	if err != nil {
		return nil, nil, err
	}
	m, err := a.manager(p)
	if err != nil {
		return nil, nil, err
	}
	return p, m, nil
}

// wipeSession is session for the commands that delete stored secrets: a
// profile that cannot be loaded still names the secrets to delete.
func (a *App) wipeSession() (*config.Profile, *session.Manager, error) {
	p, err := a.loadProfile()
	if err != nil {
		p = &config.Profile{Name: a.profileName()}
	}
	m, err := a.manager(p)
	if err != nil {
		return nil, nil, err
	}
	return p, m, nil
}

// notNested refuses to start a command with a profile's credentials
// inside another one (`tipctl exec`, `tipctl serve --exec`).
func (a *App) notNested() error {
	if v := a.env(EnvExecProfile); v != "" {
		return Errorf(ExitUsage, "exit that shell first", "already inside `tipctl exec` for profile %s", v)
	}
	return nil
}

// printProcess writes credentials as credential_process JSON: one line on
// stdout and nothing else.
func (a *App) printProcess(c session.ProcessJSON) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = a.Stdout.Write(append(b, '\n'))
	return err
}

// canAsk reports whether there is a terminal to ask questions on.
func (a *App) canAsk() bool { return isTTY(a.Stdin) && isTTY(a.Stderr) }

// progress is where long operations draw their progress: stderr when it is
// a terminal, else nowhere (nil).
func (a *App) progress() io.Writer {
	if isTTY(a.Stderr) {
		return a.Stderr
	}
	return nil
}

// isTTY reports whether f is a terminal.
func isTTY(f any) bool {
	if file, ok := f.(*os.File); ok {
		return term.IsTerminal(int(file.Fd()))
	}
	return false
}

// failure turns any error from the session, the exchange or the store into
// a one-line CLI error with its fix.
func failure(err error, profile string) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	login := fmt.Sprintf("run `tipctl auth login --profile %s`", profile)
	var se *exchange.StepError
	var lre *session.LoginRequiredError
	var lte *store.LockTimeoutError
	var netErr net.Error
	var unreachable *idp.UnreachableError
	if le := localError(err); le != nil {
		return le // before net.Error: syscall.Errno satisfies it
	}
	switch {
	case errors.As(err, &unreachable):
		return &Error{Code: ExitNetwork, Msg: err.Error(), Err: err}
	case errors.As(err, &lre):
		return &Error{Code: ExitAuth, Msg: lre.Error(), Fix: login, Err: err}
	case errors.Is(err, session.ErrLoginRequired):
		return &Error{Code: ExitAuth, Msg: "login required for profile " + profile, Fix: login, Err: err}
	case errors.As(err, &se):
		code := ExitAWS
		if se.Code == "" && strings.Contains(se.Message, "could not be reached") {
			code = ExitNetwork
		}
		return &Error{Code: code, Msg: se.Error(), Fix: se.Hint, Err: err}
	case errors.As(err, &lte):
		return &Error{Code: ExitBusy, Msg: lte.Error(), Err: err}
	case errors.Is(err, store.ErrCorrupt), errors.Is(err, store.ErrInsecurePermissions), errors.Is(err, store.ErrWrongPassphrase):
		return storeError(err, profile)
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: ExitNetwork, Msg: "timed out: " + err.Error(), Fix: "check the network and the endpoints in the profile", Err: err}
	case errors.As(err, &netErr):
		return &Error{Code: ExitNetwork, Msg: err.Error(), Fix: "check the network and the endpoints in the profile", Err: err}
	}
	return &Error{Code: ExitFailure, Msg: err.Error(), Err: err}
}

func storeError(err error, profile string) error {
	switch {
	case errors.Is(err, store.ErrCorrupt):
		return &Error{Code: ExitConfig, Msg: err.Error(), Err: err}
	case errors.Is(err, store.ErrWrongPassphrase):
		return &Error{Code: ExitConfig, Msg: err.Error(), Fix: "set TIPCTL_FILE_PASSPHRASE to the passphrase the store was created with, or run `tipctl auth logout --profile " + profile + "` to start over", Err: err}
	}
	if le := localError(err); le != nil {
		le.Msg = "the secret store cannot be opened: " + le.Msg
		return le
	}
	return &Error{Code: ExitConfig, Msg: "the secret store cannot be opened: " + err.Error(), Err: err}
}
