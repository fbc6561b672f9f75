package cli

import (
	"os"

	"github.com/tipctl/tipctl/tip/config"
)

// guardOverwrite refuses to replace a profile of another kind with p
// (`configure sandbox` over an Okta profile, say) unless force is set;
// with force, the configuration file is copied to config.yaml.bak first.
func guardOverwrite(app *App, cfg *config.Config, p *config.Profile, force bool) error {
	old, ok := cfg.Lookup(p.Name)
	if !ok || old.Provider == p.Provider {
		return nil
	}
	if !force {
		return Errorf(ExitUsage, "choose another name with --profile (e.g. `tipctl --profile sandbox configure sandbox`), or pass --force to replace it",
			"profile %q is for provider %s (issuer %s); not replacing it with a %s profile", p.Name, old.Provider, old.Issuer, p.Provider)
	}
	b, err := os.ReadFile(cfg.Path())
	if err != nil {
		return configError(err)
	}
	bak := cfg.Path() + ".bak"
	if err := config.WriteFileAtomic(bak, b, 0o600); err != nil {
		return configError(err)
	}
	app.say("tipctl: replacing the %s profile %q; the previous configuration is in %s", old.Provider, p.Name, bak)
	return nil
}
