// Package pkce checks Proof Key for Code Exchange values (RFC 7636) for the
// sandbox's two authorization servers, the IdP and Identity Center.
package pkce

import (
	"crypto/subtle"

	"golang.org/x/oauth2"
)

// Verifier bounds of RFC 7636 §4.1; an S256 challenge is always 43
// characters (base64url of a SHA-256, unpadded).
const (
	VerifierMin  = 43
	VerifierMax  = 128
	ChallengeLen = 43
)

// ValidChallenge reports whether s has the shape of an S256 challenge.
func ValidChallenge(s string) bool { return unreserved(s, ChallengeLen, ChallengeLen) }

// ValidVerifier reports whether s is a well-formed code_verifier.
func ValidVerifier(s string) bool { return unreserved(s, VerifierMin, VerifierMax) }

// Matches reports whether verifier hashes (S256) to challenge, comparing
// in constant time.
func Matches(verifier, challenge string) bool {
	return subtle.ConstantTimeCompare([]byte(oauth2.S256ChallengeFromVerifier(verifier)), []byte(challenge)) == 1
}

// unreserved reports whether s has between minLen and maxLen characters,
// all of RFC 3986's unreserved set.
func unreserved(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.', r == '_', r == '~':
		default:
			return false
		}
	}
	return true
}
