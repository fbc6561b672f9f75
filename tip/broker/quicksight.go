package broker

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tipctl/tipctl/tip/quicksight"
)

// QuickSightConfig configures the QuickSight identity-context path: the
// application's own credentials (Admin) get a QuickSight user's identity
// context (quicksight:GetIdentityContext) and assume RoleArn with it. It is
// the path for QuickSight and IAM-federated QuickSight users, whom
// Identity Center does not know.
type QuickSightConfig struct {
	Admin aws.Config
	// RoleArn's trust policy allows Admin sts:AssumeRole and sts:SetContext.
	RoleArn string
	// AccountID defaults to the role's account; Namespace to "default".
	AccountID string
	Namespace string
	// Duration of the role session (default 1 hour).
	Duration time.Duration
	// Mint replaces quicksight.IdentitySession (tests).
	Mint func(ctx context.Context, admin aws.Config, req quicksight.IdentityRequest) (*quicksight.Session, error)
}

// QuickSight returns identity-enhanced credentials for a QuickSight user,
// cached and single-flighted like Credentials. The application must have
// authenticated the person it names.
func (b *Broker) QuickSight(ctx context.Context, user quicksight.User) (*Session, error) {
	q := b.cfg.QuickSight
	if q == nil {
		return nil, errors.New("broker: no QuickSight configuration")
	}
	key := "qs:" + digest("quicksight", user.Email, user.UserName, user.Arn, q.RoleArn, q.AccountID, q.Namespace, q.Duration.String())
	c, onShared := b.cache()
	s, err := b.quickSight(ctx, c, key, user)
	if err == nil || !onShared || !isCacheFailure(err) {
		if err == nil && onShared {
			b.recovered()
		}
		return s, err
	}
	if ferr := b.cacheFailed(err); ferr != nil {
		return nil, ferr
	}
	b.metrics.Fallbacks.Add(1)
	return b.quickSight(ctx, b.local, key, user)
}

func (b *Broker) quickSight(ctx context.Context, c Cache, key string, user quicksight.User) (*Session, error) {
	credsKey := "creds:" + key
	e, err := b.get(ctx, c, credsKey)
	if err != nil {
		return nil, err
	}
	hit, old := b.classify(e)
	if hit != nil {
		return hit, nil
	}
	return b.join(ctx, b.flightKey(c, key), func(ctx context.Context) (*Session, error) {
		recheck := func(ctx context.Context) (*Entry, error) { return b.get(ctx, c, credsKey) }
		e, cached, err := b.locked(ctx, c, "lock:"+key, old, recheck, func(ctx context.Context, l *Lock) (*Entry, error) {
			q := b.cfg.QuickSight
			mint := q.Mint
			if mint == nil {
				mint = quicksight.IdentitySession
			}
			dur := q.Duration
			if dur <= 0 {
				dur = time.Hour
			}
			b.metrics.Exchanges.Add(1)
			s, err := mint(ctx, q.Admin, quicksight.IdentityRequest{AccountID: q.AccountID, User: user, Namespace: q.Namespace,
				RoleArn: q.RoleArn, Duration: dur})
			if err != nil {
				return nil, err
			}
			e := &Entry{AccessKeyID: s.Credentials.AccessKeyID, SecretAccessKey: s.Credentials.SecretAccessKey,
				SessionToken: s.Credentials.SessionToken, Expires: s.Credentials.Expires, AssumedRoleArn: s.AssumedRoleArn,
				UserID: s.User.String(), Fence: l.Fence}
			b.store(ctx, c, l, Item{Key: credsKey, Entry: e, TTL: e.Expires.Sub(b.now())})
			return e, nil
		})
		if err != nil {
			return nil, err
		}
		return sessionOf(e, cached), nil
	})
}
