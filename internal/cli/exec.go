package cli

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/awsini"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/s3ag"
	"github.com/tipctl/tipctl/tip/session"
)

func init() { register(newExecCmd) }

// EnvExecProfile is set in the environment of commands started by `tipctl
// exec` (and `tipctl serve --exec`): the tipctl profile whose credentials
// they carry. A second `tipctl exec` inside refuses to run.
const EnvExecProfile = "TIPCTL_EXEC_PROFILE"

// Exit codes of a command that cannot be run (the shells' convention).
const (
	ExitCannotRun = 126 // found but could not be started
	ExitNotFound  = 127 // no such command
)

// credentialVars are inherited variables that would make SDKs use other
// credentials than the ones tipctl gives the command.
var credentialVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_CREDENTIAL_EXPIRATION",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
}

// s3agOptions are the --s3ag flags shared by exec and configure aws-profile.
type s3agOptions struct {
	target, permission, privilege string
}

func (o *s3agOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.target, "s3ag", "", "S3 Access Grants credentials for this S3 URI (s3://bucket/prefix/) instead of the identity-enhanced session")
	f.StringVar(&o.permission, "permission", "READ", "with --s3ag: READ, WRITE or READWRITE")
	f.StringVar(&o.privilege, "privilege", "Default", "with --s3ag: Default (the matched grant's scope) or Minimal (just the target)")
}

func (o *s3agOptions) check(cmd *cobra.Command) error {
	if o.target == "" && (cmd.Flags().Changed("permission") || cmd.Flags().Changed("privilege")) {
		return Errorf(ExitUsage, "add --s3ag s3://BUCKET/PREFIX/", "--permission and --privilege go with --s3ag")
	}
	if o.target == "" {
		return nil
	}
	switch strings.ToUpper(o.permission) {
	case "READ", "WRITE", "READWRITE":
	default:
		return Errorf(ExitUsage, "use READ, WRITE or READWRITE", "--permission %q is not a permission", o.permission)
	}
	switch strings.ToLower(o.privilege) {
	case "default", "minimal":
	default:
		return Errorf(ExitUsage, "use Default or Minimal", "--privilege %q is not a privilege", o.privilege)
	}
	return nil
}

// args returns the arguments of `tipctl s3ag get-data-access` for o.
func (o *s3agOptions) args() []string {
	if o.target == "" {
		return nil
	}
	out := []string{o.target, "--permission", strings.ToUpper(o.permission)}
	if !strings.EqualFold(o.privilege, "Default") {
		out = append(out, "--privilege", o.privilege)
	}
	return out
}

func newExecCmd(app *App) *cobra.Command {
	var region string
	var useEnv bool
	var sa s3agOptions
	cmd := &cobra.Command{
		Use:   "exec [--profile P] [--env] [--s3ag S3_URI --permission READ|WRITE|READWRITE] [--] [CMD [ARGS...]]",
		Short: "Run a command with identity-enhanced credentials in its environment",
		Long: `Runs CMD with the profile's identity-enhanced credentials. By default they are
served to it by a credential server on the loopback, over the container
credentials protocol the AWS SDKs and the AWS CLI speak
(AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN, as
aws-vault exec --ecs-server does): the SDKs fetch fresh credentials before the
old ones expire, so a long-running command keeps working. --env puts
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
AWS_CREDENTIAL_EXPIRATION in its environment instead (for tools that read only
those; they do not renew). Either way the command gets AWS_REGION and
AWS_DEFAULT_REGION, and for a sandbox profile AWS_ENDPOINT_URL, so the AWS CLI
and SDKs call the sandbox. Without CMD it starts $SHELL.

  tipctl exec -- aws s3 ls s3://analytics-data/emea/
  tipctl exec --s3ag s3://analytics-data/emea/ --permission READ -- aws s3 cp s3://analytics-data/emea/q1.csv .

With --s3ag the command gets S3 Access Grants credentials for that target
(s3:GetDataAccess) instead. Inherited credential variables (AWS_ACCESS_KEY_ID,
AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_WEB_IDENTITY_TOKEN_FILE, ...) are
removed, and so are AWS_PROFILE and AWS_DEFAULT_PROFILE when they name an AWS
profile whose credential_process runs tipctl. TIPCTL_EXEC_PROFILE tells the
command (and your prompt) which profile it carries; tipctl exec refuses to run
inside another one.

stdin, stdout and stderr are the command's own. SIGINT, SIGTERM, SIGHUP,
SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH are passed on (a Ctrl-C at the terminal
reaches the command directly, once), and tipctl exits with the command's exit
code: 128+N when it was killed by signal N, 127 when it does not exist.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sa.check(cmd); err != nil {
				return err
			}
			if err := app.notNested(); err != nil {
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
			if !useEnv {
				argv := args
				if len(argv) == 0 {
					argv = []string{defaultShell(app)}
					app.say("tipctl: starting %s with the renewing credentials of profile %s; exit it to leave", argv[0], p.Name)
				}
				return execServed(cmd, app, p, m, sa, region, argv)
			}
			env := childEnv(app, p, region)
			env = setEnv(env, "AWS_ACCESS_KEY_ID", creds.AccessKeyID)
			env = setEnv(env, "AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
			env = setEnv(env, "AWS_SESSION_TOKEN", creds.SessionToken)
			if creds.CanExpire {
				env = setEnv(env, "AWS_CREDENTIAL_EXPIRATION", creds.Expires.UTC().Format(time.RFC3339))
			}
			argv := args
			if len(argv) == 0 {
				argv = []string{defaultShell(app)}
				app.say("tipctl: starting %s with the credentials of profile %s (until %s); exit it to leave",
					argv[0], p.Name, creds.Expires.Local().Format("15:04 MST"))
			}
			return runChild(app, argv, env)
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().BoolVar(&useEnv, "env", false, "put the credentials in the command's environment (AWS_ACCESS_KEY_ID, ...) instead; they do not renew")
	cmd.Flags().StringVar(&region, "region", "", "AWS_REGION for the command (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)")
	sa.register(cmd)
	return cmd
}

// execCredentials gets the identity-enhanced (or, with --s3ag, S3 Access
// Grants) credentials.
func execCredentials(cmd *cobra.Command, m *session.Manager, sa s3agOptions) (aws.Credentials, error) {
	if sa.target != "" {
		return s3agCredentials(cmd, m, sa)
	}
	c, err := m.Credentials(cmd.Context(), false)
	if err != nil {
		return aws.Credentials{}, failure(err, m.Profile.Name)
	}
	return c.AWS(), nil
}

func defaultShell(app *App) string {
	if s := app.env("SHELL"); s != "" {
		return s
	}
	if runtime.GOOS == "windows" {
		if s := app.env("COMSPEC"); s != "" {
			return s
		}
		return "cmd.exe"
	}
	return "/bin/sh"
}

// childEnv is the environment for a command run with a profile's
// credentials: tipctl's own, without inherited credentials or an
// AWS_PROFILE that loops back to tipctl, with the profile's region (or
// region), its endpoint for the sandbox, and TIPCTL_EXEC_PROFILE.
func childEnv(app *App, p *config.Profile, region string) []string {
	env := os.Environ()
	for _, k := range credentialVars {
		env = unsetEnv(env, k)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		if name := app.env(k); name != "" {
			if why := loopsToTipctl(app, name); why != "" {
				env = unsetEnv(env, k)
				if app.Debug {
					app.say("[debug] exec: removed %s=%s (%s)", k, name, why)
				}
			}
		}
	}
	if region = childRegion(app, region, p); region != "" {
		env = setEnv(env, "AWS_REGION", region)
		env = setEnv(env, "AWS_DEFAULT_REGION", region)
	}
	if p.EndpointURL != "" {
		env = setEnv(env, "AWS_ENDPOINT_URL", p.EndpointURL)
	}
	return setEnv(env, EnvExecProfile, p.Name)
}

// loopsToTipctl says why the AWS profile name gets its credentials from
// tipctl (its credential_process, or its source_profile's), or "".
func loopsToTipctl(app *App, name string) string {
	f, _ := readAWSFile(app, awsini.ConfigPath)
	if f == nil {
		return ""
	}
	seen := map[string]bool{}
	for cur := name; cur != "" && !seen[cur]; {
		seen[cur] = true
		kv, ok := f.Profile(cur)
		if !ok {
			return ""
		}
		if invokesTipctl(kv["credential_process"]) {
			if cur == name {
				return "its credential_process runs tipctl"
			}
			return "its source profile " + cur + " runs tipctl"
		}
		cur = kv["source_profile"]
	}
	return ""
}

// invokesTipctl reports whether a credential_process command line runs
// tipctl (by name, or this very executable).
func invokesTipctl(cmdline string) bool {
	words := strings.Fields(cmdline)
	if len(words) == 0 {
		return false
	}
	first := strings.Trim(words[0], `"'`)
	base := strings.TrimSuffix(filepath.Base(first), ".exe")
	if base == "tipctl" {
		return true
	}
	self, err := os.Executable()
	if err != nil {
		return false
	}
	a, errA := os.Stat(self)
	b, errB := os.Stat(first)
	return errA == nil && errB == nil && os.SameFile(a, b)
}

func unsetEnv(env []string, key string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !envKeyEqual(k, key) {
			out = append(out, kv)
		}
	}
	return out
}

func setEnv(env []string, key, value string) []string {
	return append(unsetEnv(env, key), key+"="+value)
}

func envKeyEqual(a, b string) bool {
	if runtime.GOOS == "windows" {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// runChild runs argv with env and the app's stdio, passes signals on, and
// returns nil for exit code 0, else a silent *Error with the command's
// exit code (128+N when signal N killed it).
func runChild(app *App, argv []string, env []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return Errorf(ExitNotFound, "check the name and PATH", "%s: command not found", argv[0])
		}
		return Errorf(ExitCannotRun, "", "%s: %v", argv[0], err)
	}
	c := exec.Command(path)
	c.Args = argv
	c.Env = env
	c.Stdin, c.Stdout, c.Stderr = app.Stdin, app.Stdout, app.Stderr
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		return Errorf(ExitCannotRun, "", "%s: %v", argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if !deliveredByTerminal(s) {
					_ = c.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err = c.Wait()
	close(done)
	code := exitStatus(c.ProcessState)
	if code == 0 {
		return nil
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		// The command ran but its output could not be copied.
		return Errorf(ExitFailure, "", "%s: %v", argv[0], err)
	}
	return &Error{Code: code}
}

// exitStatus is a process's exit code, or 128+N when signal N killed it.
func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return ExitFailure
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if c := ps.ExitCode(); c >= 0 {
		return c
	}
	return ExitFailure
}

// quoteArg quotes a word for a POSIX shell command line when needed.
func quoteArg(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.,/:@%+=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// s3agCredentials gets S3 Access Grants credentials for --s3ag.
func s3agCredentials(cmd *cobra.Command, m *session.Manager, sa s3agOptions) (aws.Credentials, error) {
	c, err := s3ag.GetDataAccess(cmd.Context(), m, s3ag.Request{Target: sa.target, Permission: sa.permission, Privilege: sa.privilege})
	if err != nil {
		return aws.Credentials{}, s3agCommandFailure(err, m.Profile.Name)
	}
	return c.AWS(), nil
}
