package pkce

import (
	"strings"
	"testing"
)

// The RFC 7636 Appendix B example.
func TestRFC7636Example(t *testing.T) {
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !ValidVerifier(verifier) || !ValidChallenge(challenge) || !Matches(verifier, challenge) {
		t.Fatal("the RFC's example does not verify")
	}
	if Matches(verifier+"x", challenge) || Matches(verifier, strings.ToLower(challenge)) {
		t.Fatal("a different verifier or challenge matched")
	}
}

func TestShapes(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{
		{strings.Repeat("a", 42), false}, {strings.Repeat("a", 43), true}, {strings.Repeat("~", 128), true},
		{strings.Repeat("a", 129), false}, {strings.Repeat("a", 42) + "+", false}, {strings.Repeat("a", 42) + "é", false},
	} {
		if got := ValidVerifier(c.v); got != c.want {
			t.Errorf("ValidVerifier(%q) = %v", c.v, got)
		}
	}
	if ValidChallenge(strings.Repeat("a", 44)) || !ValidChallenge(strings.Repeat("a", 43)) {
		t.Error("a challenge is exactly 43 characters")
	}
}
