package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sync/singleflight"

	"github.com/tipctl/tipctl/tip/config"
)

// DefaultLockTimeout is how long GetOrRefresh and Put wait for the lock.
const DefaultLockTimeout = 60 * time.Second

// Vault is a Store plus cross-process locks and single-flight refresh. Its
// Get/Set/Delete/Keys go straight to the backend (Set does not lock; use
// Put to replace a value that a refresher may be rewriting).
type Vault struct {
	Store
	// LockTimeout bounds the wait for the lock in GetOrRefresh and Put.
	LockTimeout time.Duration

	backend string
	lockDir string
	group   singleflight.Group
}

// NewVault wraps s; lock files go in lockDir (created 0700 on first use).
func NewVault(s Store, lockDir string) *Vault {
	b := "custom"
	switch x := s.(type) {
	case *FileStore:
		b = BackendFile
	case *KeyringStore:
		b = x.backend
	}
	return &Vault{Store: s, LockTimeout: DefaultLockTimeout, backend: b, lockDir: lockDir}
}

// Backend names the backend in use ("file", "keychain", "secret-service", ...).
func (v *Vault) Backend() string { return v.backend }

// LockDir is the directory holding the lock files.
func (v *Vault) LockDir() string { return v.lockDir }

// LockTimeoutError says which lock could not be taken in time, who holds
// it and what to do. It matches ErrLockTimeout.
type LockTimeoutError struct {
	Name   string
	Path   string
	Waited time.Duration
	Holder *LockHolder // nil when the holder is unknown
}

// LockHolder describes the process holding a lock, as it recorded itself.
type LockHolder struct {
	PID     int       `json:"pid"`
	Command string    `json:"cmd"`
	Since   time.Time `json:"since"`
}

func (e *LockTimeoutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "timed out after %s waiting for the tipctl lock %q (%s)", e.Waited.Round(time.Millisecond), e.Name, e.Path)
	switch h := e.Holder; {
	case h == nil:
		b.WriteString(", held by another process that did not record itself; find it with `fuser " + e.Path + "` or `lsof " + e.Path + "` and stop it if it is stuck")
	case h.PID == os.Getpid():
		fmt.Fprintf(&b, ", held by this same process (pid %d) since %s: a caller took the lock twice, which is a bug in tipctl; please report it", h.PID, h.Since.Format(time.RFC3339))
	default:
		fmt.Fprintf(&b, ", held by pid %d (%s) since %s (%s ago); if that command is stuck, stop it (kill %d) and retry", h.PID, h.Command, h.Since.Format(time.RFC3339), time.Since(h.Since).Round(time.Second), h.PID)
	}
	b.WriteString(". A lock held by a process that has exited is released automatically.")
	return b.String()
}

// Is matches ErrLockTimeout.
func (e *LockTimeoutError) Is(target error) bool { return target == ErrLockTimeout }

// Lock takes the exclusive cross-process lock called name (a lock file in
// the lock directory, via flock), waiting up to timeout (<= 0 means
// LockTimeout) or until ctx ends. The kernel releases the lock when the
// holding process exits or is killed, so a crash never leaves it stuck.
// On timeout the *LockTimeoutError names the holder's pid and command.
// Goroutines of one process exclude each other too. unlock is idempotent.
// Locks are not reentrant: taking a lock you already hold waits.
func (v *Vault) Lock(ctx context.Context, name string, timeout time.Duration) (unlock func(), err error) {
	if err := checkKey(name); err != nil {
		return nil, fmt.Errorf("lock name: %w", err)
	}
	if timeout <= 0 {
		timeout = v.LockTimeout
	}
	if err := config.EnsureDir(v.lockDir); err != nil {
		return nil, err
	}
	path := filepath.Join(v.lockDir, fileName(name)+".lock")
	if len(filepath.Base(path)) > 250 {
		return nil, fmt.Errorf("lock name %q is too long", name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("waiting for the tipctl lock %q: %w", name, err)
	}
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	start := time.Now()
	deadline := start.Add(timeout)
	delay := time.Millisecond
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		now := time.Now()
		if !now.Before(deadline) {
			return nil, &LockTimeoutError{Name: name, Path: path, Waited: now.Sub(start), Holder: readHolder(path)}
		}
		sleep := min(delay+rand.N(delay), deadline.Sub(now))
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for the tipctl lock %q: %w", name, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 20*time.Millisecond)
	}
	writeHolder(path)
	var once sync.Once
	return func() {
		once.Do(func() {
			os.Remove(path + ".owner")
			fl.Unlock()
		})
	}, nil
}

// writeHolder records this process as the lock holder, best effort (a
// missing record only makes a timeout message less precise).
func writeHolder(lockPath string) {
	cmd := filepath.Base(os.Args[0])
	if len(os.Args) > 1 {
		cmd += " " + strings.Join(os.Args[1:], " ")
	}
	cmd = truncate(cmd, 200)
	data, _ := json.Marshal(LockHolder{PID: os.Getpid(), Command: cmd, Since: time.Now().UTC().Truncate(time.Second)})
	tmp := fmt.Sprintf("%s.owner.%d", lockPath, os.Getpid())
	if os.WriteFile(tmp, data, 0o600) == nil {
		if os.Rename(tmp, lockPath+".owner") != nil {
			os.Remove(tmp)
		}
	}
}

func readHolder(lockPath string) *LockHolder {
	data, err := os.ReadFile(lockPath + ".owner")
	if err != nil || len(data) > 4096 {
		return nil
	}
	var h LockHolder
	if json.Unmarshal(data, &h) != nil || h.PID <= 0 {
		return nil
	}
	return &h
}

// GetOrRefresh returns the value of key if fresh says it is still good;
// otherwise it makes sure exactly one caller refreshes it:
//
//  1. read; if fresh, return it (no lock);
//  2. take the key's cross-process lock (concurrent callers in this
//     process share one attempt via singleflight);
//  3. read again (another process may have refreshed meanwhile); if
//     fresh, return it;
//  4. call refresh with the current value (nil when absent or corrupt),
//     store its result atomically, then unlock.
//
// Because the new value is written before the lock is released, and every
// refresher re-reads under the lock, a rotated refresh token is never used
// twice. A refresh error is returned as is and nothing is written. fresh
// must not modify its argument and should mean the same for every caller
// of a given key (concurrent callers in one process share the first
// caller's refresh and context). refresh must not call Put or Lock for the
// same key (locks are not reentrant). Corrupt items count as absent here
// (they are replaced); permission and passphrase errors are returned.
func (v *Vault) GetOrRefresh(ctx context.Context, key string, fresh func(item []byte) bool, refresh func(ctx context.Context, old []byte) ([]byte, error)) ([]byte, error) {
	if fresh == nil || refresh == nil {
		return nil, errors.New("store: GetOrRefresh needs both fresh and refresh functions")
	}
	cur, err := v.readForRefresh(key)
	if err != nil {
		return nil, err
	}
	if cur != nil && fresh(cur) {
		return cur, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := v.group.DoChan(key, func() (any, error) {
		return v.refreshLocked(ctx, key, fresh, refresh)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return bytes.Clone(r.Val.([]byte)), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (v *Vault) readForRefresh(key string) ([]byte, error) {
	data, err := v.Store.Get(key)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrCorrupt):
		return nil, nil
	default:
		return nil, err
	}
}

func (v *Vault) refreshLocked(ctx context.Context, key string, fresh func([]byte) bool, refresh func(context.Context, []byte) ([]byte, error)) (val []byte, err error) {
	unlock, err := v.Lock(ctx, "item:"+key, v.LockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := v.readForRefresh(key)
	if err != nil {
		return nil, err
	}
	if cur != nil && fresh(cur) {
		return cur, nil
	}
	defer func() {
		if r := recover(); r != nil {
			val, err = nil, fmt.Errorf("refresh of %q panicked: %v", key, r)
		}
	}()
	nv, err := refresh(ctx, cur)
	if err != nil {
		return nil, err
	}
	if nv == nil {
		return nil, fmt.Errorf("refresh of %q returned no value", key)
	}
	if err := v.Store.Set(key, nv); err != nil {
		return nil, fmt.Errorf("refreshed %q but could not save it: %w", key, err)
	}
	return bytes.Clone(nv), nil
}

// Preflight checks that an item of size bytes could be stored now (see
// FileStore.Preflight) and that the lock directory is usable. Backends
// without a way to check (OS keyrings) pass.
func (v *Vault) Preflight(size int) error {
	if err := config.EnsureDir(v.lockDir); err != nil {
		return err
	}
	if p, ok := v.Store.(interface{ Preflight(int) error }); ok {
		return p.Preflight(size)
	}
	return nil
}

// KeyBesideData reports whether the secrets are in the encrypted-file
// backend with its key in a key file next to them (no passphrase): that
// protects against one file leaking on its own, not against anyone who can
// read the user's files.
func (v *Vault) KeyBesideData() bool {
	fs, ok := v.Store.(*FileStore)
	if !ok {
		return false
	}
	kf, err := fs.readKeyFile()
	return err == nil && kf.Mode == "random"
}

// WeakStoreNote says what the key-file mode protects against and how to do
// better; shown at login and by `auth status`.
const WeakStoreNote = "the encrypted-file store keeps its key beside the secrets: it protects against a single file leaking, not against anyone who can read your files; set " +
	EnvPassphrase + " (a passphrase, e.g. from a CI secret) or use an OS keyring (" + EnvBackend + "=secret-service, keychain, wincred...) for more"

// LockItem takes the lock that GetOrRefresh and Put hold while they
// rewrite key (for a caller that must not interleave with them, such as a
// logout wiping the key).
func (v *Vault) LockItem(ctx context.Context, key string, timeout time.Duration) (unlock func(), err error) {
	return v.Lock(ctx, "item:"+key, timeout)
}

// Put stores data under key while holding the key's lock, so it cannot
// interleave with a GetOrRefresh of the same key in another process (use
// it for a fresh login's tokens).
func (v *Vault) Put(ctx context.Context, key string, data []byte) error {
	unlock, err := v.Lock(ctx, "item:"+key, v.LockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	return v.Store.Set(key, data)
}
