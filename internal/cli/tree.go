package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// finishTree applies the conventions every command shares, once the whole
// tree is built: tip-cli's names as aliases, exit 2 for unknown
// subcommands, flag help that renders, and flag combinations that
// contradict each other refused.
func finishTree(app *App, root *cobra.Command) {
	addTipCLIAliases(app, root)
	strictSubcommands(root)
	plainFlagUsage(root)
	addDurationFlags(app, root)
	exclusiveFlags(root, []string{"auth", "login"}, "device", "browser")
	exclusiveFlags(root, []string{"auth", "login"}, "device", "no-browser")
}

// plainFlagUsage keeps pflag from reading a backquoted command in a flag's
// help as the name of its value ("--world tipctl sandbox world"): such
// quotes become plain quotes. A backquoted single word is a value name
// on purpose and stays.
func plainFlagUsage(c *cobra.Command) {
	fix := func(f *pflag.Flag) {
		i := strings.IndexByte(f.Usage, '`')
		if i < 0 {
			return
		}
		j := strings.IndexByte(f.Usage[i+1:], '`')
		if j >= 0 && !strings.ContainsAny(f.Usage[i+1:i+1+j], " \t") {
			return
		}
		f.Usage = strings.ReplaceAll(f.Usage, "`", "'")
	}
	c.Flags().VisitAll(fix)
	c.PersistentFlags().VisitAll(fix)
	for _, sub := range c.Commands() {
		plainFlagUsage(sub)
	}
}

// exclusiveFlags makes the command at path refuse flags a and b together
// with a usage error (exit 2).
func exclusiveFlags(root *cobra.Command, path []string, a, b string) {
	cmd := findCmd(root, path...)
	if cmd == nil || cmd.Flags().Lookup(a) == nil || cmd.Flags().Lookup(b) == nil {
		return
	}
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().Changed(a) && cmd.Flags().Changed(b) {
			return Errorf(ExitUsage, "pass one of them", "--%s and --%s cannot be used together", a, b)
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}
