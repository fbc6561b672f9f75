package broker

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/tip/exchange"
	"github.com/tipctl/tipctl/tip/session"
)

// locked runs mint under the exchange lock lockKey of c, once for every
// replica: while another holder has the lock, it polls recheck for the
// holder's result. old (credentials inside the advisory window) is
// returned when another replica is already refreshing, or when the
// refresh fails while old is still outside the mandatory window.
func (b *Broker) locked(ctx context.Context, c Cache, lockKey string, old *Entry,
	recheck func(context.Context) (*Entry, error), mint func(context.Context, *Lock) (*Entry, error)) (*Entry, bool, error) {
	var l *Lock
	waited := false
	backoff := 5 * time.Millisecond
	for {
		var err error
		if l, err = c.TryLock(ctx, lockKey, b.lease); err != nil {
			return nil, false, &cacheError{err}
		}
		if l != nil {
			break
		}
		if old != nil {
			return old, true, nil // someone else is refreshing; old is still good
		}
		if !waited {
			waited = true
			b.metrics.LockWaits.Add(1)
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, 250*time.Millisecond)
		e, err := recheck(ctx)
		if err != nil {
			return nil, false, err
		}
		if e != nil && e.Expires.Sub(b.now()) > session.Advisory {
			return e, true, nil
		}
	}
	done := make(chan struct{})
	defer func() {
		close(done)
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = c.Unlock(uctx, l)
	}()
	go b.renew(ctx, c, l, done)
	// The previous holder may have finished just before we took the lock.
	if e, err := recheck(ctx); err != nil {
		return nil, false, err
	} else if e != nil && e.Expires.Sub(b.now()) > session.Advisory {
		return e, true, nil
	}
	e, err := mint(ctx, l)
	if err != nil {
		if old != nil && old.Expires.Sub(b.now()) > session.Mandatory {
			b.log.Warn("tipctl broker: refreshing credentials failed; serving the cached ones until the mandatory window", "error", err.Error())
			return old, true, nil
		}
		return nil, false, err
	}
	return e, false, nil
}

// renew extends the lease every third of it until done.
func (b *Broker) renew(ctx context.Context, c Cache, l *Lock, done <-chan struct{}) {
	t := time.NewTicker(b.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Extend(ctx, l, b.lease); err != nil {
				return
			}
		}
	}
}

// store writes items under l; a lost lease is counted (the caller still
// gets its credentials), a failed shared cache falls back to local.
func (b *Broker) store(ctx context.Context, c Cache, l *Lock, items ...Item) {
	err := c.Put(ctx, l, items...)
	switch {
	case err == nil:
	case errors.Is(err, ErrLockLost):
		b.metrics.Fenced.Add(1)
	default:
		if c != Cache(b.local) && b.cacheFailed(&cacheError{err}) == nil {
			_ = b.local.Put(ctx, nil, items...)
		}
	}
}

// exchangeLocked is the miss path of one person on cache c.
func (b *Broker) exchangeLocked(ctx context.Context, c Cache, req *request, old *Entry) (*Session, error) {
	recheck := func(ctx context.Context) (*Entry, error) {
		return b.lookup(ctx, c, req)
	}
	e, cached, err := b.locked(ctx, c, b.lockKey(req.principal), old, recheck, func(ctx context.Context, l *Lock) (*Entry, error) {
		return b.mint(ctx, c, l, req)
	})
	if err != nil {
		return nil, err
	}
	return sessionOf(e, cached), nil
}

// mint runs the chain with an assertion not yet exchanged and stores the
// result under the Identity Center user and the principal.
func (b *Broker) mint(ctx context.Context, c Cache, l *Lock, req *request) (*Entry, error) {
	alias, err := b.get(ctx, c, b.aliasKey(req.principal))
	if err != nil {
		return nil, err
	}
	assertion := req.user.IDToken
	refreshed := false
	if alias != nil && alias.Used == tokenHash(assertion) {
		if assertion, err = b.fresh(ctx, req); err != nil {
			return nil, err
		}
		refreshed = true
	}
	run := func(tok string) (*exchange.Result, error) {
		cfg := b.cfg.Exchange
		cfg.IDToken = func(context.Context) (string, error) { return tok, nil }
		b.metrics.Exchanges.Add(1)
		return b.cfg.Exchanger(ctx, cfg)
	}
	res, err := run(assertion)
	if err != nil && !refreshed && req.user.Refresh != nil && assertionRefused(err) {
		// The record of the used assertion may have been lost (a Redis
		// restart): try once more with a fresh id_token.
		if assertion, err = b.fresh(ctx, req); err != nil {
			return nil, err
		}
		res, err = run(assertion)
	}
	if err != nil {
		return nil, err
	}
	if res.User.UserID == "" {
		return nil, errors.New("broker: the Identity Center token named no user (no sub claim)")
	}
	now := b.now()
	e := &Entry{AccessKeyID: res.Credentials.AccessKeyID, SecretAccessKey: res.Credentials.SecretAccessKey,
		SessionToken: res.Credentials.SessionToken, Expires: res.Credentials.Expires, AssumedRoleArn: res.AssumedRoleArn,
		UserID: res.User.UserID, IdentityStoreID: res.User.IdentityStoreID, Used: tokenHash(assertion), Fence: l.Fence}
	life := e.Expires.Sub(now)
	aliasLife := max(req.tokenExp.Sub(now), life) + time.Minute
	b.store(ctx, c, l,
		Item{Key: b.credsKey(e.UserID), Entry: e, TTL: life},
		Item{Key: b.aliasKey(req.principal), Entry: &Entry{UserID: e.UserID, Used: e.Used, Fence: l.Fence}, TTL: aliasLife})
	_ = b.aliases.Put(ctx, nil, Item{Key: req.principal, Entry: &Entry{UserID: e.UserID}, TTL: req.tokenExp.Sub(now)})
	b.remember(ctx, req.user.IDToken, req.principal, req.tokenExp, e.UserID)
	return e, nil
}

// fresh asks the application for a new id_token of the same person.
func (b *Broker) fresh(ctx context.Context, req *request) (string, error) {
	if req.user.Refresh == nil {
		return "", ErrAssertionUsed
	}
	b.metrics.Refreshes.Add(1)
	tok, err := req.user.Refresh(ctx)
	if err != nil {
		return "", err
	}
	p, _, _, err := b.principal(ctx, tok)
	if err != nil {
		return "", err
	}
	if p != req.principal {
		return "", errors.New("broker: Refresh returned an id_token of another person")
	}
	return tok, nil
}

// assertionRefused reports Identity Center refusing the assertion (e.g.
// already exchanged).
func assertionRefused(err error) bool {
	var se *exchange.StepError
	if !errors.As(err, &se) || se.Step != 2 {
		return false
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidGrantException"
}
