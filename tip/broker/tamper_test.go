package broker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tipctl/tipctl/internal/redistest"
)

// newCredsKey runs fn and returns the one credentials key it added to Redis.
func newCredsKey(t *testing.T, r *replica, fn func()) string {
	t.Helper()
	ctx := context.Background()
	before := map[string]bool{}
	for _, k := range r.client.Keys(ctx, "tipctl:broker:creds:*").Val() {
		before[k] = true
	}
	fn()
	var added []string
	for _, k := range r.client.Keys(ctx, "tipctl:broker:creds:*").Val() {
		if !before[k] {
			added = append(added, k)
		}
	}
	if len(added) != 1 {
		t.Fatalf("%d credentials entries added to Redis, want 1", len(added))
	}
	return added[0]
}

// Entries in Redis that were tampered with, moved from another person's
// key or sealed under another application's key are refused: the person
// gets a fresh session of their own instead.
func TestTamperedOrForeignCiphertextRefused(t *testing.T) {
	srv := redistest.Start(t)
	f := newFixture(t, nil)
	app := f.replica(t, srv, newKey(t), nil)
	other := f.replica(t, srv, newKey(t), nil) // another application's key, same Redis
	ctx := context.Background()
	alice := f.login(t, "alice@example.com", "alice-sandbox-pw")
	bob := f.login(t, "bob@example.com", "bob-sandbox-pw")
	carol := f.login(t, "carol@example.com", "carol-sandbox-pw")

	get := func(r *replica, p *person) aws.Credentials {
		s, err := r.b.Credentials(ctx, p.user())
		if err != nil {
			t.Fatalf("%s: %v", p.email, err)
		}
		return s.Credentials
	}
	var aliceCreds, bobCreds aws.Credentials
	aliceKey := newCredsKey(t, app, func() { aliceCreds = get(app, alice) })
	bobKey := newCredsKey(t, app, func() { bobCreds = get(app, bob) })
	carolKey := newCredsKey(t, other, func() { get(other, carol) })
	for _, k := range []string{aliceKey, bobKey} {
		raw := app.client.Get(ctx, k).Val()
		if strings.Contains(raw, aliceCreds.SecretAccessKey) || strings.Contains(raw, bobCreds.SecretAccessKey) ||
			strings.Contains(raw, aliceCreds.SessionToken) {
			t.Fatal("credentials are in Redis in the clear")
		}
	}

	flip := func(k string) {
		b := []byte(app.client.Get(ctx, k).Val())
		b[len(b)-5] ^= 0x01
		app.client.Set(ctx, k, b, 0)
	}
	cases := []struct {
		name   string
		attack func()
	}{
		{"a flipped bit", func() { flip(aliceKey) }},
		{"bob's entry moved under alice's key", func() { app.client.Set(ctx, aliceKey, app.client.Get(ctx, bobKey).Val(), 0) }},
		{"an entry sealed under another application's key", func() {
			app.client.Set(ctx, aliceKey, app.client.Get(ctx, carolKey).Val(), 0)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refused := metric(app.b, "refused")
			before := get(app, alice)
			c.attack()
			got := get(app, alice)
			if metric(app.b, "refused") <= refused {
				t.Fatalf("refused metric %d -> %d, want more", refused, metric(app.b, "refused"))
			}
			if got.AccessKeyID == before.AccessKeyID || got.AccessKeyID == bobCreds.AccessKeyID {
				t.Fatalf("alice was served %s after the attack (before %s, bob %s)", got.AccessKeyID, before.AccessKeyID, bobCreds.AccessKeyID)
			}
			if _, user := f.whoami(t, got); user != "alice" {
				t.Fatalf("alice was served a session of %q", user)
			}
		})
	}
}
