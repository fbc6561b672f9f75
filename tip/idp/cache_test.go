package idp

import (
	"context"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestCachedDiscoveryAndKeys: with a cache, a second process discovers the
// IdP and verifies a refreshed id_token without fetching discovery or JWKS.
func TestCachedDiscoveryAndKeys(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	cache := DirCache{Dir: t.TempDir()}
	cfg := Config{Issuer: sb.URL() + "/idp", ClientID: "tipctl", Cache: cache}
	ctx := context.Background()
	tok := ststest.PasswordLogin(t, sb.URL(), "alice@example.com", "alice-sandbox-pw", "openid email profile offline_access").RefreshToken
	if tok == "" {
		t.Fatal("the password grant with offline_access gave no refresh token")
	}
	// First "process": discovery and JWKS over the network, then cached.
	t1, err := Refresh(ctx, cfg, tok)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Env.Stats.Get("idp:discovery") == 0 || sb.Env.Stats.Get("idp:jwks") == 0 {
		t.Fatal("the first refresh did not fetch discovery and keys")
	}
	disc, jwks := sb.Env.Stats.Get("idp:discovery"), sb.Env.Stats.Get("idp:jwks")
	// Second "process": a fresh Config value, same cache: only the token call.
	tokenCalls := sb.Env.Stats.Get("idp:token")
	t2, err := Refresh(ctx, Config{Issuer: cfg.Issuer, ClientID: "tipctl", Cache: cache}, t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Env.Stats.Get("idp:discovery") != disc || sb.Env.Stats.Get("idp:jwks") != jwks {
		t.Fatal("the second refresh fetched discovery or keys again")
	}
	if sb.Env.Stats.Get("idp:token") != tokenCalls+1 || t2.Claims.Email != "alice@example.com" {
		t.Fatalf("second refresh: %+v", t2.Claims)
	}
	// A poisoned cache (wrong keys) is detected: the keys are fetched again.
	cache.Put("jwks:"+sb.URL()+"/idp/jwks", []byte(`{"keys":{"keys":[]},"fetched_at":"`+time.Now().UTC().Format(time.RFC3339)+`"}`))
	if _, err := Refresh(ctx, Config{Issuer: cfg.Issuer, ClientID: "tipctl", Cache: cache}, t2.RefreshToken); err != nil {
		t.Fatalf("refresh with stale keys: %v", err)
	}
	if sb.Env.Stats.Get("idp:jwks") != jwks+1 {
		t.Fatal("stale cached keys did not lead to one fresh JWKS fetch")
	}
}
