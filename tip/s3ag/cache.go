package s3ag

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/tipctl/tipctl/tip/session"
	"github.com/tipctl/tipctl/tip/store"
)

// kindEntry is the store item kind of a cache entry.
const kindEntry = "s3ag-credentials"

// Prefix is the store key prefix of a profile's S3 Access Grants cache. It
// lies under profile/<name>/, which `tipctl auth logout` wipes.
func Prefix(profile string) string { return "profile/" + profile + "/s3ag/" }

// lockName is the profile's cross-process s3ag lock.
func lockName(profile string) string { return "profile/" + profile + "/s3ag" }

// entryKey names the entry of c: one per (account, scope, permission,
// privilege, target type), hashed to keep keys short whatever the URI.
func entryKey(profile string, c *Credentials) string {
	h := sha256.Sum256([]byte(strings.Join([]string{c.AccountID, c.Scope, c.Permission, c.Privilege, c.TargetType}, "\x00")))
	return Prefix(profile) + hex.EncodeToString(h[:16])
}

// scope is what credentials reach.
type scope struct {
	all   bool  // every bucket (a grant on s3:// or s3://*)
	uri   S3URI // else this prefix
	exact bool  // only uri itself (Minimal privilege, Object target)
}

// parseScope parses a matched grant target or a stored scope.
func parseScope(s string) (scope, bool) {
	if s == "s3://" || s == "s3://*" {
		return scope{all: true}, true
	}
	u, err := ParseS3URI(s)
	if err != nil {
		return scope{}, false
	}
	return scope{uri: u}, true
}

func (s scope) coversURI(t S3URI) bool {
	switch {
	case s.all:
		return true
	case s.exact:
		return t.IsObject() && t.Path() == s.uri.Path()
	}
	return s.uri.Covers(t)
}

func (c *Credentials) scope() (scope, bool) {
	s, ok := parseScope(c.Scope)
	s.exact = c.Privilege == PrivilegeMinimal && c.TargetType == TargetTypeObject
	return s, ok
}

// cache reads and writes one profile's entries.
type cache struct {
	mgr *session.Manager
	now func() time.Time
}

// fresh reports whether c has more than the refresh window left.
func fresh(c *Credentials, now time.Time) bool { return c.Expiration.Sub(now) > session.Advisory }

// sameLogin reports whether c was minted for the login of t.
func sameLogin(c *Credentials, t *session.Tokens) bool {
	return c.Subject == t.Subject && c.LoggedInAt.Equal(t.LoggedInAt)
}

// entries reads every entry of the profile; unreadable ones are skipped
// (corrupt items are replaced on the next save) unless the store itself
// fails.
func (c *cache) entries() (map[string]*Credentials, error) {
	keys, err := c.mgr.Vault.Keys(Prefix(c.mgr.Profile.Name))
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Credentials, len(keys))
	for _, k := range keys {
		b, err := c.mgr.Vault.Get(k)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCorrupt):
			continue
		case err != nil:
			return nil, err
		}
		e, err := decode(b)
		if err != nil {
			continue
		}
		out[k] = e
	}
	return out, nil
}

func decode(b []byte) (*Credentials, error) {
	it, err := store.DecodeItem(b)
	if err != nil {
		return nil, err
	}
	if it.Kind != kindEntry {
		return nil, &store.CorruptError{Key: "s3ag credentials", Reason: "unexpected item kind " + it.Kind}
	}
	var c Credentials
	if err := it.Unmarshal(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// lookup returns the cached entry serving req, or nil. Among several, the
// one that lives longest wins.
func (c *cache) lookup(t *session.Tokens, account string, req Request, target S3URI) (*Credentials, error) {
	all, err := c.entries()
	if err != nil {
		return nil, err
	}
	now := c.now()
	var best *Credentials
	for _, e := range all {
		if !sameLogin(e, t) || e.AccountID != account || e.Privilege != req.Privilege || e.TargetType != req.TargetType ||
			!Covers(e.Permission, req.Permission) || !fresh(e, now) {
			continue
		}
		if s, ok := e.scope(); !ok || !s.coversURI(target) {
			continue
		}
		if best == nil || e.Expiration.After(best.Expiration) {
			best = e
		}
	}
	if best != nil {
		best.Cached = true
	}
	return best, nil
}

// save stores e and drops entries that can never be served again
// (expired, or of another login). The caller holds the s3ag lock.
func (c *cache) save(e *Credentials) error {
	b, err := store.EncodeItem(kindEntry, e)
	if err != nil {
		return err
	}
	key := entryKey(c.mgr.Profile.Name, e)
	if err := c.mgr.Vault.Set(key, b); err != nil {
		return err
	}
	all, err := c.entries()
	if err != nil {
		return nil // the new entry is saved; pruning is best effort
	}
	now := c.now()
	for k, old := range all {
		if k != key && (!old.Expiration.After(now) || old.Subject != e.Subject || !old.LoggedInAt.Equal(e.LoggedInAt)) {
			_ = c.mgr.Vault.Delete(k)
		}
	}
	return nil
}

// Entry is a cache entry without its secrets.
type Entry struct {
	Target             string    `json:"target"`
	MatchedGrantTarget string    `json:"matched_grant_target"`
	Scope              string    `json:"scope"`
	Permission         string    `json:"permission"`
	Privilege          string    `json:"privilege"`
	TargetType         string    `json:"target_type,omitempty"`
	AccountID          string    `json:"account_id"`
	Grantee            Grantee   `json:"grantee"`
	IssuedAt           time.Time `json:"issued_at"`
	Expiration         time.Time `json:"expiration"`
	// State is "valid" (served from the cache), "refresh-due" (less than 15
	// minutes left: a request mints new ones), "expired", or "other-login"
	// (minted before the current login; never served).
	State string `json:"state"`
}

// Entry states.
const (
	StateValid      = "valid"
	StateRefreshDue = "refresh-due"
	StateExpired    = "expired"
	StateOtherLogin = "other-login"
)

// List returns the profile's cached S3 Access Grants credentials without
// secrets, soonest to expire first.
func List(mgr *session.Manager) ([]Entry, error) {
	c := &cache{mgr: mgr, now: nowOf(mgr)}
	all, err := c.entries()
	if err != nil {
		return nil, err
	}
	t, err := mgr.Tokens()
	if err != nil && !errors.Is(err, session.ErrLoginRequired) {
		return nil, err
	}
	now := c.now()
	out := make([]Entry, 0, len(all))
	for _, e := range all {
		en := Entry{Target: e.Target, MatchedGrantTarget: e.MatchedGrantTarget, Scope: e.Scope, Permission: e.Permission,
			Privilege: e.Privilege, TargetType: e.TargetType, AccountID: e.AccountID, Grantee: e.Grantee,
			IssuedAt: e.IssuedAt, Expiration: e.Expiration, State: StateValid}
		switch {
		case t == nil || !sameLogin(e, t):
			en.State = StateOtherLogin
		case !e.Expiration.After(now):
			en.State = StateExpired
		case !fresh(e, now):
			en.State = StateRefreshDue
		}
		out = append(out, en)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Expiration.Equal(out[j].Expiration) {
			return out[i].Expiration.Before(out[j].Expiration)
		}
		return out[i].Scope < out[j].Scope
	})
	return out, nil
}

// Clear deletes the profile's cached S3 Access Grants credentials and
// returns how many there were. It does not need a login, and works on
// corrupt entries too. It waits for a mint in progress to finish.
func Clear(ctx context.Context, mgr *session.Manager) (int, error) {
	unlock, err := mgr.Vault.Lock(ctx, lockName(mgr.Profile.Name), 0)
	if err != nil {
		return 0, err
	}
	defer unlock()
	keys, err := mgr.Vault.Keys(Prefix(mgr.Profile.Name))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if err := mgr.Vault.Delete(k); err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}
