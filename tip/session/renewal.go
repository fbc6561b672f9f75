package session

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tipctl/tipctl/tip/exchange"
	"github.com/tipctl/tipctl/tip/store"
)

// The Identity Center refresh token (D4). After the IdP token has been
// exchanged once, renewals use CreateTokenWithIAM's refresh_token grant,
// presented by the bridge session while it is valid (or by the ambient
// credentials of a profile without a bridge role): no IdP refresh and no
// AssumeRoleWithWebIdentity. When Identity Center refuses it, or the bridge
// session has expired, the chain falls back to the IdP path and stores the
// refresh token of its reply. The item lives with the IdP tokens (same
// store, encrypted; wiped by logout and replaced by a new login), and is
// read and written only while the credentials item is locked (mint runs
// inside GetOrRefresh), so concurrent processes never present one rotated
// token twice.

func renewalKey(profile string) string { return "profile/" + profile + "/idc-renewal" }

const kindRenewal = "idc-renewal"

// storedRenewal is the stored form of an exchange.Renewal.
type storedRenewal struct {
	RefreshToken string       `json:"refresh_token"`
	Bridge       *Credentials `json:"bridge,omitempty"`
	SavedAt      time.Time    `json:"saved_at"`
	// For is the exchange the token came from (renewalScope): a profile
	// edited since (another application, role, assertion, issuer) goes
	// through the IdP path again.
	For string `json:"for"`
}

// renewalScope names what a stored refresh token is good for: the
// profile's exchange as configured now.
func (m *Manager) renewalScope() string {
	p := m.Profile
	return strings.Join([]string{p.Issuer, p.ClientID, p.Assertion, p.ApplicationARN, p.BridgeRoleARN,
		p.ExchangeCredentials, p.ICRegion(), p.EndpointURL}, "\n")
}

// renewal returns the stored Identity Center refresh token, or nil (none,
// or unreadable: the IdP path works without it).
func (m *Manager) renewal() *exchange.Renewal {
	b, err := m.Vault.Get(renewalKey(m.Profile.Name))
	if err != nil {
		return nil
	}
	it, err := store.DecodeItem(b)
	if err != nil || it.Kind != kindRenewal {
		return nil
	}
	var sr storedRenewal
	if it.Unmarshal(&sr) != nil || sr.RefreshToken == "" || sr.For != m.renewalScope() {
		return nil
	}
	r := &exchange.Renewal{RefreshToken: sr.RefreshToken}
	if sr.Bridge != nil {
		r.Bridge = sr.Bridge.AWS()
	}
	return r
}

// saveRenewal keeps (or, given nil, forgets) the Identity Center refresh
// token; the exchange calls it before the token is needed again.
func (m *Manager) saveRenewal(_ context.Context, r *exchange.Renewal) error {
	if r == nil {
		if err := m.Vault.Delete(renewalKey(m.Profile.Name)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	sr := storedRenewal{RefreshToken: r.RefreshToken, SavedAt: m.now().UTC(), For: m.renewalScope()}
	if r.Bridge.AccessKeyID != "" {
		sr.Bridge = &Credentials{AccessKeyID: r.Bridge.AccessKeyID, SecretAccessKey: r.Bridge.SecretAccessKey,
			SessionToken: r.Bridge.SessionToken, Expiration: r.Bridge.Expires.UTC(), AssumedRoleArn: m.Profile.BridgeRoleARN}
	}
	b, err := store.EncodeItem(kindRenewal, sr)
	if err != nil {
		return err
	}
	return m.Vault.Set(renewalKey(m.Profile.Name), b)
}

// noteRenewal tells the user (on the warning channel) what did not work
// in the renewal machinery; the credentials were minted anyway.
func (m *Manager) noteRenewal(res *exchange.Result) {
	if res.SaveError != nil {
		m.warn("tipctl: the Identity Center refresh token could not be saved (%v); the next renewal asks the IdP", res.SaveError)
	}
}

// RenewalStatus says whether the next renewal can skip the IdP: an
// Identity Center refresh token is stored, and its caller (the bridge
// session, or the ambient credentials) is usable; bridgeUntil is when the
// bridge session expires (zero for ambient credentials).
func (m *Manager) RenewalStatus() (ok bool, bridgeUntil time.Time) {
	r := m.renewal()
	if r == nil {
		return false, time.Time{}
	}
	if m.Profile.ExchangeCredentials != "" && m.Profile.BridgeRoleARN == "" {
		return true, time.Time{}
	}
	return r.Bridge.Expires.Sub(m.now()) > exchange.RenewalMargin, r.Bridge.Expires
}
