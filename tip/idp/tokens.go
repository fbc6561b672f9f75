package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Tokens is the result of a login or refresh. It holds secrets: store it
// encrypted (tip/store) and never print it.
type Tokens struct {
	// IDToken is the verified OpenID Connect ID token (a JWT), the
	// assertion tipctl exchanges with AWS.
	IDToken string `json:"id_token"`
	// AccessToken is the IdP's OAuth access token, if any.
	AccessToken string `json:"access_token,omitempty"`
	// TokenType is the access token's type (normally Bearer).
	TokenType string `json:"token_type,omitempty"`
	// RefreshToken renews the tokens without a new login; empty when the
	// IdP issued none (offline_access not granted).
	RefreshToken string `json:"refresh_token,omitempty"`
	// Expiry is the ID token's exp.
	Expiry time.Time `json:"expiry"`
	// AccessTokenExpiry is when the access token expires (expires_in).
	AccessTokenExpiry time.Time `json:"access_token_expiry,omitzero"`
	// Claims are the ID token's identity claims.
	Claims Claims `json:"claims"`
}

// Claims are the ID token claims tipctl uses.
type Claims struct {
	Issuer            string    `json:"iss"`
	Subject           string    `json:"sub"`
	Audience          []string  `json:"aud"`
	Email             string    `json:"email,omitempty"`
	EmailVerified     *bool     `json:"email_verified,omitempty"`
	Name              string    `json:"name,omitempty"`
	PreferredUsername string    `json:"preferred_username,omitempty"`
	Groups            []string  `json:"groups,omitempty"`
	IssuedAt          time.Time `json:"iat,omitzero"`
	AuthTime          time.Time `json:"auth_time,omitzero"`
}

// Expired reports whether the ID token has expired at now, or will within skew.
func (t *Tokens) Expired(now time.Time, skew time.Duration) bool {
	return t == nil || t.IDToken == "" || !now.Add(skew).Before(t.Expiry)
}

// AllClaims decodes every claim of the ID token (already verified when the
// Tokens were made), for claim mappings such as a trusted token issuer's
// claim_attribute_path.
func (t *Tokens) AllClaims() (map[string]any, error) {
	parts := strings.Split(t.IDToken, ".")
	if len(parts) != 3 {
		return nil, errors.New("the ID token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("the ID token's payload is not base64url")
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, errors.New("the ID token's payload is not a JSON object")
	}
	return out, nil
}

// rawClaims is the ID token payload as decoded for Claims.
type rawClaims struct {
	Email             string          `json:"email"`
	EmailVerified     json.RawMessage `json:"email_verified"`
	Name              string          `json:"name"`
	PreferredUsername string          `json:"preferred_username"`
	Groups            json.RawMessage `json:"groups"`
	CognitoGroups     json.RawMessage `json:"cognito:groups"`
	AuthTime          json.Number     `json:"auth_time"`
	AuthorizedParty   string          `json:"azp"`
}

// verify checks an ID token (signature, issuer, audience, expiry, azp; the
// nonce when wantNonce is set; at_hash against accessToken when present)
// and builds Tokens.
func (p *Provider) verify(ctx context.Context, tok *oauth2.Token, wantNonce string, checkNonce bool) (*Tokens, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, &TokenError{Reason: "the identity provider returned no id_token (is the openid scope allowed for the client?)"}
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, verifyError(err)
	}
	if checkNonce && (wantNonce == "" || idt.Nonce != wantNonce) {
		return nil, &TokenError{Reason: ErrNonceMismatch.Error(), Err: ErrNonceMismatch}
	}
	var rc rawClaims
	if err := idt.Claims(&rc); err != nil {
		return nil, &TokenError{Reason: "the claims could not be read: " + err.Error()}
	}
	if len(idt.Audience) > 1 && rc.AuthorizedParty != "" && rc.AuthorizedParty != p.cfg.ClientID {
		return nil, &TokenError{Reason: fmt.Sprintf("the token was issued to %q (azp), not to the client %q", rc.AuthorizedParty, p.cfg.ClientID)}
	}
	if idt.AccessTokenHash != "" && tok.AccessToken != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, &TokenError{Reason: "the access token does not match the ID token's at_hash", Err: err}
		}
	}
	out := &Tokens{
		IDToken:           raw,
		AccessToken:       tok.AccessToken,
		TokenType:         tok.TokenType,
		RefreshToken:      tok.RefreshToken,
		Expiry:            idt.Expiry,
		AccessTokenExpiry: tok.Expiry,
		Claims: Claims{
			Issuer:            idt.Issuer,
			Subject:           idt.Subject,
			Audience:          idt.Audience,
			Email:             rc.Email,
			EmailVerified:     flexBool(rc.EmailVerified),
			Name:              rc.Name,
			PreferredUsername: rc.PreferredUsername,
			Groups:            stringList(rc.Groups),
			IssuedAt:          idt.IssuedAt,
		},
	}
	if out.Claims.Groups == nil {
		out.Claims.Groups = stringList(rc.CognitoGroups)
	}
	if n, err := rc.AuthTime.Int64(); err == nil && n > 0 {
		out.Claims.AuthTime = time.Unix(n, 0).UTC()
	}
	return out, nil
}

func verifyError(err error) error {
	var exp *oidc.TokenExpiredError
	if errors.As(err, &exp) {
		return &TokenError{Reason: fmt.Sprintf("it expired at %s (check this computer's clock)", exp.Expiry.UTC().Format(time.RFC3339)), Err: err}
	}
	msg := strings.TrimPrefix(err.Error(), "oidc: ")
	if strings.Contains(msg, "fetching keys") {
		return &TokenError{Reason: "the IdP's signing keys (jwks_uri) could not be fetched: " + msg, Err: err}
	}
	return &TokenError{Reason: msg, Err: err}
}

// flexBool reads true/false or "true"/"false" (Cognito sends strings).
func flexBool(raw json.RawMessage) *bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return &b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && (s == "true" || s == "false") {
		b = s == "true"
		return &b
	}
	return nil
}

// stringList reads a JSON array of strings or a single string.
func stringList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return slices.DeleteFunc(list, func(s string) bool { return s == "" })
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}
