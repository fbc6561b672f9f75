package cli

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/credserver"
	"github.com/tipctl/tipctl/tip/session"
)

// execServed runs argv with a credential server on the loopback that
// speaks the container-credentials protocol (AWS_CONTAINER_CREDENTIALS_FULL_URI
// + AWS_CONTAINER_AUTHORIZATION_TOKEN, as aws-vault exec --ecs-server
// does): the SDKs in the command poll it and get fresh credentials before
// the old ones expire, so a long-running command never holds expired ones.
// The server stops when the command ends.
func execServed(cmd *cobra.Command, app *App, p *config.Profile, m *session.Manager, sa s3agOptions, region string, argv []string) error {
	provider := sessionProvider(m)
	if sa.target != "" {
		provider = aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			return s3agCredentials(cmd, m, sa)
		})
	}
	opts := credserver.Options{RoleArn: p.EnhancedRoleARN, Provider: provider}
	if app.Debug {
		opts.Log = func(format string, args ...any) { app.say("[debug] "+format, args...) }
	}
	srv, err := credserver.New(opts)
	if err != nil {
		return Errorf(ExitFailure, "", "cannot start the credential server for the command: %v", err)
	}
	srv.Start()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	env := append(childEnv(app, p, region), srv.Env()...)
	warnOwnCredentials(app, lookupEnv(env, "AWS_PROFILE"))
	return runChild(app, argv, env)
}
