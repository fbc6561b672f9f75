package cli

import (
	"github.com/spf13/cobra"
)

// tip-cli (aws-samples) is the prior art for this flow: its users switch
// by changing one word, so its command names are accepted as aliases.
//
//	tip-cli auth refresh-token                        → tipctl auth refresh
//	tip-cli configure generate-cfn-template URL AUD T → tipctl generate cfn-template
//	tip-cli configure --idp okta --config JSON|FILE   → tipctl configure idp
func addTipCLIAliases(app *App, root *cobra.Command) {
	if refresh := findCmd(root, "auth", "refresh"); refresh != nil {
		refresh.Aliases = append(refresh.Aliases, "refresh-token")
	}
	configure := findCmd(root, "configure")
	cfn := findCmd(root, "generate", "cfn-template")
	if configure == nil {
		return
	}
	if cfn != nil {
		configure.AddCommand(newTipCLICFNAlias(app))
	}
	if idp := findCmd(configure, "idp"); idp != nil {
		var provider, raw string
		configure.Flags().StringVar(&provider, "idp", "", "tip-cli compatible form of `configure idp --provider`")
		configure.Flags().StringVar(&raw, "config", "", "tip-cli compatible form of `configure idp --config`")
		configure.RunE = func(cmd *cobra.Command, args []string) error {
			if provider == "" && raw == "" {
				return cmd.Help()
			}
			if err := idp.Flags().Set("provider", provider); err != nil {
				return err
			}
			if err := idp.Flags().Set("config", raw); err != nil {
				return err
			}
			idp.SetContext(cmd.Context())
			return idp.RunE(idp, nil)
		}
	}
}

// newTipCLICFNAlias is tip-cli's `configure generate-cfn-template ISSUER
// AUDIENCE [THUMBPRINT]`, run as `generate cfn-template`.
func newTipCLICFNAlias(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "generate-cfn-template ISSUER AUDIENCE [THUMBPRINT]",
		Short: "tip-cli's name for `tipctl generate cfn-template --issuer --audience --thumbprint`",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			gen := newGenerateCFNCmd(app)
			gen.SetContext(cmd.Context())
			_ = gen.Flags().Set("issuer", args[0])
			_ = gen.Flags().Set("audience", args[1])
			if len(args) == 3 {
				_ = gen.Flags().Set("thumbprint", args[2])
			}
			return gen.RunE(gen, nil)
		},
	}
}

// findCmd returns the command at path under c, or nil.
func findCmd(c *cobra.Command, path ...string) *cobra.Command {
	for _, name := range path {
		var next *cobra.Command
		for _, sub := range c.Commands() {
			if sub.Name() == name {
				next = sub
				break
			}
		}
		if next == nil {
			return nil
		}
		c = next
	}
	return c
}
