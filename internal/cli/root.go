// Package cli is tipctl's command line: one file per command group. Commands
// return errors; Main turns them into one line on stderr and an exit code.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/tipctl/tipctl/internal/cli.Version=…".
var Version = "dev"

// Exit codes, documented in `tipctl help exit-codes`.
const (
	ExitOK          = 0
	ExitFailure     = 1   // anything not listed below
	ExitUsage       = 2   // bad flags or arguments
	ExitConfig      = 3   // missing or invalid profile or configuration
	ExitAuth        = 4   // login required: no session, or the IdP session expired
	ExitAWS         = 5   // an AWS (or sandbox) service refused the request
	ExitNetwork     = 6   // an endpoint could not be reached or timed out
	ExitBusy        = 7   // another tipctl process held a lock for too long
	ExitInterrupted = 130 // interrupted (Ctrl-C)
)

// Error is a failure with its exit code and the fix to suggest.
type Error struct {
	Code int
	Msg  string
	Fix  string
	Err  error
}

func (e *Error) Error() string {
	if e.Fix == "" {
		return e.Msg
	}
	return e.Msg + "; " + e.Fix
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error with code, fix and message.
func Errorf(code int, fix, format string, a ...any) *Error {
	return &Error{Code: code, Fix: fix, Msg: fmt.Sprintf(format, a...)}
}

// App carries the I/O and global options of one invocation.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string

	Profile string
	Output  string
	Debug   bool
	NoColor bool

	// duration is --duration of the commands that mint credentials.
	duration time.Duration
}

// commandGroups are added to the root by each command file's init.
var commandGroups []func(*App) *cobra.Command

func register(f func(*App) *cobra.Command) { commandGroups = append(commandGroups, f) }

// NewRoot builds the command tree for app.
func NewRoot(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "tipctl",
		Short: "Act on AWS as a person: trusted identity propagation in one command",
		Long: `tipctl signs you in at your OpenID Connect identity provider and turns that
sign-in into identity-enhanced AWS credentials (trusted identity propagation):
for the AWS CLI's credential_process, S3 Access Grants, QuickSight snapshots
and any identity-aware AWS service. It diagnoses broken setups, generates the
AWS setup, and ships a local sandbox of every service involved.

Start offline with:  tipctl demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&app.Profile, "profile", "p", "", "tipctl profile to use (env TIPCTL_PROFILE; default \"default\")")
	pf.StringVarP(&app.Output, "output", "o", "text", "output format: text or json")
	pf.BoolVar(&app.Debug, "debug", false, "trace each HTTP call to stderr (secrets redacted)")
	pf.BoolVar(&app.NoColor, "no-color", false, "disable colour (also NO_COLOR)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if app.Output != "text" && app.Output != "json" && !(app.Output == "csv" && cmd.Annotations["output-csv"] == "yes") {
			return Errorf(ExitUsage, "use --output text or --output json", "unknown output format %q", app.Output)
		}
		if app.Getenv("NO_COLOR") != "" {
			app.NoColor = true
		}
		return nil
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return Errorf(ExitUsage, "see `"+cmd.CommandPath()+" --help`", "%v", err)
	})
	for _, f := range commandGroups {
		root.AddCommand(f(app))
	}
	addCompletions(root)
	finishTree(app, root)
	sort.Slice(root.Commands(), func(i, j int) bool { return root.Commands()[i].Name() < root.Commands()[j].Name() })
	return root
}

// Main runs tipctl with args and returns the exit code.
func Main(args []string) int {
	app := &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	ctx, stop := interruptContext()
	defer stop()
	return Run(ctx, app, args)
}

// Run executes args against app; tests call it directly.
func Run(ctx context.Context, app *App, args []string) int {
	root := NewRoot(app)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(ctx, err)
	if e := (*Error)(nil); errors.As(err, &e) && e.Msg == "" {
		return code // nothing to say: e.g. the exit status of a command run by exec
	}
	if sig, ok := interrupted(ctx); ok {
		fmt.Fprintln(app.Stderr, "tipctl: "+sig.message())
		return sig.code()
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintln(app.Stderr, "tipctl: "+Sanitize(msg))
	return code
}

func exitCode(ctx context.Context, err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "accepts ") ||
		strings.Contains(err.Error(), "arg(s)") || strings.HasPrefix(err.Error(), "required flag") {
		return ExitUsage
	}
	return ExitFailure
}

// env returns an environment variable through the app (tests override it).
func (a *App) env(name string) string { return a.Getenv(name) }

// JSON reports whether --output json was asked for.
func (a *App) JSON() bool { return a.Output == "json" }

// printJSON writes v as indented JSON on stdout.
func (a *App) printJSON(v any) error {
	enc := json.NewEncoder(safeWriter{a.Stdout})
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// say writes a human message on stderr (progress, hints): never on stdout,
// which carries only the command's result.
func (a *App) say(format string, args ...any) {
	fmt.Fprintln(a.Stderr, Sanitize(fmt.Sprintf(format, args...)))
}
