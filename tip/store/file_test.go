package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/keyring"
)

func init() { scryptN = 1 << 10 } // keep passphrase tests fast

func newFS(t *testing.T, dir string, pass []byte) *FileStore {
	t.Helper()
	s, err := NewFileStore(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left in %s: %s", dir, e.Name())
		}
	}
}

func TestFileStoreRoundTripAndPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "secrets")
	s := newFS(t, dir, nil)
	secret := []byte(`{"refresh_token":"rt-very-secret-value"}`)
	keys := []string{"profile/work/idp-token", "profile/work/aws", "profile/Other Case/x", "a"}
	for _, k := range keys {
		if err := s.Set(k, secret); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get("profile/work/idp-token")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if _, err := s.Get("profile/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	list, _ := s.Keys("profile/work/")
	if strings.Join(list, ",") != "profile/work/aws,profile/work/idp-token" {
		t.Errorf("Keys(profile/work/) = %v", list)
	}
	all, _ := s.Keys("")
	if len(all) != 4 {
		t.Errorf("Keys() = %v (the key file and temporaries must not be listed)", all)
	}
	if got, _ := s.Get("profile/Other Case/x"); !bytes.Equal(got, secret) {
		t.Error("key with upper case and space did not round-trip")
	}

	if runtime.GOOS != "windows" {
		if m := mode(t, dir); m != 0o700 {
			t.Errorf("dir mode %o, want 700", m)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if m := mode(t, filepath.Join(dir, e.Name())); m != 0o600 {
				t.Errorf("%s mode %o, want 600", e.Name(), m)
			}
		}
	}
	noTemps(t, dir)

	// Values are encrypted at rest.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		raw, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(raw, []byte("rt-very-secret-value")) {
			t.Errorf("%s holds the plaintext", e.Name())
		}
	}

	// A second instance (another process) reads the same values.
	if got, err := newFS(t, dir, nil).Get("a"); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("reopen: %q %v", got, err)
	}

	if err := s.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("a"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted key: %v", err)
	}
	for _, bad := range []string{"", "a\nb", strings.Repeat("x", MaxKeyLen+1), string([]byte{0xff}), strings.Repeat("/", 100)} {
		if err := s.Set(bad, secret); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

func TestFileNameEncoding(t *testing.T) {
	for _, k := range []string{"a", "A", ".hidden", "..", "x/y:z", "Ünïcode ✓", "a%2fb", "profile/work/idp-token"} {
		name := fileName(k)
		if strings.ContainsAny(name, `/\:*?"<>|`) || strings.HasPrefix(name, ".") || name != strings.ToLower(name) && strings.ContainsAny(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("fileName(%q) = %q is not portable", k, name)
		}
		if back, ok := keyFromName(name); !ok || back != k {
			t.Errorf("keyFromName(%q) = %q %v, want %q", name, back, ok, k)
		}
	}
	if fileName("A") == fileName("a") {
		t.Error("case-insensitive file systems would merge A and a")
	}
	for _, bad := range []string{"%zz", "%2", "%2F", "A"} {
		if _, ok := keyFromName(bad); ok {
			t.Errorf("keyFromName(%q) accepted a name fileName never makes", bad)
		}
	}
}

func TestFileStoreRefusesLoosePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	dir := filepath.Join(t.TempDir(), "secrets")
	s := newFS(t, dir, nil)
	s.Set("k", []byte("v"))
	path, _ := s.path("k")

	os.Chmod(path, 0o644)
	_, err := s.Get("k")
	var pe *PermissionError
	if !errors.As(err, &pe) || !errors.Is(err, ErrInsecurePermissions) {
		t.Fatalf("group/other-readable file: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "chmod 600") || !strings.Contains(msg, "0644") {
		t.Errorf("message: %s", msg)
	}
	os.Chmod(path, 0o600)
	if _, err := s.Get("k"); err != nil {
		t.Errorf("after chmod 600: %v", err)
	}

	os.Chmod(filepath.Join(dir, keyFileName), 0o640)
	if _, err := NewFileStore(dir, nil); !errors.Is(err, ErrInsecurePermissions) {
		t.Errorf("loose key file: %v", err)
	}
	os.Chmod(filepath.Join(dir, keyFileName), 0o600)

	os.Chmod(dir, 0o755)
	_, err = NewFileStore(dir, nil)
	if !errors.As(err, &pe) || !pe.Dir || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("loose directory: %v", err)
	}
	os.Chmod(dir, 0o700)
}

func TestFileStoreCorruption(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	s := newFS(t, dir, nil)
	s.Set("profile/p/idp-token", []byte("token-a"))
	s.Set("profile/p/other", []byte("token-b"))
	path, _ := s.path("profile/p/idp-token")
	orig, _ := os.ReadFile(path)

	check := func(name, want string) {
		t.Helper()
		_, err := s.Get("profile/p/idp-token")
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: want *CorruptError, got %T %v", name, err, err)
		}
		msg := err.Error()
		for _, s := range []string{"profile/p/idp-token", path, "tipctl auth logout", want} {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: message %q lacks %q", name, msg, s)
			}
		}
	}

	os.WriteFile(path, []byte("garbage that is long enough to pass the length check......"), 0o600)
	check("garbage", "not a tipctl secret file")
	os.WriteFile(path, orig[:10], 0o600)
	check("truncated", "truncated")
	flipped := bytes.Clone(orig)
	flipped[len(flipped)-1] ^= 1
	os.WriteFile(path, flipped, 0o600)
	check("bit flip", "decryption failed")
	ver := bytes.Clone(orig)
	ver[4] = 9
	os.WriteFile(path, ver, 0o600)
	check("version", "version 9")
	// Another key's file copied over this one: the key name is authenticated.
	other, _ := s.path("profile/p/other")
	data, _ := os.ReadFile(other)
	os.WriteFile(path, data, 0o600)
	check("swapped", "decryption failed")
	os.WriteFile(path, nil, 0o600)
	check("empty", "truncated")

	// Key file replaced (e.g. deleted by hand): old items are unreadable,
	// reported as written with a different key.
	os.WriteFile(path, orig, 0o600)
	os.Remove(filepath.Join(dir, keyFileName))
	s = newFS(t, dir, nil)
	check("new key", "different key")

	// A corrupt key file is a CorruptError naming it.
	os.WriteFile(filepath.Join(dir, keyFileName), []byte("{not json"), 0o600)
	_, err := NewFileStore(dir, nil)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), keyFileName) {
		t.Errorf("corrupt key file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, keyFileName), []byte(`{"v":1,"mode":"random","key":"AAAA"}`), 0o600)
	if _, err := NewFileStore(dir, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short key: %v", err)
	}
}

func TestFileStorePassphrase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	pass := []byte("correct horse battery staple")
	s := newFS(t, dir, pass)
	if err := s.Set("k", []byte("value")); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, keyFileName))
	if bytes.Contains(raw, []byte(`"key"`)) {
		t.Error("passphrase mode must not store the key")
	}

	_, err := NewFileStore(dir, []byte("hunter2-not-it"))
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2") || !strings.Contains(msg, EnvPassphrase) || !strings.Contains(msg, dir) || !strings.Contains(msg, "tipctl auth logout") {
		t.Errorf("wrong-passphrase message: %s", msg)
	}
	if _, err := NewFileStore(dir, nil); !errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), "set "+EnvPassphrase) {
		t.Errorf("no passphrase: %v", err)
	}
	if _, err := NewFileStore(dir, []byte{}); err == nil {
		t.Error("empty passphrase accepted")
	}
	got, err := newFS(t, dir, pass).Get("k")
	if err != nil || string(got) != "value" {
		t.Errorf("right passphrase: %q %v", got, err)
	}

	// Key-file store with items refuses a passphrase; an empty one is re-keyed.
	dir2 := filepath.Join(t.TempDir(), "secrets")
	newFS(t, dir2, nil).Set("k", []byte("v"))
	if _, err := NewFileStore(dir2, pass); !errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), "key file") {
		t.Errorf("mode switch with items: %v", err)
	}
	dir3 := filepath.Join(t.TempDir(), "secrets")
	newFS(t, dir3, nil)
	s3 := newFS(t, dir3, pass)
	s3.Set("k", []byte("v3"))
	if got, err := newFS(t, dir3, pass).Get("k"); err != nil || string(got) != "v3" {
		t.Errorf("re-keyed store: %q %v", got, err)
	}
}

// Many goroutines creating the store at once agree on one key.
func TestFileStoreConcurrentCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	var wg sync.WaitGroup
	stores := make([]*FileStore, 16)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := NewFileStore(dir, nil)
			if err != nil {
				t.Error(err)
				return
			}
			stores[i] = s
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	stores[0].Set("k", []byte("v"))
	for i, s := range stores {
		if got, err := s.Get("k"); err != nil || string(got) != "v" {
			t.Errorf("store %d: %q %v", i, got, err)
		}
	}
	noTemps(t, dir)
}

// Readers running while a writer replaces the value see a whole old or new
// value, never a torn one.
func TestFileStoreReadersNeverSeeTornWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	s := newFS(t, dir, nil)
	a := bytes.Repeat([]byte("a"), 256<<10)
	b := bytes.Repeat([]byte("b"), 300<<10)
	s.Set("k", a)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var reads, bad int64
	var mu sync.Mutex
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newFS(t, dir, nil) // separate instance, like another process
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := r.Get("k")
				mu.Lock()
				reads++
				if err != nil || !(bytes.Equal(got, a) || bytes.Equal(got, b)) {
					bad++
					if bad == 1 {
						t.Errorf("torn or failed read: len=%d err=%v", len(got), err)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := range 60 {
		v := a
		if i%2 == 0 {
			v = b
		}
		if err := s.Set("k", v); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if reads == 0 {
		t.Fatal("no reads happened")
	}
	noTemps(t, dir)
}

func TestOpenSelectsBackend(t *testing.T) {
	home := t.TempDir()
	t.Setenv("TIPCTL_HOME", home)
	t.Setenv(EnvBackend, "file")
	t.Setenv(EnvPassphrase, "")
	os.Unsetenv(EnvPassphrase)
	v, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Backend() != "file" {
		t.Errorf("backend %s", v.Backend())
	}
	fs, ok := v.Store.(*FileStore)
	if !ok || fs.Dir() != filepath.Join(home, "state", "secrets") {
		t.Fatalf("store %T %v", v.Store, fs)
	}
	if v.LockDir() != filepath.Join(home, "state", "locks") {
		t.Errorf("lock dir %s", v.LockDir())
	}
	if err := v.Set("x", []byte("y")); err != nil {
		t.Fatal(err)
	}

	t.Setenv(EnvPassphrase, "pw")
	if _, err := Open(Options{}); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("passphrase from the environment was not used: %v", err)
	}

	_, err = Open(Options{Backend: "bogus"})
	if err == nil || !strings.Contains(err.Error(), "unknown secret store backend") || !strings.Contains(err.Error(), "file") {
		t.Errorf("unknown backend: %v", err)
	}
	other := "wincred"
	if runtime.GOOS == "windows" {
		other = "keychain"
	}
	_, err = Open(Options{Backend: other})
	if err == nil || !strings.Contains(err.Error(), "not available") || !strings.Contains(err.Error(), EnvBackend+"=file") {
		t.Errorf("unavailable backend: %v", err)
	}
}

func TestKeyringStoreAdapter(t *testing.T) {
	s := newKeyringStoreFrom(keyring.NewArrayKeyring(nil), "array")
	if _, err := s.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	s.Set("profile/a/x", []byte("1"))
	s.Set("profile/b/x", []byte("2"))
	if got, err := s.Get("profile/a/x"); err != nil || string(got) != "1" {
		t.Errorf("get: %q %v", got, err)
	}
	if keys, _ := s.Keys("profile/a/"); len(keys) != 1 || keys[0] != "profile/a/x" {
		t.Errorf("keys: %v", keys)
	}
	if err := s.Delete("profile/a/x"); err != nil {
		t.Error(err)
	}
	if err := s.Delete("profile/a/x"); err != nil {
		t.Errorf("delete missing: %v", err)
	}
	if err := s.Set("", nil); err == nil {
		t.Error("empty key accepted")
	}
	v := NewVault(s, t.TempDir())
	if v.Backend() != "array" {
		t.Errorf("backend %s", v.Backend())
	}
}

// TestAutoBackendIsRemembered: the backend auto-detection found is written
// down and used from then on, so secrets are always read where they were
// written.
func TestAutoBackendIsRemembered(t *testing.T) {
	state := t.TempDir()
	v, err := Open(Options{StateDir: state, Backend: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(state, "backend"))
	if err != nil || strings.TrimSpace(string(b)) != v.Backend() {
		t.Fatalf("remembered %q, opened %s (%v)", b, v.Backend(), err)
	}
	// Pretend the first detection had found the file backend: auto obeys.
	if err := os.WriteFile(filepath.Join(state, "backend"), []byte("file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v2, err := Open(Options{StateDir: state, Backend: "auto"})
	if err != nil || v2.Backend() != "file" {
		t.Fatalf("auto after remembering file: %v %v", v2, err)
	}
	// A garbled record is ignored and detection runs again.
	_ = os.WriteFile(filepath.Join(state, "backend"), []byte("nonsense"), 0o600)
	if _, err := Open(Options{StateDir: state, Backend: "auto"}); err != nil {
		t.Fatal(err)
	}
}
