package idp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Token type hints for Revoke (RFC 7009 §2.1).
const (
	HintRefreshToken = "refresh_token"
	HintAccessToken  = "access_token"
)

// Refresh redeems refreshToken for new tokens and verifies the new ID
// token (no nonce on refresh). When the IdP rotates refresh tokens the new
// one is in the result; when it does not, the result keeps refreshToken.
// A refresh token the IdP no longer accepts (invalid_grant: expired,
// revoked, or already used after a rotation) gives an error matching
// ErrLoginRequired. Callers should check that the new Claims.Subject
// equals the one of the original login (OpenID Connect Core §12.2).
func Refresh(ctx context.Context, cfg Config, refreshToken string) (*Tokens, error) {
	p, err := Discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return p.Refresh(ctx, refreshToken)
}

// Refresh is the package-level Refresh with a discovered provider.
func (p *Provider) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	if refreshToken == "" {
		return nil, &LoginRequiredError{Reason: "no refresh token was saved; the identity provider did not grant offline_access"}
	}
	oc := p.oauth2Config("")
	tok, err := oc.TokenSource(p.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		c := classify("refresh", p.endpoints.TokenURL, err)
		var oe *OAuthError
		if errors.As(c, &oe) && oe.Code == "invalid_grant" {
			reason := "the identity provider answered invalid_grant"
			if oe.Description != "" {
				reason += ": " + oe.Description
			}
			return nil, &LoginRequiredError{Reason: reason}
		}
		return nil, c
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	if s, _ := tok.Extra("id_token").(string); s == "" {
		return nil, &LoginRequiredError{Reason: "the identity provider's refresh answer has no new ID token"}
	}
	return p.verify(ctx, tok, "", false)
}

// Revoke asks the IdP to revoke token (RFC 7009); hint is
// HintRefreshToken, HintAccessToken or "". Revoking a refresh token
// usually ends the whole login at the IdP. Without a revocation endpoint
// the error is ErrRevokeUnsupported.
func Revoke(ctx context.Context, cfg Config, token, hint string) error {
	p, err := Discover(ctx, cfg)
	if err != nil {
		return err
	}
	return p.Revoke(ctx, token, hint)
}

// Revoke is the package-level Revoke with a discovered provider.
func (p *Provider) Revoke(ctx context.Context, token, hint string) error {
	endpoint := p.endpoints.RevocationURL
	if endpoint == "" {
		return ErrRevokeUnsupported
	}
	if token == "" {
		return errors.New("revocation: no token to revoke")
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if p.public() {
		form.Set("client_id", p.cfg.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !p.public() { // RFC 6749 §2.3.1: form-encode before Basic
		req.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return classify("revocation", endpoint, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	oe := &OAuthError{Op: "revocation", Status: resp.StatusCode}
	var e struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil {
		oe.Code, oe.Description = clip(e.Code, 100), clip(e.Description, 500)
	}
	return oe
}
