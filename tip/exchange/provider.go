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
//
// Like AWS's trusted identity propagation plugins for the JavaScript and
// Java SDKs, the provider keeps the Identity Center refresh token of the
// last exchange in memory (unless Config.Renewal or Config.SaveRenewal is
// set, when the caller keeps it) and renews with it while it is accepted,
// so IDToken is asked again only when Identity Center refuses it.
type Provider struct {
	Config Config

	mu      sync.Mutex
	last    *Result
	renewal *Renewal
}

// NewProvider returns a provider for c.
func NewProvider(c Config) *Provider { return &Provider{Config: c} }

// Retrieve runs the chain and returns the identity-enhanced credentials.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c := p.Config
	if c.Renewal == nil && c.SaveRenewal == nil {
		p.mu.Lock()
		c.Renewal = p.renewal
		p.mu.Unlock()
		c.SaveRenewal = func(_ context.Context, r *Renewal) error {
			p.mu.Lock()
			p.renewal = r
			p.mu.Unlock()
			return nil
		}
	}
	res, err := Run(ctx, c)
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
