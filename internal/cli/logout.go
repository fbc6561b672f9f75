package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/store"
)

// wipeUnopenable is logout's way out when the encrypted-file store cannot
// be opened at all (a wrong or missing passphrase, a corrupt key file):
// the profile's item files are removed without decrypting them, which is
// what every such error advises. Other errors are returned as they are.
func wipeUnopenable(app *App, profile string, openErr error) error {
	if !errors.Is(openErr, store.ErrWrongPassphrase) && !errors.Is(openErr, store.ErrCorrupt) {
		return openErr
	}
	d, err := config.Paths()
	if err != nil {
		return openErr
	}
	dir := filepath.Join(d.State, "secrets")
	n, err := store.WipeFiles(dir, "profile/"+profile+"/")
	if err != nil {
		return &Error{Code: ExitConfig, Msg: fmt.Sprintf("could not wipe the secrets of profile %s in %s: %v", profile, dir, err),
			Fix: "remove the files by hand", Err: err}
	}
	app.say("tipctl: the secret store could not be opened (%v); wiped profile %s's %d stored item(s) without reading them (the IdP session was not revoked)", openErr, profile, n)
	if app.JSON() {
		return app.printJSON(map[string]any{"profile": profile, "wiped": true, "revoked": false})
	}
	fmt.Fprintf(app.text(), "Logged out of profile %s: stored tokens and credentials wiped.\n", profile)
	return nil
}
