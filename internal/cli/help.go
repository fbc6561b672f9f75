package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func init() { register(newExitCodesTopic) }

// exitCodes documents every exit code, in order.
var exitCodes = []struct {
	Code int
	Name string
	Text string
}{
	{ExitOK, "ok", "success"},
	{ExitFailure, "failure", "anything not listed below; `tipctl diag` also exits 1 when a check fails"},
	{ExitUsage, "usage", "bad flags or arguments, or a confirmation needed but not possible (pass --yes); `tipctl setup plan` also exits 2 when there are changes (terraform plan -detailed-exitcode)"},
	{ExitConfig, "config", "missing or invalid profile or configuration, the secret store cannot be opened, or a local file cannot be written (read-only or full disk, permissions)"},
	{ExitAuth, "auth", "login required: no session, or the IdP session expired (run `tipctl auth login`)"},
	{ExitAWS, "aws", "an AWS (or sandbox) service refused the request; the message names the call and its error code"},
	{ExitNetwork, "network", "an endpoint could not be reached or timed out"},
	{ExitBusy, "busy", "another tipctl process held a lock for too long"},
	{ExitSQL, "sql", "query: the statement failed in the database (a SQL error)"},
	{ExitDenied, "denied", "query: the data's access control refused the person (privileges, row security, Lake Formation, IAM)"},
	{ExitCannotRun, "cannot-run", "exec: the command was found but could not be started"},
	{ExitNotFound, "not-found", "exec: the command does not exist"},
	{ExitInterrupted, "interrupted", "interrupted (Ctrl-C); 143 when stopped by SIGTERM"},
}

func exitCodesHelp() string {
	var b strings.Builder
	b.WriteString(`tipctl exits with one of these codes; errors are one line on stderr,
prefixed "tipctl: ", with the fix to try.

`)
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "  %3d  %-12s %s\n", e.Code, e.Name, e.Text)
	}
	b.WriteString(`
` + "`tipctl exec`" + ` and ` + "`tipctl serve --exec`" + ` exit with the command's own exit code, and
with 128+N when signal N killed it (130 for SIGINT, 143 for SIGTERM), so
scripts see the command's status, not tipctl's. The servers (` + "`tipctl sandbox`" + `,
` + "`tipctl serve`" + `) stop cleanly with 0 on Ctrl-C or SIGTERM, their normal way to stop.`)
	return b.String()
}

// newExitCodesTopic is `tipctl help exit-codes`: a help topic, not a
// command.
func newExitCodesTopic(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "What tipctl's exit codes mean",
		Long:  exitCodesHelp(),
	}
}
