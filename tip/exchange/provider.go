package exchange

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Provider is an aws.CredentialsProvider that runs the chain. Wrap it in
// aws.NewCredentialsCache (or use NewCredentialsCache) so the chain runs only
// when the credentials are about to expire.
type Provider struct {
	Config Config

	mu   sync.Mutex
	last *Result
}

// NewProvider returns a provider for c.
func NewProvider(c Config) *Provider { return &Provider{Config: c} }

// Retrieve runs the chain and returns the identity-enhanced credentials.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	res, err := Run(ctx, p.Config)
	if err != nil {
		return aws.Credentials{}, err
	}
	p.mu.Lock()
	p.last = res
	p.mu.Unlock()
	return res.Credentials, nil
}

// Last returns the result of the most recent successful Retrieve.
func (p *Provider) Last() *Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// NewCredentialsCache wraps p in an aws.CredentialsCache that refreshes 10
// minutes before expiry, as botocore's mandatory refresh window does.
func NewCredentialsCache(p *Provider) *aws.CredentialsCache {
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = 10 * time.Minute
	})
}
