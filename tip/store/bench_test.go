package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

var benchToken = []byte(`{"v":1,"kind":"aws-credentials","data":{"AccessKeyId":"ASIAEXAMPLEEXAMPLE12","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","SessionToken":"` + string(make([]byte, 1024)) + `","Expiration":"2030-01-01T00:00:00Z"}}`)

// The cached path of a credential_process call: open the store in a new
// process (key-file mode) and read one item.
func BenchmarkOpenAndGet(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "secrets")
	s, _ := NewFileStore(dir, nil)
	s.Set("profile/p/aws", benchToken)
	b.ResetTimer()
	for b.Loop() {
		s, err := NewFileStore(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get("profile/p/aws"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetOrRefreshFresh(b *testing.B) {
	state := b.TempDir()
	s, _ := NewFileStore(filepath.Join(state, "secrets"), nil)
	v := NewVault(s, filepath.Join(state, "locks"))
	s.Set("k", benchToken)
	ctx := context.Background()
	fresh := func([]byte) bool { return true }
	for b.Loop() {
		if _, err := v.GetOrRefresh(ctx, "k", fresh, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// A refresh's storage overhead: lock, re-read, atomic write (2 fsyncs), unlock.
func BenchmarkGetOrRefreshStale(b *testing.B) {
	state := b.TempDir()
	s, _ := NewFileStore(filepath.Join(state, "secrets"), nil)
	v := NewVault(s, filepath.Join(state, "locks"))
	ctx := context.Background()
	stale := func([]byte) bool { return false }
	refresh := func(context.Context, []byte) ([]byte, error) { return benchToken, nil }
	for b.Loop() {
		if _, err := v.GetOrRefresh(ctx, "k", stale, refresh); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLockUnlock(b *testing.B) {
	v := NewVault(nil, b.TempDir())
	ctx := context.Background()
	for b.Loop() {
		u, err := v.Lock(ctx, "bench", time.Second)
		if err != nil {
			b.Fatal(err)
		}
		u()
	}
}

func BenchmarkPassphraseOpen(b *testing.B) {
	old := scryptN
	scryptN = 1 << 15 // the production cost
	defer func() { scryptN = old }()
	dir := filepath.Join(b.TempDir(), "secrets")
	NewFileStore(dir, []byte("pw"))
	for b.Loop() {
		if _, err := NewFileStore(dir, []byte("pw")); err != nil {
			b.Fatal(err)
		}
	}
}
