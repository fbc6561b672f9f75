//go:build unix

package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// getWithin runs s.Get(key) and fails the test if it does not return in
// time: a FIFO used to block the read forever.
func getWithin(t *testing.T, s *FileStore, key string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := s.Get(key); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("Get(%q) hangs", key)
		return nil
	}
}

func TestFileStoreRefusesFIFO(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	s := newFS(t, dir, nil)
	if err := s.Set("profile/p/idp-tokens", []byte("v")); err != nil {
		t.Fatal(err)
	}
	path, _ := s.path("profile/p/idp-tokens")
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	err := getWithin(t, s, "profile/p/idp-tokens")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "named pipe") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Get of a FIFO = %v", err)
	}
	// Wiping removes the FIFO itself; the key can be stored again.
	if err := s.Delete("profile/p/idp-tokens"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("profile/p/idp-tokens", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get("profile/p/idp-tokens"); err != nil || string(v) != "again" {
		t.Fatalf("after wiping: %q %v", v, err)
	}
}

func TestFileStoreRefusesSymlinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	s := newFS(t, dir, nil)
	if err := s.Set("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	path, _ := s.path("k")
	// A link to a world-readable file elsewhere: the old advice,
	// `chmod 600 <link>`, would have changed the target.
	target := filepath.Join(t.TempDir(), "elsewhere")
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(target, data, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	err := getWithin(t, s, "k")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "symbolic link") || strings.Contains(err.Error(), "chmod") {
		t.Fatalf("Get of a symlink = %v", err)
	}
	if err := s.Delete("k"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("wiping touched the link's target: %v %v", st, err)
	}
	// The key file as a FIFO: opening the store fails at once, clearly.
	key := filepath.Join(dir, keyFileName)
	os.Remove(key)
	if err := syscall.Mkfifo(key, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := NewFileStore(dir, nil); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("NewFileStore with a FIFO key file = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("NewFileStore hangs on a FIFO key file")
	}
}
