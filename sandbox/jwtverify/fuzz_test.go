package jwtverify

import (
	"context"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary strings to the token verifier: it must never
// panic, and must never accept a token without a trusted, verified issuer.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		"",
		"a.b.c",
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
		"eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln",
		"eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwOi8veCIsImV4cCI6MX0.AAAA",
		"....",
		"eyJ9.eyJ9.eyJ9",
	} {
		f.Add(s)
	}
	v := New(nil)
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token, time.Now(), func(string) bool { return false })
		if err == nil || claims != nil {
			t.Fatalf("accepted a token from an untrusted issuer: %q", token)
		}
		_, _ = Peek(token)
	})
}
