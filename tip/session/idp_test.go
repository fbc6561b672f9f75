package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/idp"
	"github.com/tipctl/tipctl/tip/session"
)

// TestOIDCRefreshAndRevoke drives the manager's IdP adapter against the
// sandbox IdP: a refresh gives the person's tokens in the manager's form, a
// revoked or unknown refresh token means the person must log in again.
func TestOIDCRefreshAndRevoke(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	var c session.IdP = &session.OIDC{Config: idp.Config{Issuer: sb.URL() + "/idp", ClientID: "tipctl"}}
	rt := ststest.PasswordLogin(t, sb.URL(), "alice@example.com", "alice-sandbox-pw", "openid email profile offline_access").RefreshToken
	if rt == "" {
		t.Fatal("the password grant with offline_access gave no refresh token")
	}
	tok, err := c.Refresh(ctx, rt)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if tok.IDToken == "" || tok.AccessToken == "" || tok.RefreshToken == "" || tok.Email != "alice@example.com" ||
		tok.Subject == "" || tok.Issuer != sb.URL()+"/idp" || !tok.Expiry.After(time.Now()) {
		t.Fatalf("refreshed tokens %+v", tok)
	}
	if err := c.Revoke(ctx, tok.RefreshToken, idp.HintRefreshToken); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := c.Refresh(ctx, tok.RefreshToken); !errors.Is(err, session.ErrLoginRequired) {
		t.Fatalf("Refresh with a revoked token = %v, want ErrLoginRequired", err)
	}
	if _, err := c.Refresh(ctx, "not-a-refresh-token"); !errors.Is(err, session.ErrLoginRequired) {
		t.Fatalf("Refresh with an unknown token = %v, want ErrLoginRequired", err)
	}
}
