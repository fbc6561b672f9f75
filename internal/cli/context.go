package cli

import (
	"context"
	"errors"
	"fmt"
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
	cfg, err := config.Load()
	if err != nil {
		return nil, configError(err)
	}
	p, err := cfg.Get(a.profileName())
	if err != nil {
		return nil, configError(err)
	}
	return p, nil
}

func configError(err error) error {
	var pe *config.ProfileError
	var fe *config.FileError
	var ve *config.ValidationError
	switch {
	case errors.As(err, &pe), errors.As(err, &fe), errors.As(err, &ve):
		return &Error{Code: ExitConfig, Msg: err.Error(), Err: err}
	}
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
		Profile: p, Vault: v, HTTP: hc, Getenv: a.Getenv,
		IdP:  &idpClient{cfg: idpConfig(p, hc, a.Getenv)},
		Warn: func(format string, args ...any) { a.say(format, args...) },
	}, nil
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
	return &Error{Code: ExitConfig, Msg: "the secret store cannot be opened: " + err.Error(), Err: err}
}
