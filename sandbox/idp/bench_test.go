package idp

import (
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// BenchmarkPasswordGrant measures one token request (access token, id_token
// and refresh token, two RS256 signatures) over HTTP.
func BenchmarkPasswordGrant(b *testing.B) {
	h := newHarness(b)
	form := url.Values{"grant_type": {"password"}, "client_id": {"tipctl"}, "username": {alice}, "password": {alicePW}}
	b.ResetTimer()
	for b.Loop() {
		resp, body := h.postForm("/token", form)
		if resp.StatusCode != 200 || body["id_token"] == nil {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
}

// BenchmarkAuthCodeFlow measures a whole browser login: login page, form
// post, code exchange with PKCE.
func BenchmarkAuthCodeFlow(b *testing.B) {
	h := newHarness(b)
	cfg := h.publicConfig()
	b.ResetTimer()
	for b.Loop() {
		v := oauth2.GenerateVerifier()
		loc, err := FollowLogin(h.ctx, nil, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), alice, alicePW)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cfg.Exchange(h.ctx, loc.Query().Get("code"), oauth2.VerifierOption(v)); err != nil {
			b.Fatal(err)
		}
	}
}
