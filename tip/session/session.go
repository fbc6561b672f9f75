// Package session keeps a person's session for one profile: the IdP tokens
// from login and the identity-enhanced AWS credentials minted from them. It
// refreshes lazily, once for any number of concurrent processes (a
// cross-process lock plus re-read), persists rotated refresh tokens before
// anything else can read the old one, and stores everything in tip/store.
package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/exchange"
	"github.com/tipctl/tipctl/tip/store"
)

// Refresh windows, as botocore uses them: past Advisory a refresh is
// attempted but the old credentials are still returned if it fails; past
// Mandatory they are not used any more.
const (
	Advisory  = 15 * time.Minute
	Mandatory = 10 * time.Minute
	// IDTokenMargin is how much life an id_token must have left to be sent.
	IDTokenMargin = 2 * time.Minute
)

// Tokens are the IdP tokens stored after login.
type Tokens struct {
	IDToken     string `json:"id_token"`
	AccessToken string `json:"access_token,omitempty"`
	// AccessTokenExpiry is when the access token expires (expires_in).
	AccessTokenExpiry time.Time `json:"access_token_expiry,omitzero"`
	RefreshToken      string    `json:"refresh_token,omitempty"`
	Expiry            time.Time `json:"expiry"`
	Subject           string    `json:"sub,omitempty"`
	Email             string    `json:"email,omitempty"`
	Name              string    `json:"name,omitempty"`
	Issuer            string    `json:"iss,omitempty"`
	LoggedInAt        time.Time `json:"logged_in_at"`
	// IDTokenUsed is set once the id_token was sent to CreateTokenWithIAM:
	// an assertion is exchanged only once, so the next exchange needs a
	// refreshed id_token.
	IDTokenUsed bool `json:"id_token_used,omitempty"`
	// RefreshRejectedAt is when the IdP refused the refresh token (which is
	// then dropped): the session cannot renew itself any more.
	RefreshRejectedAt time.Time `json:"refresh_rejected_at,omitzero"`
}

// Credentials are identity-enhanced AWS credentials with what they carry.
type Credentials struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
	AssumedRoleArn  string    `json:"assumed_role_arn,omitempty"`
	UserID          string    `json:"identity_center_user_id,omitempty"`
	IssuedAt        time.Time `json:"issued_at"`
}

// AWS returns the credentials in aws-sdk-go-v2 form.
func (c *Credentials) AWS() aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		CanExpire: true, Expires: c.Expiration, Source: "tipctl"}
}

// ProcessJSON is the AWS CLI credential_process document.
type ProcessJSON struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

// Process returns the credential_process document for c.
func (c *Credentials) Process() ProcessJSON {
	return ProcessJSON{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339)}
}

// IdP is what the manager needs from the identity provider client.
type IdP interface {
	// Refresh redeems a refresh token. A rejected refresh token is an error
	// matching ErrLoginRequired.
	Refresh(ctx context.Context, refreshToken string) (*Tokens, error)
	// Revoke revokes a token where the IdP supports it.
	Revoke(ctx context.Context, token, hint string) error
}

// Errors.
var (
	// ErrLoginRequired means there is no usable IdP session.
	ErrLoginRequired = errors.New("login required")
)

// LoginRequiredError explains why a login is needed.
type LoginRequiredError struct {
	Profile string
	Reason  string
}

func (e *LoginRequiredError) Error() string {
	return fmt.Sprintf("%s for profile %q", e.Reason, e.Profile)
}

// Is matches ErrLoginRequired.
func (e *LoginRequiredError) Is(target error) bool { return target == ErrLoginRequired }

// Manager is the session of one profile.
type Manager struct {
	Profile *config.Profile
	Vault   *store.Vault
	IdP     IdP
	// HTTP is used for AWS calls (with tracing when --debug).
	HTTP   *http.Client
	Getenv func(string) string
	Now    func() time.Time
	// Warn receives non-fatal notes (stderr); may be nil.
	Warn func(format string, args ...any)
	// Ambient returns the AWS credentials that replace the bridge role in
	// a profile with exchange_credentials; nil there is an error.
	Ambient func(ctx context.Context) (aws.CredentialsProvider, error)
	// MinLifetime, when set, is how long cached credentials must still be
	// valid to be returned (a --duration the caller asked for); the
	// default is the Advisory window.
	MinLifetime time.Duration
	// Exchange runs the chain; tests may replace it (default exchange.Run).
	Exchange func(ctx context.Context, c exchange.Config) (*exchange.Result, error)
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) warn(format string, args ...any) {
	if m.Warn != nil {
		m.Warn(format, args...)
	}
}

// Store keys of a profile.
func tokensKey(profile string) string { return "profile/" + profile + "/idp-tokens" }
func credsKey(profile string) string  { return "profile/" + profile + "/aws-credentials" }

// Item kinds.
const (
	kindTokens = "idp-tokens"
	kindCreds  = "aws-credentials"
)

// SaveLogin stores the tokens of a fresh login and forgets credentials
// minted for an earlier login.
func (m *Manager) SaveLogin(ctx context.Context, t *Tokens) error {
	b, err := store.EncodeItem(kindTokens, t)
	if err != nil {
		return err
	}
	if err := m.Vault.Put(ctx, tokensKey(m.Profile.Name), b); err != nil {
		return err
	}
	for _, k := range []string{credsKey(m.Profile.Name), renewalKey(m.Profile.Name)} {
		if err := m.Vault.Delete(k); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Tokens returns the stored IdP tokens.
func (m *Manager) Tokens() (*Tokens, error) {
	b, err := m.Vault.Get(tokensKey(m.Profile.Name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, &LoginRequiredError{Profile: m.Profile.Name, Reason: "not logged in"}
	}
	if err != nil {
		return nil, err
	}
	return decodeTokens(b)
}

func decodeTokens(b []byte) (*Tokens, error) {
	it, err := store.DecodeItem(b)
	if err != nil {
		return nil, err
	}
	var t Tokens
	if it.Kind != kindTokens {
		return nil, &store.CorruptError{Key: "idp tokens", Reason: "unexpected item kind " + it.Kind}
	}
	if err := it.Unmarshal(&t); err != nil {
		return nil, err
	}
	return &t, nil
}

// CachedCredentials returns the stored credentials, or nil.
func (m *Manager) CachedCredentials() (*Credentials, error) {
	b, err := m.Vault.Get(credsKey(m.Profile.Name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeCreds(b)
}

func decodeCreds(b []byte) (*Credentials, error) {
	it, err := store.DecodeItem(b)
	if err != nil {
		return nil, err
	}
	if it.Kind != kindCreds {
		return nil, &store.CorruptError{Key: "aws credentials", Reason: "unexpected item kind " + it.Kind}
	}
	var c Credentials
	if err := it.Unmarshal(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Fresh returns the cached credentials when they are outside the refresh
// window, or nil: the no-network, no-lock fast path of credential_process.
func (m *Manager) Fresh() (*Credentials, error) {
	c, err := m.CachedCredentials()
	if err != nil || c == nil || c.Expiration.Sub(m.now()) <= m.freshFor() {
		return nil, err
	}
	return c, nil
}

// freshFor is how much life cached credentials need to be returned.
func (m *Manager) freshFor() time.Duration {
	return max(Advisory, m.MinLifetime)
}

// Credentials returns identity-enhanced credentials: the cached ones while
// they are outside the refresh window, else freshly minted ones (one
// refresh for all concurrent callers). force mints new ones regardless.
func (m *Manager) Credentials(ctx context.Context, force bool) (*Credentials, error) {
	now := m.now()
	// hit keeps the item fresh accepted: GetOrRefresh returns exactly that
	// item then, so the cached path decodes it once.
	var hit *Credentials
	fresh := func(b []byte) bool {
		if force || b == nil {
			return false
		}
		c, err := decodeCreds(b)
		if err != nil || c.Expiration.Sub(now) <= m.freshFor() {
			return false
		}
		hit = c
		return true
	}
	b, err := m.Vault.GetOrRefresh(ctx, credsKey(m.Profile.Name), fresh, func(ctx context.Context, old []byte) ([]byte, error) {
		c, err := m.mint(ctx)
		if err == nil {
			// A logout that could not wait for this refresh wiped the
			// login meanwhile: store nothing.
			if _, terr := m.Tokens(); terr != nil {
				return nil, terr
			}
		}
		if err != nil {
			// Inside the advisory window the old credentials are still good.
			if old != nil {
				if oc, derr := decodeCreds(old); derr == nil && oc.Expiration.Sub(m.now()) > Mandatory && !force {
					m.warn("tipctl: refreshing credentials failed (%v); using the cached ones until %s", err, oc.Expiration.Format(time.RFC3339))
					return old, nil
				}
			}
			return nil, err
		}
		return store.EncodeItem(kindCreds, c)
	})
	if err != nil {
		return nil, err
	}
	if hit != nil {
		return hit, nil
	}
	return decodeCreds(b)
}

// mint runs the three-step chain with a not yet exchanged id_token.
func (m *Manager) mint(ctx context.Context) (*Credentials, error) {
	p := m.Profile
	cfg, err := awsconf.New(awsconf.Options{Region: p.Region, Endpoint: p.EndpointURL, HTTPClient: m.HTTP, Getenv: m.Getenv})
	if err != nil {
		return nil, err
	}
	run := m.Exchange
	if run == nil {
		run = exchange.Run
	}
	var ambient aws.CredentialsProvider
	if p.ExchangeCredentials != "" {
		if m.Ambient == nil {
			return nil, fmt.Errorf("profile %s has exchange_credentials %s but no AWS credentials source is configured", p.Name, p.ExchangeCredentials)
		}
		if ambient, err = m.Ambient(ctx); err != nil {
			return nil, err
		}
	}
	res, err := run(ctx, exchange.Config{
		Renewal:              m.renewal(),
		SaveRenewal:          m.saveRenewal,
		Ambient:              ambient,
		AWS:                  cfg,
		IdentityCenterRegion: p.ICRegion(),
		IDToken:              m.assertion,
		ApplicationArn:       p.ApplicationARN,
		BridgeRoleArn:        p.BridgeRoleARN,
		EnhancedRoleArn:      p.EnhancedRoleARN,
		BridgeDuration:       p.BridgeSession(),
		EnhancedDuration:     p.EnhancedSession(),
		SessionName:          m.sessionName(),
	})
	if err != nil {
		return nil, err
	}
	m.noteRenewal(res)
	return &Credentials{
		AccessKeyID: res.Credentials.AccessKeyID, SecretAccessKey: res.Credentials.SecretAccessKey,
		SessionToken: res.Credentials.SessionToken, Expiration: res.Credentials.Expires.UTC(),
		AssumedRoleArn: res.AssumedRoleArn, UserID: res.User.UserID, IssuedAt: m.now().UTC(),
	}, nil
}

func (m *Manager) sessionName() string {
	if m.Profile.RoleSessionName == "" {
		return ""
	}
	t, err := m.Tokens()
	if err != nil {
		return ""
	}
	return m.Profile.SessionName(map[string]string{"email": t.Email, "sub": t.Subject, "user": t.Email, "profile": m.Profile.Name})
}

// assertion returns an id_token that has not been exchanged yet, refreshing
// it through the IdP when the stored one was used or is about to expire.
// The stored tokens are updated under their lock, so a rotated refresh
// token is persisted before anyone else can read the old one.
func (m *Manager) assertion(ctx context.Context) (string, error) {
	var out string
	unlock, err := m.Vault.Lock(ctx, tokensKey(m.Profile.Name), 0)
	if err != nil {
		return "", err
	}
	defer unlock()
	t, err := m.Tokens()
	if err != nil {
		return "", err
	}
	if t.IDTokenUsed || m.assertionExpiry(t).Sub(m.now()) < IDTokenMargin {
		t, err = m.refreshLocked(ctx, t)
		if err != nil {
			return "", err
		}
	}
	out = t.IDToken
	if m.Profile.UsesAccessToken() {
		if out = t.AccessToken; out == "" {
			return "", &LoginRequiredError{Profile: m.Profile.Name, Reason: "the IdP gave no access token to use as the assertion (assertion: access_token)"}
		}
	}
	t.IDTokenUsed = true
	if err := m.putTokens(t); err != nil {
		return "", err
	}
	return out, nil
}

// assertionExpiry is when the token exchanged with AWS expires: the
// id_token's exp, or the access token's when that is the assertion.
func (m *Manager) assertionExpiry(t *Tokens) time.Time {
	if m.Profile.UsesAccessToken() && !t.AccessTokenExpiry.IsZero() {
		return t.AccessTokenExpiry
	}
	return t.Expiry
}

// refreshLocked redeems the refresh token; the caller holds the tokens lock.
func (m *Manager) refreshLocked(ctx context.Context, t *Tokens) (*Tokens, error) {
	if t.RefreshToken == "" {
		return nil, &LoginRequiredError{Profile: m.Profile.Name, Reason: "the IdP session has no refresh token and its id_token was used or expired"}
	}
	if m.IdP == nil {
		return nil, errors.New("no IdP client configured")
	}
	// The IdP may rotate the refresh token: once redeemed, the old one is
	// spent. Make sure the new one can be stored before redeeming (room
	// for twice today's tokens).
	if err := m.Vault.Preflight(2*tokensSize(t) + 4096); err != nil {
		return nil, fmt.Errorf("not refreshing the IdP session, whose new tokens could not be saved: %w", err)
	}
	nt, err := m.IdP.Refresh(ctx, t.RefreshToken)
	if err != nil {
		if errors.Is(err, ErrLoginRequired) {
			// Remember it, so that status tells the truth: this session
			// cannot renew itself any more.
			t.RefreshToken, t.RefreshRejectedAt = "", m.now().UTC()
			if perr := m.putTokens(t); perr != nil {
				m.warn("tipctl: could not record the refused refresh token: %v", perr)
			}
			return nil, &LoginRequiredError{Profile: m.Profile.Name, Reason: "the IdP session has expired or was revoked"}
		}
		return nil, err
	}
	if nt.Subject != "" && t.Subject != "" && nt.Subject != t.Subject {
		return nil, &LoginRequiredError{Profile: m.Profile.Name, Reason: "the IdP returned tokens for another user on refresh"}
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = t.RefreshToken
	}
	if nt.LoggedInAt.IsZero() {
		nt.LoggedInAt = t.LoggedInAt
	}
	// Persist at once: the IdP may have rotated the refresh token.
	if err := m.putTokens(nt); err != nil {
		return nil, fmt.Errorf("the IdP session was refreshed but its new tokens could not be saved, so the next command may have to log in again: %w", err)
	}
	return nt, nil
}

func tokensSize(t *Tokens) int {
	b, err := store.EncodeItem(kindTokens, t)
	if err != nil {
		return 8192
	}
	return len(b)
}

// PreflightLogin checks that a login's tokens could be stored, before the
// person is sent through a sign-in for nothing.
func (m *Manager) PreflightLogin() error {
	return m.Vault.Preflight(16 << 10)
}

func (m *Manager) putTokens(t *Tokens) error {
	b, err := store.EncodeItem(kindTokens, t)
	if err != nil {
		return err
	}
	return m.Vault.Set(tokensKey(m.Profile.Name), b)
}

// RefreshIdP redeems the refresh token now (tipctl auth refresh).
func (m *Manager) RefreshIdP(ctx context.Context) (*Tokens, error) {
	unlock, err := m.Vault.Lock(ctx, tokensKey(m.Profile.Name), 0)
	if err != nil {
		return nil, err
	}
	defer unlock()
	t, err := m.Tokens()
	if err != nil {
		return nil, err
	}
	return m.refreshLocked(ctx, t)
}

// Logout revokes the refresh token where the IdP supports it and wipes the
// profile's stored secrets. Secrets are wiped even when revocation fails or
// the store is corrupt; revoked reports whether the IdP confirmed.
//
// Logout takes the locks a refresh holds, in the same order (the
// credentials item, then the tokens), so it cannot interleave with one: a
// refresh in flight either finishes first and its result is wiped, or
// starts after and finds no login. If a lock cannot be had in time (a
// stuck process), the secrets are wiped anyway, and a refresh that ends
// later finds the tokens gone and stores nothing (see Credentials).
func (m *Manager) Logout(ctx context.Context) (revoked bool, err error) {
	name := m.Profile.Name
	if unlock, lerr := m.Vault.LockItem(ctx, credsKey(name), 0); lerr == nil {
		defer unlock()
	} else if ctx.Err() != nil {
		return false, lerr
	} else {
		m.warn("tipctl: %v; wiping anyway", lerr)
	}
	if unlock, lerr := m.Vault.Lock(ctx, tokensKey(name), 0); lerr == nil {
		defer unlock()
	} else if ctx.Err() != nil {
		return false, lerr
	} else {
		m.warn("tipctl: %v; wiping anyway", lerr)
	}
	t, _ := m.Tokens()
	keys, kerr := m.Vault.Keys("profile/" + name + "/")
	if kerr != nil {
		keys = []string{tokensKey(name), credsKey(name)}
	}
	for _, k := range keys {
		if derr := m.Vault.Delete(k); derr != nil && !errors.Is(derr, store.ErrNotFound) && err == nil {
			err = derr
		}
	}
	// Revoke after wiping: the IdP's answer may take a while, and the
	// secrets are gone from this machine whatever it says.
	if t != nil && t.RefreshToken != "" && m.IdP != nil {
		if rerr := m.IdP.Revoke(ctx, t.RefreshToken, "refresh_token"); rerr == nil {
			revoked = true
		} else {
			m.warn("tipctl: the IdP did not revoke the session: %v", rerr)
		}
	}
	return revoked, err
}

// Status is a secret-free view of a session, for `auth status`.
type Status struct {
	Profile       string     `json:"profile"`
	LoggedIn      bool       `json:"logged_in"`
	Email         string     `json:"email,omitempty"`
	Subject       string     `json:"subject,omitempty"`
	Issuer        string     `json:"issuer,omitempty"`
	LoggedInAt    *time.Time `json:"logged_in_at,omitempty"`
	IDTokenExpiry *time.Time `json:"id_token_expiry,omitempty"`
	CanRefresh    bool       `json:"can_refresh"`
	// RefreshRejectedAt is when the IdP last refused the refresh token.
	RefreshRejectedAt *time.Time `json:"refresh_rejected_at,omitempty"`
	// Usable reports whether credentials can be had without a new login:
	// fresh cached credentials, an unused valid id_token, or a refresh
	// token the IdP has not refused.
	Usable           bool       `json:"usable"`
	CredentialsUntil *time.Time `json:"credentials_expiry,omitempty"`
	AssumedRoleArn   string     `json:"assumed_role_arn,omitempty"`
	UserID           string     `json:"identity_center_user_id,omitempty"`
	Backend          string     `json:"store_backend"`
	// RenewsWithoutIdP: the next renewal presents Identity Center's
	// refresh token (no IdP refresh, no AssumeRoleWithWebIdentity), by
	// the bridge session until RenewalCallerUntil, or by the ambient
	// credentials when that is nil.
	RenewsWithoutIdP   bool       `json:"renews_without_idp"`
	RenewalCallerUntil *time.Time `json:"renewal_caller_expiry,omitempty"`
	// KeyBesideData: the file store's key is in a key file next to the
	// secrets (no passphrase, no keyring).
	KeyBesideData bool `json:"store_key_beside_data,omitempty"`
}

// Status reports the session without secrets.
func (m *Manager) Status() (*Status, error) {
	s := &Status{Profile: m.Profile.Name, Backend: m.Vault.Backend(), KeyBesideData: m.Vault.KeyBesideData()}
	t, err := m.Tokens()
	if err != nil && !errors.Is(err, ErrLoginRequired) {
		return nil, err
	}
	if t != nil {
		s.LoggedIn, s.Email, s.Subject, s.Issuer = true, t.Email, t.Subject, t.Issuer
		s.LoggedInAt, s.IDTokenExpiry = timePtr(t.LoggedInAt), timePtr(t.Expiry)
		s.CanRefresh = t.RefreshToken != ""
		s.RefreshRejectedAt = timePtr(t.RefreshRejectedAt)
		s.Usable = s.CanRefresh || (!t.IDTokenUsed && m.assertionExpiry(t).Sub(m.now()) > IDTokenMargin)
	}
	if s.LoggedIn {
		var until time.Time
		s.RenewsWithoutIdP, until = m.RenewalStatus()
		if s.RenewsWithoutIdP {
			s.RenewalCallerUntil = timePtr(until)
		}
	}
	c, err := m.CachedCredentials()
	if err != nil {
		return nil, err
	}
	if c != nil {
		s.CredentialsUntil, s.AssumedRoleArn, s.UserID = timePtr(c.Expiration), c.AssumedRoleArn, c.UserID
		if s.LoggedIn && c.Expiration.Sub(m.now()) > Mandatory {
			s.Usable = true
		}
	}
	return s, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
