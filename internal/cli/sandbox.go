package cli

import (
	"errors"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/world"
)

// DefaultSandboxListen is where `tipctl sandbox` listens unless told otherwise.
const DefaultSandboxListen = "127.0.0.1:4577"

func init() { register(newSandboxCmd) }

func newSandboxCmd(app *App) *cobra.Command {
	var listen, worldFile, stateDir, trailBucket string
	var trust trustFlags
	var bare, allowRemote, trail, record bool
	var maxObject int64
	var events int
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the local emulator of the IdP, Identity Center, STS, S3, Access Grants and QuickSight",
		Long: `Serves every emulated service on one HTTP listener. The official AWS SDKs and
the AWS CLI talk to it unchanged: point them at the printed URL
(--endpoint-url, AWS_ENDPOINT_URL). Administrator credentials: test / test.

When ready it prints the endpoint URL on one line. Ctrl-C or SIGTERM stops it.
Control endpoints: /_sandbox/health, /_sandbox/info, /_sandbox/stats,
/_sandbox/clock, /_sandbox/faults, and /_sandbox/world, which exports the live
state as a world file for --world. They answer only to a loopback Host, and a
POST or DELETE must carry the header X-Tipctl-Sandbox: 1.

The console (live CloudTrail timeline, TIP chains, who can access what) is at
/_sandbox/console, read-only. Every call is recorded as a CloudTrail event
(CloudTrail LookupEvents answers; --events bounds how many are kept); with
--trail they are also delivered as CloudTrail log files into a sandbox bucket.

The sandbox listens on loopback only (127.0.0.1, [::1] or localhost): it
hands out administrator keys and passwords. Another address needs
--allow-remote.

--bare starts an account with Identity Center, its users and groups, the
buckets and the QuickSight data, but no trust configuration at all (no OIDC
provider, roles, trusted token issuer, application or Access Grants): set it
up with the AWS CLI. With --trust-issuer URL --audience AUD as well, the
account stays bare, and Identity Center's directory is provisioned from that
issuer (its people are created on first sight of a token for AUD that an
application you set up accepts, as SCIM would): rehearse the setup of your
own IdP. --state DIR keeps the live state across restarts: every change is
written there atomically before it is answered (S3 objects as files of their
own under DIR/s3), so a kill loses at most the request in flight.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if bare && worldFile != "" {
				return Errorf(ExitUsage, "use one of them", "--bare and --world both choose the starting world")
			}
			if err := trust.check(); err != nil {
				return err
			}
			if allowRemote && !sandbox.IsLoopbackListen(listen) {
				app.say("tipctl sandbox: WARNING: listening on %s, beyond this machine: anyone who can reach it gets the administrator keys and every user's password (/_sandbox/info stays loopback-only, but test/test is well known)", listen)
			}
			if events < 0 {
				return Errorf(ExitUsage, "give a positive number, e.g. --events 5000", "--events must be positive")
			}
			opts := sandbox.Options{Listen: listen, WorldFile: worldFile, AllowRemote: allowRemote, MaxObjectSize: maxObject, Events: events,
				TrustIssuer: trust.issuer, Audience: trust.audience, IssuerDiscovery: trust.discovery, Bare: bare, StateDir: stateDir}
			if trail || cmd.Flags().Changed("trail-bucket") {
				opts.TrailBucket = trailBucket
			}
			sb, err := startSandbox(opts)
			if err != nil {
				return err
			}
			sb.Trail.SetEnabled(record)
			defer sb.Close()
			if app.JSON() {
				_ = app.printJSON(map[string]string{"endpoint": sb.URL()})
			} else {
				_, _ = app.Stdout.Write([]byte(sb.URL() + "\n"))
			}
			app.say("tipctl sandbox: serving at %s (world: %s); Ctrl-C to stop", sb.URL(), sb.Env.World.Source)
			<-cmd.Context().Done()
			app.say("tipctl sandbox: stopping")
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", DefaultSandboxListen, "address to listen on (127.0.0.1:0 picks a free port)")
	cmd.Flags().BoolVar(&trail, "trail", false, "deliver CloudTrail log files (AWSLogs/…/CloudTrail/…json.gz) into the trail bucket")
	cmd.Flags().StringVar(&trailBucket, "trail-bucket", "tipctl-sandbox-trail", "bucket for --trail (created when missing)")
	cmd.Flags().BoolVar(&record, "record", true, "record calls as CloudTrail events (--record=false for benchmarks without the recorder)")
	cmd.Flags().IntVar(&events, "events", 0, "CloudTrail events kept in memory (default 5000, about 2.5 KB each); older ones are dropped")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow a --listen address that is not loopback (the sandbox's keys and passwords become reachable from the network)")
	cmd.Flags().Int64Var(&maxObject, "max-object-size", 0, "largest S3 object or upload body, in bytes (default 1 GiB)")
	cmd.Flags().StringVar(&worldFile, "world", "", "world YAML file (default: the built-in world; see `tipctl sandbox world`)")
	cmd.Flags().BoolVar(&bare, "bare", false, "start from an account with no trust configuration (to rehearse the setup)")
	cmd.Flags().StringVar(&stateDir, "state", "", "directory that keeps the live state across restarts (loaded from it when present)")
	trust.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "world",
		Short: "Print the default world as YAML, to copy and edit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := app.Stdout.Write(world.DefaultYAML())
			return err
		},
	})
	return cmd
}

// startSandbox starts a sandbox and turns its failures into CLI errors.
func startSandbox(opts sandbox.Options) (*sandbox.Sandbox, error) {
	listen := opts.Listen
	sb, err := sandbox.Start(opts)
	if err == nil {
		return sb, nil
	}
	var werr *world.Error
	switch {
	case errors.As(err, &werr):
		return nil, &Error{Code: ExitConfig, Msg: "the world file has errors: " + strings.ReplaceAll(werr.Error(), "\n", "; "),
			Fix: "fix them and start again (`tipctl sandbox world` prints a valid world)"}
	case errors.Is(err, sandbox.ErrRemoteListen):
		return nil, Errorf(ExitUsage, "listen on 127.0.0.1:PORT or [::1]:PORT, or add --allow-remote to serve the network on purpose",
			"%s is not a loopback address: the sandbox would serve its administrator keys and users' passwords to the network", listen)
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, Errorf(ExitUsage, "choose another with --listen 127.0.0.1:PORT, or 127.0.0.1:0 for any free port", "%s is already in use", listen)
	}
	return nil, Errorf(ExitFailure, "", "cannot start the sandbox: %v", err)
}
