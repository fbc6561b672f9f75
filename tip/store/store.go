// Package store keeps tipctl's secrets (IdP tokens, cached AWS credentials,
// client secrets) and makes token refresh safe across processes.
//
// Backends (see Open):
//
//   - the OS keyring through github.com/99designs/keyring: macOS Keychain,
//     Windows Credential Manager, Secret Service (GNOME Keyring, KeePassXC),
//     KWallet, and on request the Linux kernel keyring (keyctl) or pass;
//   - an encrypted-file backend for machines without a keyring (CI,
//     containers, SSH hosts): one AES-256-GCM file per key in a 0700
//     directory, see FileStore for the key management trade-offs.
//
// A Vault adds what a credential helper needs on top of a Store:
// cross-process locks (flock, released by the kernel when a holder dies)
// and GetOrRefresh, which makes N concurrent processes cause one refresh,
// and persists a rotated refresh token before any other process can read
// the old one.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tipctl/tipctl/tip/config"
)

// Store is a small key/value store for secrets. Keys are 1-200 bytes of
// printable UTF-8 (slashes allowed, e.g. "profile/work/idp-token"). All
// backends are safe for concurrent use by multiple goroutines and processes;
// a single Set is atomic (readers see the old or the new value).
type Store interface {
	// Get returns the value, ErrNotFound, or an error that may match
	// ErrCorrupt, ErrInsecurePermissions or ErrWrongPassphrase.
	Get(key string) ([]byte, error)
	// Set creates or replaces the value.
	Set(key string, data []byte) error
	// Delete removes the key; deleting a missing key is not an error.
	Delete(key string) error
	// Keys lists the keys that start with prefix, sorted.
	Keys(prefix string) ([]string, error)
}

// Environment variables read by Open.
const (
	// EnvBackend picks the backend: "auto" (default), "file" (the
	// encrypted-file backend), or a keyring backend: "keychain",
	// "wincred", "secret-service", "kwallet", "keyctl", "pass".
	EnvBackend = "TIPCTL_KEYRING_BACKEND"
	// EnvPassphrase, when set, derives the file backend's key with scrypt
	// instead of keeping a random key in a key file.
	EnvPassphrase = "TIPCTL_FILE_PASSPHRASE"
)

// BackendFile names the encrypted-file backend.
const BackendFile = "file"

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound            = errors.New("secret not found")
	ErrCorrupt             = errors.New("secret store item is corrupt")
	ErrWrongPassphrase     = errors.New("wrong passphrase")
	ErrInsecurePermissions = errors.New("insecure file permissions")
	ErrLockTimeout         = errors.New("timed out waiting for lock")
)

// CorruptError reports an item (or key file) that cannot be decoded or
// decrypted. It matches ErrCorrupt.
type CorruptError struct {
	Key    string // item key; "" for the key file or a bare DecodeItem
	Path   string // file, when the backend has one
	Reason string
}

func (e *CorruptError) Error() string {
	var what string
	switch {
	case e.Key != "" && e.Path != "":
		what = fmt.Sprintf("stored secret %q (%s)", e.Key, e.Path)
	case e.Key != "":
		what = fmt.Sprintf("stored secret %q", e.Key)
	case e.Path != "":
		what = e.Path
	default:
		what = "stored item"
	}
	return fmt.Sprintf("%s is corrupt: %s; run `tipctl auth logout` to wipe it and log in again", what, e.Reason)
}

// Is matches ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// PermissionError reports a secret file or directory that other users can
// access. The store refuses to use it rather than silently fixing it: a
// loosened mode means something else touched the file, which deserves a
// look. It matches ErrInsecurePermissions.
type PermissionError struct {
	Path string
	Mode fs.FileMode
	Dir  bool
}

func (e *PermissionError) Error() string {
	want := "600"
	if e.Dir {
		want = "700"
	}
	return fmt.Sprintf("refusing to use %s: its mode %04o lets other users access it; check who changed it, then run `chmod %s %s` (or `tipctl auth logout` to wipe the stored secrets)", e.Path, e.Mode.Perm(), want, e.Path)
}

// Is matches ErrInsecurePermissions.
func (e *PermissionError) Is(target error) bool { return target == ErrInsecurePermissions }

// MaxKeyLen is the longest key accepted, in bytes.
const MaxKeyLen = 200

// MaxValueLen is the largest value accepted, in bytes.
const MaxValueLen = 4 << 20

func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("store: empty key")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("store: key is %d bytes, the limit is %d", len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return errors.New("store: key is not valid UTF-8")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("store: key %q contains a control character", key)
		}
	}
	return nil
}

// Options configure Open. Zero values read the environment.
type Options struct {
	// StateDir is tipctl's state directory; default config.Paths().State.
	// The file backend uses StateDir/secrets, locks live in StateDir/locks.
	StateDir string
	// Backend overrides $TIPCTL_KEYRING_BACKEND ("" = use the variable,
	// then "auto").
	Backend string
	// Passphrase overrides $TIPCTL_FILE_PASSPHRASE for the file backend
	// (nil: use the variable; an empty or unset variable means key-file
	// mode).
	Passphrase []byte
	// LockTimeout bounds how long GetOrRefresh and Put wait for another
	// process's refresh; default 60s.
	LockTimeout time.Duration
}

// osBackends are tried in this order by "auto"; the first that opens wins,
// else the file backend is used. keyctl (not persistent across reboots)
// and pass (needs a GPG setup) are used only when asked for by name.
var osBackends = []string{"wincred", "keychain", "secret-service", "kwallet"}

// Backends lists the accepted backend names.
func Backends() []string {
	return append([]string{"auto", BackendFile}, append(osBackends, "keyctl", "pass")...)
}

// Open opens the secret store chosen by Options/environment and returns it
// as a Vault. With "auto" it uses the first OS keyring that opens and falls
// back to the encrypted-file backend; a backend asked for by name must work
// or Open fails saying why.
func Open(opts Options) (*Vault, error) {
	if opts.StateDir == "" {
		d, err := config.Paths()
		if err != nil {
			return nil, err
		}
		opts.StateDir = d.State
	}
	backend := opts.Backend
	if backend == "" {
		backend = strings.TrimSpace(os.Getenv(EnvBackend))
	}
	if backend == "" {
		backend = "auto"
	}
	pass := opts.Passphrase
	if pass == nil {
		if v := os.Getenv(EnvPassphrase); v != "" {
			pass = []byte(v)
		}
	}
	var s Store
	switch backend {
	case BackendFile:
		fs, err := NewFileStore(filepath.Join(opts.StateDir, "secrets"), pass)
		if err != nil {
			return nil, err
		}
		s = fs
	case "auto":
		// The first auto-detection is remembered: the secrets live in the
		// backend that was found then, even if another one appears later
		// (a desktop session's keyring), and later runs skip the probing
		// (a few milliseconds of D-Bus attempts on machines without one).
		chosen := filepath.Join(opts.StateDir, "backend")
		if b, err := os.ReadFile(chosen); err == nil {
			if name := strings.TrimSpace(string(b)); name != "auto" && slices.Contains(Backends(), name) {
				return Open(Options{StateDir: opts.StateDir, Backend: name, Passphrase: opts.Passphrase, LockTimeout: opts.LockTimeout})
			}
		}
		for _, b := range osBackends {
			if ks, err := NewKeyringStore(b); err == nil {
				s, backend = ks, b
				break
			}
		}
		if s == nil {
			fs, err := NewFileStore(filepath.Join(opts.StateDir, "secrets"), pass)
			if err != nil {
				return nil, err
			}
			s, backend = fs, BackendFile
		}
		if config.EnsureDir(opts.StateDir) == nil {
			_ = config.WriteFileAtomic(chosen, []byte(backend+"\n"), 0o600)
		}
	default:
		ks, err := NewKeyringStore(backend)
		if err != nil {
			return nil, err
		}
		s = ks
	}
	v := NewVault(s, filepath.Join(opts.StateDir, "locks"))
	v.backend = backend
	if opts.LockTimeout > 0 {
		v.LockTimeout = opts.LockTimeout
	}
	return v, nil
}
