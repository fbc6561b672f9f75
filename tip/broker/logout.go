package broker

import "context"

// Logout forgets the person of idToken everywhere: their credentials and
// their principal entry in the shared cache (so no replica serves them
// again) and in this process. The token must still verify; for a person
// whose token has expired, use Revoke with Session.UserID.
func (b *Broker) Logout(ctx context.Context, idToken string) error {
	p, _, known, err := b.principal(ctx, idToken)
	if err != nil {
		return err
	}
	user := known
	if a, _ := b.aliases.Get(ctx, p); user == "" && a != nil {
		user = a.UserID
	}
	if a, gerr := b.shared.Get(ctx, b.aliasKey(p)); user == "" && gerr == nil && a != nil {
		user = a.UserID
	}
	keys := []string{b.aliasKey(p)}
	if user != "" {
		keys = append(keys, b.credsKey(user))
	}
	_ = b.aliases.Delete(ctx, p)
	_ = b.verified.Delete(ctx, idToken)
	_ = b.local.Delete(ctx, keys...)
	if b.shared != Cache(b.local) {
		if err := b.shared.Delete(ctx, keys...); err != nil {
			return &cacheError{err}
		}
	}
	return nil
}

// Revoke forgets the credentials of an Identity Center user everywhere,
// e.g. when the user was disabled: the next request of any of their
// sessions needs a new exchange, which Identity Center then refuses.
func (b *Broker) Revoke(ctx context.Context, identityCenterUserID string) error {
	k := b.credsKey(identityCenterUserID)
	_ = b.local.Delete(ctx, k)
	if b.shared != Cache(b.local) {
		if err := b.shared.Delete(ctx, k); err != nil {
			return &cacheError{err}
		}
	}
	return nil
}
