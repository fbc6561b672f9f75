package cli

import (
	"github.com/spf13/cobra"
)

// trustFlags are `tipctl sandbox --trust-issuer URL --audience AUD`: the
// sandbox trusts a third-party OpenID issuer in one step.
type trustFlags struct{ issuer, audience string }

func (t *trustFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.issuer, "trust-issuer", "", "also trust this external OpenID issuer: trusted token issuer, IAM OIDC provider, bridge-role trust; Identity Center users are created on first sight from the token's email. "+
		"With --bare nothing is created (the account stays bare for your setup to configure); Identity Center's directory is provisioned from the issuer: its people are created on first sight of a token for --audience that an application you set up accepts, as SCIM would")
	cmd.Flags().StringVar(&t.audience, "audience", "", "with --trust-issuer: the aud of its tokens (its client id, or an API audience)")
}

func (t *trustFlags) check() error {
	if (t.issuer == "") != (t.audience == "") {
		return Errorf(ExitUsage, "pass both, e.g. --trust-issuer https://idp.example.com --audience my-client-id", "--trust-issuer and --audience go together")
	}
	return nil
}
