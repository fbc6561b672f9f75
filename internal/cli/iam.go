package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/setup"
)

func init() { register(newIAMCmd) }

func newIAMCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "iam",
		Short: "IAM helpers: the catalog of AWS service prefixes and a policy linter that knows TIP's trust mistakes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Errorf(ExitUsage, "see `tipctl iam --help`", "tipctl iam needs a subcommand: services or lint-policy")
		},
	}
	cmd.AddCommand(newIAMServicesCmd(app), newIAMLintCmd(app))
	return cmd
}

func newIAMServicesCmd(app *App) *cobra.Command {
	var search string
	cmd := &cobra.Command{
		Use:   "services [--search TEXT]",
		Short: "List AWS services and the prefix of their IAM actions",
		Long: `Lists the AWS services tipctl knows and the prefix their IAM actions use
(e.g. sts for sts:AssumeRole). --search filters by name or prefix, case-insensitive.
tipctl iam lint-policy flags actions whose prefix is not in this catalog.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list := setup.SearchServices(search)
			if app.JSON() {
				if list == nil {
					list = []setup.Service{}
				}
				return app.printJSON(list)
			}
			if len(list) == 0 {
				app.say("tipctl iam services: no service matches %q", search)
				return nil
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PREFIX\tSERVICE")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\n", s.Prefix, s.Name)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "show only services whose name or prefix contains TEXT")
	return cmd
}

// lintReport is the JSON output of lint-policy.
type lintReport struct {
	File     string          `json:"file"`
	Kind     string          `json:"kind"`
	Findings []setup.Finding `json:"findings"`
	Errors   int             `json:"errors"`
	Warnings int             `json:"warnings"`
}

func newIAMLintCmd(app *App) *cobra.Command {
	var kindName string
	cmd := &cobra.Command{
		Use:   "lint-policy FILE",
		Short: "Check an IAM policy: malformed actions, unknown service prefixes and the trust mistakes that break TIP",
		Long: `Reads a policy document (FILE, or - for stdin) and reports:
  - malformed actions and unknown service prefixes (see tipctl iam services);
  - structural errors IAM would refuse (Principal in an identity policy, Resource in a trust policy);
  - trust mistakes that break trusted identity propagation: a role trusted for
    sts:AssumeRole without sts:SetContext (identity-enhanced sessions are refused),
    and a web-identity trust without an aud condition (any client's token could assume it);
  - security holes of the identity-enhanced role: an sts:SetContext statement that
    does not restrict sts:RequestContextProviders to the Identity Center provider
    (enhanced-trust), and permissions without "Null": {"identitystore:UserId": "false"}
    that also work in a session without a person (enhanced).

--kind picks the checks: auto (trust when a statement has a Principal), identity,
resource, trust, bridge-trust (the role assumed with the IdP token),
enhanced-trust (the identity-enhanced role's trust policy) or enhanced (its
permission policies). Exits 1 when there is an error finding.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := setup.ParseKind(kindName)
			if err != nil {
				return Errorf(ExitUsage, "use --kind auto, identity, resource, trust, bridge-trust, enhanced-trust or enhanced", "%v", err)
			}
			doc, err := readPolicyInput(app, args[0])
			if err != nil {
				return err
			}
			findings := setup.Lint(doc, kind)
			rep := lintReport{File: args[0], Kind: string(kind), Findings: findings}
			if rep.Findings == nil {
				rep.Findings = []setup.Finding{}
			}
			for _, f := range findings {
				if f.Severity == setup.SeverityError {
					rep.Errors++
				} else {
					rep.Warnings++
				}
			}
			if app.JSON() {
				if err := app.printJSON(rep); err != nil {
					return err
				}
			} else {
				for _, f := range findings {
					fmt.Fprintln(app.Stdout, f.String())
					if f.Fix != "" {
						fmt.Fprintln(app.Stdout, "    fix: "+f.Fix)
					}
				}
				if len(findings) == 0 {
					fmt.Fprintf(app.Stdout, "%s: no findings (%s policy)\n", args[0], kind)
				}
			}
			if rep.Errors > 0 {
				return Errorf(ExitFailure, "", "%s: %d error(s), %d warning(s)", args[0], rep.Errors, rep.Warnings)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kindName, "kind", "auto", "policy kind: auto, identity, resource, trust, bridge-trust, enhanced-trust, enhanced")
	return cmd
}

// readPolicyInput reads a file argument, - meaning stdin, up to 1 MiB.
func readPolicyInput(app *App, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = app.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, Errorf(ExitUsage, "check the path", "cannot read %s: %v", name, strings.TrimPrefix(err.Error(), "open "+name+": "))
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return nil, Errorf(ExitUsage, "", "cannot read %s: %v", name, err)
	}
	if len(b) > 1<<20 {
		return nil, Errorf(ExitUsage, "", "%s is larger than 1 MiB", name)
	}
	return b, nil
}
