package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/tipctl/tipctl/tip/idp"
)

// OIDC is the manager's IdP for an OpenID Connect provider reached with
// tip/idp: the client of a profile's issuer.
type OIDC struct {
	Config idp.Config
}

// Refresh redeems refreshToken; a rejected one matches ErrLoginRequired.
func (c *OIDC) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	t, err := idp.Refresh(ctx, c.Config, refreshToken)
	if err != nil {
		if errors.Is(err, idp.ErrLoginRequired) {
			return nil, fmt.Errorf("%w: %v", ErrLoginRequired, err)
		}
		return nil, err
	}
	return TokensOf(t), nil
}

// Revoke revokes token at the IdP where it supports revocation.
func (c *OIDC) Revoke(ctx context.Context, token, hint string) error {
	return idp.Revoke(ctx, c.Config, token, hint)
}

// TokensOf are the tokens of a tip/idp login or refresh, as the manager
// stores them.
func TokensOf(t *idp.Tokens) *Tokens {
	return &Tokens{IDToken: t.IDToken, AccessToken: t.AccessToken, AccessTokenExpiry: t.AccessTokenExpiry, RefreshToken: t.RefreshToken,
		Expiry: t.Expiry, Subject: t.Claims.Subject, Email: t.Claims.Email, Name: t.Claims.Name,
		Issuer: t.Claims.Issuer}
}
