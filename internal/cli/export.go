package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func init() { register(newExportCmd) }

// exportFormats writes one variable in each shell's syntax.
var exportFormats = map[string]func(k, v string) string{
	"sh":         func(k, v string) string { return "export " + k + "=" + shQuote(v) },
	"fish":       func(k, v string) string { return "set -gx " + k + " " + fishQuote(v) + ";" },
	"powershell": func(k, v string) string { return "$env:" + k + " = '" + strings.ReplaceAll(v, "'", "''") + "'" },
	"dotenv":     func(k, v string) string { return k + "=" + dotenvQuote(v) },
}

func newExportCmd(app *App) *cobra.Command {
	var format, region string
	var sa s3agOptions
	cmd := &cobra.Command{
		Use:   "export [--format sh|fish|powershell|json|dotenv] [--s3ag S3_URI --permission P]",
		Short: "Print the credentials as variables for the current shell",
		Long: `Prints the profile's identity-enhanced credentials (or, with --s3ag, S3 Access
Grants credentials) as environment variables, for the current shell, like
aws-vault export or granted's assume:

  eval "$(tipctl export)"                           # sh, bash, zsh
  tipctl export --format fish | source               # fish
  tipctl export --format powershell | Invoke-Expression
  tipctl export --format dotenv > .env               # docker --env-file, IDEs

AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_CREDENTIAL_EXPIRATION, AWS_REGION and AWS_DEFAULT_REGION, plus
AWS_ENDPOINT_URL for a sandbox profile. The variables do not renew: when they
expire, run it again (or use ` + "`tipctl exec`" + `, whose credentials renew).
--format json prints the same as one object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if app.JSON() && !cmd.Flags().Changed("format") {
				format = "json"
			}
			write, ok := exportFormats[format]
			if !ok && format != "json" {
				return Errorf(ExitUsage, "use --format sh, fish, powershell, json or dotenv", "unknown format %q", format)
			}
			if err := sa.check(cmd); err != nil {
				return err
			}
			p, m, err := app.session()
			if err != nil {
				return err
			}
			creds, err := execCredentials(cmd, m, sa)
			if err != nil {
				return err
			}
			vars := map[string]string{
				"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey,
				"AWS_SESSION_TOKEN": creds.SessionToken,
			}
			if creds.CanExpire {
				vars["AWS_CREDENTIAL_EXPIRATION"] = creds.Expires.UTC().Format(time.RFC3339)
			}
			if r := childRegion(app, region, p); r != "" {
				vars["AWS_REGION"], vars["AWS_DEFAULT_REGION"] = r, r
			}
			if p.EndpointURL != "" {
				vars["AWS_ENDPOINT_URL"] = p.EndpointURL
			}
			if format == "json" {
				return app.printJSON(vars)
			}
			keys := make([]string, 0, len(vars))
			for k := range vars {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, k := range keys {
				b.WriteString(write(k, vars[k]) + "\n")
			}
			_, err = fmt.Fprint(app.Stdout, b.String())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "sh", "sh, fish, powershell, json or dotenv")
	f.StringVar(&region, "region", "", "AWS_REGION to export (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)")
	sa.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"sh", "fish", "powershell", "json", "dotenv"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// shQuote quotes v for a POSIX shell, always (eval of an unquoted value
// would run what it holds).
func shQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }

// fishQuote quotes v for fish: in single quotes only \ and ' are special.
func fishQuote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// dotenvQuote writes v bare when it is plain, else double-quoted with
// the escapes docker and dotenv parsers share.
func dotenvQuote(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.,/:@%+=", r))
	}) < 0 {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "$", `\$`).Replace(v) + `"`
}
