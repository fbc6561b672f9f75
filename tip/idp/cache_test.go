package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox"
)

// TestCachedDiscoveryAndKeys: with a cache, a second process discovers the
// IdP and verifies a refreshed id_token without fetching discovery or JWKS.
func TestCachedDiscoveryAndKeys(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	cache := DirCache{Dir: t.TempDir()}
	cfg := Config{Issuer: sb.URL() + "/idp", ClientID: "tipctl", Cache: cache}
	ctx := context.Background()
	tok, err := passwordTokens(sb.URL(), "alice@example.com", "alice-sandbox-pw")
	if err != nil {
		t.Fatal(err)
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

// passwordTokens logs in with the sandbox-only password grant and returns
// the refresh token.
func passwordTokens(endpoint, email, password string) (string, error) {
	resp, err := http.PostForm(endpoint+"/idp/token", url.Values{"grant_type": {"password"}, "client_id": {"tipctl"},
		"username": {email}, "password": {password}, "scope": {"openid email profile offline_access"}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.RefreshToken == "" {
		return "", fmt.Errorf("password grant failed: %v", err)
	}
	return out.RefreshToken, nil
}
