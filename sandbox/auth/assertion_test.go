package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestContextSealing(t *testing.T) {
	s, err := NewSealer()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := &IdentityContext{Provider: IdentityCenterProvider, UserID: "u-1", UserName: "alice",
		Groups: []Group{{ID: "g1", Name: "emea-sales"}}, ExpiresAt: now.Add(time.Hour)}
	tok, err := s.SealContext(c, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.OpenContext(tok, IdentityCenterProvider, now)
	if err != nil || got.UserID != "u-1" || got.GroupNames()[0] != "emea-sales" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := s.OpenContext(tok, QuickSightProvider, now); !errors.Is(err, ErrContextProvider) {
		t.Fatalf("wrong provider: %v", err)
	}
	if _, err := s.OpenContext(tok, IdentityCenterProvider, now.Add(2*time.Hour)); !errors.Is(err, ErrContextExpired) {
		t.Fatalf("expired: %v", err)
	}
	// Another sandbox's key, a tampered payload, garbage: all refused.
	other, _ := NewSealer()
	if _, err := other.OpenContext(tok, IdentityCenterProvider, now); !errors.Is(err, ErrBadSeal) {
		t.Fatalf("foreign key: %v", err)
	}
	parts := strings.Split(tok, ".")
	mid := len(parts[1]) / 2
	flip := map[byte]byte{'A': 'B'}[parts[1][mid]]
	if flip == 0 {
		flip = 'A'
	}
	forged := parts[0] + "." + parts[1][:mid] + string(flip) + parts[1][mid+1:] + "." + parts[2]
	if _, err := s.OpenContext(forged, IdentityCenterProvider, now); err == nil {
		t.Fatal("accepted a tampered context")
	}
	for _, bad := range []string{"", "x", "a.b.c", parts[0] + "." + parts[1] + "."} {
		if _, err := s.OpenContext(bad, IdentityCenterProvider, now); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
}
