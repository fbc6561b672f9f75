package broker

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemoryIsABoundedLRUWithTTLs(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(2)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	put := func(k string, ttl time.Duration) {
		if err := m.Put(ctx, nil, Item{Key: k, Entry: &Entry{UserID: k}, TTL: ttl}); err != nil {
			t.Fatal(err)
		}
	}
	put("a", time.Minute)
	put("b", time.Minute)
	if e, _ := m.Get(ctx, "a"); e == nil || e.UserID != "a" { // a is now the most recent
		t.Fatalf("a = %+v", e)
	}
	put("c", time.Minute) // evicts b, the least recently used
	if e, _ := m.Get(ctx, "b"); e != nil {
		t.Fatal("b survived eviction")
	}
	if m.Len() != 2 {
		t.Fatalf("len %d, want 2", m.Len())
	}
	now = now.Add(time.Minute)
	if e, _ := m.Get(ctx, "a"); e != nil {
		t.Fatal("a outlived its TTL")
	}
}

func TestMemoryLeasesFenceWrites(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(0)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	a, _ := m.TryLock(ctx, "k", time.Second)
	if a == nil {
		t.Fatal("no lock on a free key")
	}
	if b, _ := m.TryLock(ctx, "k", time.Second); b != nil {
		t.Fatal("a held lock was taken")
	}
	now = now.Add(2 * time.Second) // a's lease ran out; b takes over
	b, _ := m.TryLock(ctx, "k", time.Second)
	if b == nil || b.Fence <= a.Fence {
		t.Fatalf("takeover lock %+v after %+v", b, a)
	}
	item := Item{Key: "creds", Entry: &Entry{UserID: "u"}, TTL: time.Minute}
	if err := m.Put(ctx, a, item); !errors.Is(err, ErrLockLost) {
		t.Fatalf("stale holder's write: %v, want ErrLockLost", err)
	}
	if err := m.Extend(ctx, a, time.Second); !errors.Is(err, ErrLockLost) {
		t.Fatalf("stale holder's renewal: %v", err)
	}
	if err := m.Put(ctx, b, item); err != nil {
		t.Fatal(err)
	}
	_ = m.Unlock(ctx, a) // must not release b's lease
	if c, _ := m.TryLock(ctx, "k", time.Second); c != nil {
		t.Fatal("a stale unlock released the new holder's lease")
	}
}

func TestSealBindsTheKey(t *testing.T) {
	k := make([]byte, 32)
	s, err := newSealer(k)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.seal("creds:alice", &Entry{UserID: "alice", SecretAccessKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.open("creds:alice", b); err != nil || e.UserID != "alice" {
		t.Fatalf("open: %v %+v", err, e)
	}
	if _, err := s.open("creds:bob", b); !errors.Is(err, ErrRefused) {
		t.Fatalf("opened under another key: %v", err)
	}
	full := &Entry{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "ST", Expires: time.Unix(1_700_000_000, 5), AssumedRoleArn: "arn",
		UserID: "u", IdentityStoreID: "d-1", Used: "h", Fence: 42}
	b, _ = s.seal("k", full)
	got, err := s.open("k", b)
	if err != nil || !got.Expires.Equal(full.Expires) {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	got.Expires = full.Expires
	if *got != *full {
		t.Fatalf("round trip: %+v, want %+v", got, full)
	}
	if _, err := newSealer(k[:16]); err == nil {
		t.Fatal("a 16-byte key was accepted")
	}
}

// BenchmarkOpen is the broker's own CPU in a Redis hit: decrypting and
// decoding one credentials entry of realistic size.
func BenchmarkOpen(b *testing.B) {
	s, err := newSealer(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	tok := make([]byte, 900)
	for i := range tok {
		tok[i] = 'a' + byte(i%26)
	}
	sealed, err := s.seal("k", &Entry{AccessKeyID: "ASIAEXAMPLEEXAMPLE01", SecretAccessKey: "0123456789012345678901234567890123456789",
		SessionToken: string(tok), Expires: time.Now().Add(time.Hour), UserID: "13d4d28d-e709-4d82-399f-133e69e58407",
		AssumedRoleArn: "arn:aws:sts::123456789012:assumed-role/tip-enhanced/tip-13d4d28d-e709-4d82-399f-133e69e58407"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.open("k", sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// The opened-value memo answers only for the exact bytes it saw under the
// exact store key, and stays bounded.
func TestOpenedMemo(t *testing.T) {
	o := newOpened(2)
	e := &Entry{UserID: "alice"}
	o.put("k1", "sealed-1", e)
	if got := o.get("k1", "sealed-1"); got != e {
		t.Fatalf("same bytes: %v", got)
	}
	if got := o.get("k1", "sealed-2"); got != nil {
		t.Fatalf("other bytes answered %v", got)
	}
	if got := o.get("k2", "sealed-1"); got != nil {
		t.Fatalf("other key answered %v", got)
	}
	o.put("k2", "a", e)
	o.put("k3", "b", e)
	if len(o.m) != 2 {
		t.Fatalf("%d entries, bound 2", len(o.m))
	}
	o.forget("k1", "k2", "k3")
	if len(o.m) != 0 || o.get("k3", "b") != nil {
		t.Fatal("forget kept entries")
	}
}
