package idp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/idp"
	"github.com/tipctl/tipctl/sandbox/jwtverify"
)

// TestServedBySandbox drives the IdP through the whole sandbox: the root
// router sends /idp/... to it, the default world's generated key signs, and
// the shared verifier checks its tokens in-process (no JWKS fetch).
func TestServedBySandbox(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ctx := context.Background()
	issuer := sb.URL() + "/idp"
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery through the sandbox router: %v", err)
	}
	cfg := &oauth2.Config{ClientID: "tipctl", Endpoint: provider.Endpoint(), RedirectURL: "http://127.0.0.1:40001/callback",
		Scopes: []string{oidc.ScopeOpenID, "email"}}
	v := oauth2.GenerateVerifier()
	loc, err := idp.FollowLogin(ctx, http.DefaultClient, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oidc.Nonce("nn")),
		"carol@example.com", "carol-sandbox-pw")
	if err != nil {
		t.Fatalf("FollowLogin: %v", err)
	}
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)

	jwks, disc := sb.Env.Stats.Get("idp:jwks"), sb.Env.Stats.Get("idp:discovery")
	claims, err := sb.Env.JWT.Verify(ctx, raw, sb.Env.Now(), func(iss string) bool { return iss == issuer })
	if err != nil {
		t.Fatalf("in-process verification: %v", err)
	}
	if claims.String("email") != "carol@example.com" || claims.String("nonce") != "nn" || claims.Audience[0] != "tipctl" {
		t.Fatalf("claims = %v", claims.Raw)
	}
	if sb.Env.Stats.Get("idp:jwks") != jwks || sb.Env.Stats.Get("idp:discovery") != disc {
		t.Fatal("the shared verifier fetched the IdP's keys over HTTP instead of in-process")
	}
	// A tampered token is refused by the same verifier.
	parts := strings.Split(raw, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	if _, err := sb.Env.JWT.Verify(ctx, forged, sb.Env.Now(), nil); !jwtverify.IsKind(err, jwtverify.BadSignature) {
		t.Fatalf("forged signature: %v", err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "tipctl"}).Verify(ctx, raw); err != nil {
		t.Fatalf("go-oidc over HTTP: %v", err)
	}

	// The generated key is published with a kid; the control plane counts the calls.
	resp, err := http.Get(issuer + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kid, Alg, Kty string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 1 || set.Keys[0].Kid == "" || set.Keys[0].Alg != "RS256" || set.Keys[0].Kty != "RSA" {
		t.Fatalf("jwks = %+v", set)
	}
	resp, err = http.Get(sb.URL() + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct{ Operations map[string]int64 }
	_ = json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	for _, op := range []string{"idp:discovery", "idp:authorize", "idp:login", "idp:token", "idp:jwks"} {
		if stats.Operations[op] == 0 {
			t.Errorf("/_sandbox/stats lacks %s: %v", op, stats.Operations)
		}
	}
}
