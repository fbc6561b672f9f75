package cli

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/awsini"
	"github.com/tipctl/tipctl/tip/credserver"
	"github.com/tipctl/tipctl/tip/session"
)

func init() { register(newServeCmd) }

func newServeCmd(app *App) *cobra.Command {
	var listen, execLine, region string
	cmd := &cobra.Command{
		Use:   "serve [--profile P] [--listen 127.0.0.1:0] [--exec CMD | -- CMD ARGS...]",
		Short: "Serve identity-enhanced credentials to SDKs (the ECS container credentials protocol)",
		Long: `Runs a local credential server speaking the protocol the AWS SDKs and the AWS
CLI use on ECS. It prints the two variables that point them at it:

  export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/
  export AWS_CONTAINER_AUTHORIZATION_TOKEN=…

(followed by AWS_REGION, and AWS_ENDPOINT_URL for a sandbox profile). Any
process with the first two set gets the profile's identity-enhanced
credentials with no other configuration, and fresh ones when they are about
to expire: the server refreshes 15 minutes ahead of expiry, once however
many requests arrive. A request without the random token gets 401.

--exec CMD runs CMD (with sh -c) with those variables set, and stops the
server when it exits, passing its exit code on; so does a command after --.
Inherited credential variables are removed from its environment, since the
SDKs prefer them to the server.

The server listens on loopback only (127.0.0.1 or ::1; a random port by
default) and stops cleanly on Ctrl-C or SIGTERM.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if execLine != "" && len(args) > 0 {
				return Errorf(ExitUsage, "use one of them", "pass the command with --exec or after --, not both")
			}
			if execLine != "" {
				args = shellCommand(execLine)
			}
			if len(args) > 0 {
				if err := app.notNested(); err != nil {
					return err
				}
			}
			addr, err := credserver.LoopbackAddr(listen)
			if err != nil {
				return Errorf(ExitUsage, "use --listen 127.0.0.1:PORT (or 127.0.0.1:0 for any free port)", "%v", err)
			}
			p, m, err := app.session()
			if err != nil {
				return err
			}
			// Fail now, not on the first request, when there is no login;
			// nothing is minted until a client asks.
			if _, err := m.Tokens(); err != nil {
				return failure(err, p.Name)
			}
			opts := credserver.Options{Listen: addr, RoleArn: p.EnhancedRoleARN, Provider: sessionProvider(m)}
			if app.Debug {
				opts.Log = func(format string, args ...any) { app.say("[debug] "+format, args...) }
			}
			srv, err := credserver.New(opts)
			if err != nil {
				return Errorf(ExitUsage, "choose another port with --listen", "cannot listen on %s: %v", addr, err)
			}
			srv.Start()
			stop := func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}
			if len(args) > 0 {
				env := childEnv(app, p, region)
				env = append(env, srv.Env()...)
				warnOwnCredentials(app, lookupEnv(env, "AWS_PROFILE"))
				err := runChild(app, args, env)
				stop()
				return err
			}
			vars := [][2]string{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL()}, {"AWS_CONTAINER_AUTHORIZATION_TOKEN", srv.Token()}}
			if r := childRegion(app, region, p); r != "" {
				vars = append(vars, [2]string{"AWS_REGION", r})
			}
			if p.EndpointURL != "" {
				vars = append(vars, [2]string{"AWS_ENDPOINT_URL", p.EndpointURL})
			}
			if app.JSON() {
				env := map[string]string{}
				for _, v := range vars {
					env[v[0]] = v[1]
				}
				if err := app.printJSON(map[string]any{"profile": p.Name, "url": srv.URL(), "env": env}); err != nil {
					stop()
					return err
				}
			} else {
				for _, v := range vars {
					fmt.Fprintf(app.Stdout, "export %s=%s\n", v[0], quoteArg(v[1]))
				}
			}
			warnOwnCredentials(app, app.env("AWS_PROFILE"))
			app.say("tipctl serve: credentials of profile %s at %s; Ctrl-C to stop", p.Name, srv.URL())
			<-cmd.Context().Done()
			app.say("tipctl serve: stopping")
			stop()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:0", "loopback address to listen on")
	f.StringVar(&execLine, "exec", "", "run this command line (with sh -c) with the server's variables, then stop")
	f.StringVar(&region, "region", "", "AWS_REGION to print or give the command (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)")
	return cmd
}

// sessionProvider serves the session's identity-enhanced credentials as an
// aws.CredentialsProvider; errors carry the CLI's one-line fix.
func sessionProvider(m *session.Manager) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		c, err := m.Credentials(ctx, false)
		if err != nil {
			return aws.Credentials{}, failure(err, m.Profile.Name)
		}
		return c.AWS(), nil
	})
}

// shellCommand runs line with the system shell.
func shellCommand(line string) []string {
	if runtime.GOOS == "windows" {
		return []string{"cmd.exe", "/C", line}
	}
	return []string{"/bin/sh", "-c", line}
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// warnOwnCredentials warns when the AWS profile SDKs will use (AWS_PROFILE,
// else default) has credentials of its own: the SDKs take those before the
// container credentials.
func warnOwnCredentials(app *App, awsProfile string) {
	name := orDefault(awsProfile, "default")
	var found map[string]string
	var where string
	if f, path := readAWSFile(app, awsini.CredentialsPath); f != nil {
		found, _ = f.Section(name)
		where = path
	}
	if found["aws_access_key_id"] == "" {
		found = nil
		if f, path := readAWSFile(app, awsini.ConfigPath); f != nil {
			found, _ = f.Profile(name)
			where = path
		}
	}
	for _, k := range []string{"aws_access_key_id", "credential_process", "role_arn", "sso_session", "sso_start_url", "web_identity_token_file"} {
		if found[k] != "" {
			app.say("tipctl: warning: AWS profile %s has %s in %s; SDKs use it before the credential server (set AWS_PROFILE to a profile without credentials)", name, k, where)
			return
		}
	}
}

// lookupEnv returns key's value in env.
func lookupEnv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && envKeyEqual(k, key) {
			v = val
		}
	}
	return v
}
