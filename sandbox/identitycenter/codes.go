package identitycenter

import (
	"time"

	"github.com/tipctl/tipctl/sandbox/pkce"
)

// AuthCodeTTL is the lifetime of an authorization code: short, as the API
// reference describes the code ("this short-lived code").
const AuthCodeTTL = 5 * time.Minute

// maxCodes bounds the authorization codes kept at once; expired ones are
// dropped first.
const maxCodes = 10000

// authCode is what an authorization code stands for: the sign-in of one
// user for one application and redirect URI.
type authCode struct {
	app, redirectURI, userID string
	scopes                   []string
	// challenge is the PKCE S256 code_challenge ("" without PKCE).
	challenge string
	authTime  int64
	expires   int64
	used      bool
	// refresh is the refresh token issued from the code, revoked when
	// the code is presented again (RFC 6749 §4.1.2).
	refresh string
}

// putCode records an authorization code. It returns false when the ledger
// is full of live codes.
func (s *State) putCode(code string, c *authCode, now int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string]*authCode{}
	}
	if len(s.codes) >= maxCodes {
		for k, old := range s.codes {
			if old.expires <= now {
				delete(s.codes, k)
			}
		}
		if len(s.codes) >= maxCodes {
			return false
		}
	}
	s.codes[code] = c
	return true
}

// redeemCode checks and consumes an authorization code presented by app.
// A code presented a second time is refused and the refresh token issued
// from it is revoked. Failed checks (redirect URI, PKCE) leave the code
// unused, as a mistyped request must not burn a person's sign-in; a code
// presented by another application is refused without being touched.
func (s *State) redeemCode(code, app, redirectURI, verifier string, now int64) (*authCode, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	switch {
	case !ok || code == "":
		return nil, "the authorization code is unknown"
	case c.app != app:
		return nil, "the authorization code was issued to another application"
	case c.used:
		if c.refresh != "" {
			delete(s.refresh, c.refresh)
		}
		return nil, "the authorization code was already used; a code can be exchanged only once (the refresh token issued from it is revoked)"
	case now >= c.expires:
		delete(s.codes, code)
		return nil, "the authorization code has expired; sign in again"
	case redirectURI != c.redirectURI:
		return nil, "redirectUri does not match the redirect_uri of the authorization request"
	case c.challenge != "" && verifier == "":
		return nil, "codeVerifier is required: the authorization request had a code_challenge (PKCE)"
	case c.challenge == "" && verifier != "":
		return nil, "codeVerifier was sent but the authorization request had no code_challenge"
	case c.challenge != "" && !pkce.ValidVerifier(verifier):
		return nil, "codeVerifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)"
	case c.challenge != "" && !pkce.Matches(verifier, c.challenge):
		return nil, "codeVerifier does not match the code_challenge of the authorization request (PKCE S256)"
	}
	c.used = true
	return c, ""
}

// codeIssued links the refresh token issued from a code to it.
func (s *State) codeIssued(code, refresh string) {
	s.mu.Lock()
	if c, ok := s.codes[code]; ok {
		c.refresh = refresh
	}
	s.mu.Unlock()
}
