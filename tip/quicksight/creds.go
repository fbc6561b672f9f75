package quicksight

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// MintFunc mints credentials. force is true after the last ones were
// invalidated (a service said they had expired): a mint with its own cache
// (tip/session's Manager) must not return the cached credentials then.
type MintFunc func(ctx context.Context, force bool) (aws.Credentials, error)

// Credentials are refreshable credentials: an aws.CredentialsCache over a
// provider that mints new ones (GetIdentityContext + AssumeRole, or an
// Identity Center session). Invalidate makes the next Retrieve mint again;
// Snapshot calls it when QuickSight reports the credentials as expired, so a
// long poll survives the end of a session.
type Credentials struct {
	cache *aws.CredentialsCache
	inner *minter
}

type minter struct {
	mint  MintFunc
	force atomic.Bool
	mints atomic.Int64
}

func (m *minter) Retrieve(ctx context.Context) (aws.Credentials, error) {
	force := m.force.Swap(false)
	c, err := m.mint(ctx, force)
	if err != nil {
		if force {
			m.force.Store(true)
		}
		return aws.Credentials{}, err
	}
	m.mints.Add(1)
	return c, nil
}

// NewCredentials returns refreshable credentials over mint. They are
// minted again a minute before they expire, or after Invalidate.
func NewCredentials(mint MintFunc) *Credentials {
	in := &minter{mint: mint}
	return &Credentials{inner: in, cache: aws.NewCredentialsCache(in, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = time.Minute
	})}
}

// Retrieve returns the cached credentials, minting them when needed.
func (c *Credentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return c.cache.Retrieve(ctx)
}

// Invalidate drops the cached credentials: the next Retrieve mints new
// ones, with force set.
func (c *Credentials) Invalidate() {
	c.inner.force.Store(true)
	c.cache.Invalidate()
}

// Mints is how many times credentials were minted.
func (c *Credentials) Mints() int { return int(c.inner.mints.Load()) }

// invalidator is what Snapshot needs to refresh expired credentials.
type invalidator interface{ Invalidate() }
