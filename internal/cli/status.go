package cli

import (
	"fmt"
	"time"

	"github.com/tipctl/tipctl/tip/session"
	"github.com/tipctl/tipctl/tip/store"
)

// clock is the time the session manager sees; tests move it.
var clock = time.Now

// printStatus writes `auth status` as text: who, until when, whether the
// session can renew itself, and what is cached.
func printStatus(app *App, s *session.Status) {
	if !s.LoggedIn {
		fmt.Fprintf(app.text(), "Profile %s: not logged in (run `tipctl auth login --profile %s`).\n", s.Profile, s.Profile)
		return
	}
	now := clock()
	fmt.Fprintf(app.text(), "Profile:      %s\nUser:         %s\nIssuer:       %s\n", s.Profile, orDash(s.Email, s.Subject), s.Issuer)
	refresh := "refreshable: yes"
	switch {
	case s.RefreshRejectedAt != nil && !s.CanRefresh:
		refresh = "refreshable: no, the IdP refused the refresh token at " + s.RefreshRejectedAt.Local().Format(time.RFC3339)
	case !s.CanRefresh:
		refresh = "refreshable: no, the IdP gave no refresh token"
	}
	fmt.Fprintf(app.text(), "IdP token:    %s (%s)\n", until(s.IDTokenExpiry, now), refresh)
	if s.CredentialsUntil != nil {
		fmt.Fprintf(app.text(), "Credentials:  %s\nSession:      %s\n", until(s.CredentialsUntil, now), s.AssumedRoleArn)
	} else {
		fmt.Fprintf(app.text(), "Credentials:  none cached (minted on first use)\n")
	}
	switch {
	case s.RenewsWithoutIdP && s.RenewalCallerUntil != nil:
		fmt.Fprintf(app.text(), "Renewal:      Identity Center refresh token, presented by the bridge session (%s)\n", until(s.RenewalCallerUntil, now))
	case s.RenewsWithoutIdP:
		fmt.Fprintf(app.text(), "Renewal:      Identity Center refresh token, presented by the ambient AWS credentials\n")
	default:
		fmt.Fprintf(app.text(), "Renewal:      through the IdP\n")
	}
	fmt.Fprintf(app.text(), "Store:        %s\n", s.Backend)
	if s.KeyBesideData {
		fmt.Fprintf(app.text(), "              note: %s\n", store.WeakStoreNote)
	}
	if !s.Usable {
		fmt.Fprintf(app.text(), "Usable:       no: log in again (`tipctl auth login --profile %s`)\n", s.Profile)
	}
}

// statusExit is the exit status of `auth status`, for scripts: 0 when
// credentials can be had without a new login, else 4 (login required).
// The status itself was printed already, so the error says nothing more.
func statusExit(s *session.Status) error {
	if s.Usable {
		return nil
	}
	return &Error{Code: ExitAuth}
}
