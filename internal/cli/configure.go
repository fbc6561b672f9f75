package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/config"
)

func init() { register(newConfigureCmd) }

func newConfigureCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "configure",
		Short: "Create and inspect tipctl profiles",
		Long: `A profile says which IdP to sign in to and which AWS resources carry the
identity: the Identity Center application, the bridge role and the
identity-enhanced role. Profiles live in $TIPCTL_HOME/config.yaml (default
$XDG_CONFIG_HOME/tipctl/config.yaml) and hold no secrets.`,
	}
	cmd.AddCommand(newConfigureIdPCmd(app), newConfigureSandboxCmd(app), newConfigureListCmd(app), newConfigureShowCmd(app), newConfigureAWSProfileCmd(app))
	return cmd
}

func newConfigureIdPCmd(app *App) *cobra.Command {
	var provider, raw string
	cmd := &cobra.Command{
		Use:   "idp --provider okta|entra-id|cognito|oidc [--config JSON-or-FILE]",
		Short: "Configure the IdP and the AWS resources of a profile",
		Long: `Builds a profile from a provider preset and values given with --config (a
JSON object, inline or in a file; tip-cli's keys are accepted too). Missing
values are asked for on a terminal, with the current ones as defaults;
without a terminal, missing values are an error that names them.

On a terminal each answer is checked as it is given (ARN shapes and kinds,
URLs, the client id) and asked again with the reason when wrong; once the
issuer is known its discovery document is fetched and what was found is
shown. The answers of a run that ends early are kept next to config.yaml
(drafts/PROFILE.json, no secrets) and the next run offers to resume them.

  tipctl configure idp --provider okta --config '{"org_url": "https://dev-1.okta.com",
    "client_id": "0oa...", "application_arn": "arn:aws:sso::...", "bridge_role_arn": "...",
    "enhanced_role_arn": "...", "region": "eu-west-1"}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			values, err := configValues(raw)
			if err != nil {
				return err
			}
			cfg, err := config.Load()
			if err != nil {
				return configError(err)
			}
			name := app.profileName()
			current := map[string]string{}
			old := ""
			if p, ok := cfg.Lookup(name); ok {
				current, old = p.Values(), p.Provider
				if provider == "" {
					provider = old
				}
			}
			merged := map[string]string{}
			for k, v := range current {
				if k == "provider" && provider != old {
					continue // --provider switches the preset of an existing profile
				}
				merged[k] = v
			}
			for k, v := range values {
				merged[k] = v
			}
			switchBridge(merged, values)
			dpath := draftPath(cfg, name)
			var a *asker
			if app.canAsk() {
				hc, err := app.httpClient()
				if err != nil {
					return err
				}
				a = newAsker(cmd.Context(), app, provider, merged, hc, dpath)
				if provider, err = a.offerDraft(provider, values); err != nil {
					return a.unfinished(name, err)
				}
			}
			if provider == "" {
				return Errorf(ExitUsage, "pass --provider "+strings.Join(config.Providers(), "|"), "no provider given for profile %q", name)
			}
			p, missing, err := config.BuildProfile(provider, merged)
			if err != nil && a != nil {
				// Values given earlier or with --config that are wrong
				// are asked again, each with its problem.
				missing, err = a.reaskBad(provider, err, missing)
			}
			if err != nil {
				return Errorf(ExitConfig, "", "%v", err)
			}
			if len(missing) > 0 {
				if a == nil {
					return Errorf(ExitConfig, "pass them with --config '{\"KEY\": \"VALUE\", ...}'", "missing values for profile %q: %s", name, strings.Join(missing, ", "))
				}
				a.provider = provider
				if err := a.askAll(missing); err != nil {
					return a.unfinished(name, err)
				}
				if p, missing, err = config.BuildProfile(provider, merged); err != nil {
					return Errorf(ExitConfig, "your answers are kept: run `tipctl configure idp -p "+name+"` again to resume", "%v", err)
				} else if len(missing) > 0 {
					return Errorf(ExitConfig, "", "still missing: %s", strings.Join(missing, ", "))
				}
			}
			p.Name = name
			if err := saveProfile(cfg, p); err != nil {
				return err
			}
			if err := os.Remove(dpath); err != nil && !errors.Is(err, fs.ErrNotExist) {
				app.say("tipctl: warning: could not remove the draft %s: %v", dpath, err)
			}
			for _, w := range p.Warnings() {
				app.say("tipctl: warning: %s", w)
			}
			return showProfile(app, p, cfg.Path(), "saved")
		},
	}
	cmd.Flags().StringVar(&provider, "provider", "", "IdP preset: "+strings.Join(config.Providers(), ", "))
	cmd.Flags().StringVar(&raw, "config", "", "values as a JSON object, or a file holding one")
	return cmd
}

// configValues reads --config: inline JSON or a JSON file.
func configValues(raw string) (map[string]string, error) {
	out := map[string]string{}
	if raw == "" {
		return out, nil
	}
	data := []byte(raw)
	if !strings.HasPrefix(strings.TrimSpace(raw), "{") {
		b, err := os.ReadFile(raw)
		if err != nil {
			return nil, Errorf(ExitUsage, "pass a JSON object or the path of a file holding one", "--config: %v", err)
		}
		data = b
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, Errorf(ExitUsage, "pass a JSON object such as '{\"client_id\": \"...\"}'", "--config is not a JSON object: %v", err)
	}
	for k, v := range m {
		switch t := v.(type) {
		case string:
			out[k] = t
		case float64, bool:
			out[k] = fmt.Sprint(t)
		case []any:
			parts := make([]string, 0, len(t))
			for _, e := range t {
				parts = append(parts, fmt.Sprint(e))
			}
			out[k] = strings.Join(parts, " ")
		default:
			return nil, Errorf(ExitUsage, "", "--config: %q must be a string", k)
		}
	}
	return out, nil
}

func newConfigureSandboxCmd(app *App) *cobra.Command {
	var endpoint string
	var force bool
	cmd := &cobra.Command{
		Use:   "sandbox [--endpoint URL] [--force]",
		Short: "Write a complete profile for a running sandbox",
		Long: `Writes a profile for a running sandbox from its /_sandbox/info. An existing
sandbox profile of the same name is updated; any other profile is never
replaced without --force, and then config.yaml is first copied to
config.yaml.bak.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if endpoint == "" {
				endpoint = "http://" + DefaultSandboxListen
			}
			hc, err := app.httpClient()
			if err != nil {
				return err
			}
			p, err := sandboxProfile(cmd.Context(), hc, endpoint, app.profileName())
			if err != nil {
				return err
			}
			cfg, err := config.Load()
			if err != nil {
				return configError(err)
			}
			if err := guardOverwrite(app, cfg, p, force); err != nil {
				return err
			}
			if err := saveProfile(cfg, p); err != nil {
				return err
			}
			return showProfile(app, p, cfg.Path(), "saved")
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "sandbox URL (default http://"+DefaultSandboxListen+")")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing non-sandbox profile of that name (config.yaml is backed up first)")
	return cmd
}

// saveProfile adds or replaces p in cfg and writes the configuration file.
func saveProfile(cfg *config.Config, p *config.Profile) error {
	if err := cfg.Set(p); err != nil {
		return configError(err)
	}
	if err := cfg.Save(); err != nil {
		return configError(err)
	}
	return nil
}

// sandboxProfile builds a profile from a sandbox's /_sandbox/info.
func sandboxProfile(ctx context.Context, hc *http.Client, endpoint, name string) (*config.Profile, error) {
	endpoint = strings.TrimSuffix(endpoint, "/")
	info, err := fetchSandboxInfo(ctx, hc, endpoint)
	if err != nil {
		return nil, err
	}
	values := info.ProfileValues(endpoint)
	var absent []string
	for _, k := range []string{"application_arn", "bridge_role_arn", "enhanced_role_arn"} {
		if values[k] == "" { // a bare sandbox has no application or roles yet
			absent = append(absent, k)
		}
	}
	if len(absent) > 0 {
		return nil, Errorf(ExitConfig, "set up the application and the tip-bridge and tip-enhanced roles first (a --bare sandbox has none)",
			"the sandbox has no %s", strings.Join(absent, ", "))
	}
	p, missing, err := config.BuildProfile(config.ProviderSandbox, values)
	if err != nil {
		return nil, Errorf(ExitConfig, "", "the sandbox's info does not make a valid profile: %v", err)
	}
	if len(missing) > 0 {
		return nil, Errorf(ExitConfig, "", "the sandbox's info lacks %s", strings.Join(missing, ", "))
	}
	p.Name = name
	return p, nil
}

// fetchSandboxInfo reads /_sandbox/info of the sandbox at endpoint (without
// a trailing slash).
func fetchSandboxInfo(ctx context.Context, hc *http.Client, endpoint string) (*config.SandboxInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/_sandbox/info", nil)
	if err != nil {
		return nil, Errorf(ExitUsage, "pass the URL `tipctl sandbox` printed", "bad sandbox endpoint %q", endpoint)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, Errorf(ExitNetwork, "start it with `tipctl sandbox` or pass --endpoint", "no sandbox answers at %s", endpoint)
	}
	defer resp.Body.Close()
	var info config.SandboxInfo
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info) != nil || info.IdP.Issuer == "" {
		return nil, Errorf(ExitNetwork, "check that the URL is a tipctl sandbox", "%s did not answer /_sandbox/info like a tipctl sandbox", endpoint)
	}
	return &info, nil
}

func newConfigureListCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the profiles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load()
			if err != nil {
				return configError(err)
			}
			type row struct {
				Name     string `json:"name"`
				Provider string `json:"provider"`
				Issuer   string `json:"issuer"`
				Region   string `json:"region"`
				Selected bool   `json:"selected"`
			}
			rows := []row{}
			for _, p := range cfg.List() {
				rows = append(rows, row{p.Name, p.Provider, p.Issuer, p.Region, p.Name == app.profileName()})
			}
			sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
			if app.JSON() {
				return app.printJSON(map[string]any{"config_file": cfg.Path(), "profiles": rows})
			}
			if len(rows) == 0 {
				app.say("no profiles in %s; create one with `tipctl configure idp` or `tipctl configure sandbox`", cfg.Path())
				return nil
			}
			for _, r := range rows {
				mark := " "
				if r.Selected {
					mark = "*"
				}
				fmt.Fprintf(app.Stdout, "%s %-16s %-9s %-12s %s\n", mark, r.Name, r.Provider, r.Region, r.Issuer)
			}
			return nil
		},
	}
}

func newConfigureShowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Show the selected profile (no secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, p, err := app.loadConfigProfile()
			if err != nil {
				return err
			}
			return showProfile(app, p, cfg.Path(), "")
		},
	}
}

func showProfile(app *App, p *config.Profile, path, verb string) error {
	r := p.Redacted()
	if app.JSON() {
		return app.printJSON(map[string]any{"config_file": path, "profile": r})
	}
	if verb != "" {
		app.say("profile %q %s in %s", p.Name, verb, path)
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		fmt.Fprintf(app.Stdout, "%-26s %v\n", k, v)
	}
	return nil
}
