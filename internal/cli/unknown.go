package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// strictSubcommands makes every command group refuse an unknown
// subcommand with exit code 2 and the closest names ("did you mean …"),
// instead of printing help and exiting 0: in credential_process a typo
// must fail loudly, not feed the AWS CLI an empty answer. A group named
// alone still prints its help.
func strictSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictSubcommands(sub)
	}
	if !c.HasSubCommands() {
		return
	}
	c.Args = unknownSubcommand
	if c.Run == nil && c.RunE == nil {
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
}

// unknownSubcommand is the Args check of a command group: any positional
// argument is a subcommand cobra did not find.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	typed := args[0]
	msg := fmt.Sprintf("unknown command %q for %q", typed, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(typed); len(s) > 0 {
		for i := range s {
			s[i] = "`" + cmd.CommandPath() + " " + s[i] + "`"
		}
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &Error{Code: ExitUsage, Msg: msg, Fix: "see `" + cmd.CommandPath() + " --help`"}
}
