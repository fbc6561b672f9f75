package cli

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/awsini"
	"github.com/tipctl/tipctl/tip/config"
)

func init() { register(newCompletionCmd) }

func newCompletionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Prints a completion script for commands, flags and profile names
(--profile completes the profiles in config.yaml).

  bash:  source <(tipctl completion bash)
         # or, for every session: tipctl completion bash > ~/.local/share/bash-completion/completions/tipctl
  zsh:   tipctl completion zsh > "${fpath[1]}/_tipctl"   # compinit must be enabled
  fish:  tipctl completion fish > ~/.config/fish/completions/tipctl.fish
  powershell:  tipctl completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains(cmd.ValidArgs, args[0]) {
				return Errorf(ExitUsage, "use one of: "+strings.Join(cmd.ValidArgs, ", "), "tipctl completion needs a shell name")
			}
			return nil
		},
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(app.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(app.Stdout)
			case "fish":
				return root.GenFishCompletion(app.Stdout, true)
			default:
				return root.GenPowerShellCompletionWithDesc(app.Stdout)
			}
		},
	}
}

// addCompletions registers the completions of the global flags.
func addCompletions(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("profile", completeProfiles)
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]cobra.Completion{"text\thuman-readable", "json\tmachine-readable"}, cobra.ShellCompDirectiveNoFileComp))
}

// completeProfiles completes tipctl profile names, with their provider
// and issuer as descriptions.
func completeProfiles(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg, err := config.Load()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, p := range cfg.List() {
		if strings.HasPrefix(p.Name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(p.Name, fmt.Sprintf("%s %s", p.Provider, p.Issuer)))
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeAWSProfiles completes the profile names of the AWS config file.
func completeAWSProfiles(app *App) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f, _ := readAWSFile(app, awsini.ConfigPath)
		if f == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, name := range f.Profiles() {
			if strings.HasPrefix(name, toComplete) {
				out = append(out, name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
