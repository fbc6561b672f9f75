package cli

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/tipctl/tipctl/tip/config"
)

// ambientCredentials is the source of the AWS credentials that replace
// the bridge role in a profile with exchange_credentials: the SDK's
// default chain, or a named AWS profile. A profile whose credentials come
// from tipctl itself is refused (it would call itself forever).
func (a *App) ambientCredentials(p *config.Profile) func(context.Context) (aws.CredentialsProvider, error) {
	if p.ExchangeCredentials == "" {
		return nil
	}
	return func(ctx context.Context) (aws.CredentialsProvider, error) {
		name := p.ExchangeAWSProfile()
		what := "AWS profile " + name
		if name == "" {
			name, what = a.env("AWS_PROFILE"), "AWS_PROFILE="+a.env("AWS_PROFILE")
		}
		if name != "" {
			if why := loopsToTipctl(a, name); why != "" {
				return nil, Errorf(ExitConfig, "name an AWS profile with credentials of its own in exchange_credentials",
					"exchange_credentials: %s cannot be used: %s", what, why)
			}
		}
		// The SDK's own HTTP client: it applies AWS_CA_BUNDLE itself (and
		// refuses a prebuilt client when one is set).
		opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(p.ICRegion())}
		if p.EndpointURL != "" {
			// A sandbox profile sends every AWS call to the sandbox,
			// including the STS calls of the credential chain.
			opts = append(opts, awsconfig.WithBaseEndpoint(p.EndpointURL))
		}
		if p.ExchangeAWSProfile() != "" {
			opts = append(opts, awsconfig.WithSharedConfigProfile(p.ExchangeAWSProfile()))
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, Errorf(ExitConfig, "check the AWS profile named in exchange_credentials", "exchange_credentials %s: %v", p.ExchangeCredentials, err)
		}
		return cfg.Credentials, nil
	}
}

// switchBridge lets `configure idp` switch between a bridge role and
// exchange_credentials: the one newly given replaces the other one of the
// current profile.
func switchBridge(merged, given map[string]string) {
	has := func(k string) bool { return strings.TrimSpace(given[k]) != "" }
	switch {
	case has("exchange_credentials") && !has("bridge_role_arn"):
		delete(merged, "bridge_role_arn")
	case has("bridge_role_arn") && !has("exchange_credentials"):
		delete(merged, "exchange_credentials")
	}
}
