package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/scrypt"

	"github.com/tipctl/tipctl/tip/config"
)

// FileStore is the encrypted-file backend: one file per key in a 0700
// directory, each 0600, replaced atomically (temporary file in the same
// directory, fsync, rename, fsync of the directory), so a reader or a crash
// sees the old or the new value, never a torn one.
//
// Each file is AES-256-GCM encrypted; the key name and the store's key id
// are authenticated with it, so a file cannot be swapped for another key's
// file unnoticed. The 256-bit key comes from one of two places, recorded in
// the 0600 key file DIR/.key:
//
//   - passphrase mode ($TIPCTL_FILE_PASSPHRASE set): the key is derived with
//     scrypt (N=32768, r=8, p=1) from the passphrase and a random salt kept
//     in the key file, which also holds a check value so a wrong passphrase
//     is reported as such. The files are useless without the passphrase, so
//     a copied disk, backup or home directory does not leak tokens. The cost
//     is that every tipctl process needs the passphrase (typically a CI
//     secret) and pays ~0.1 s of scrypt (one derivation per process).
//   - key-file mode (no passphrase): a random key is stored in the key file.
//     This protects against a single secret file leaking on its own (pasted
//     into a ticket, synced by a tool that skips dotfiles) and keeps the
//     values out of plain-text greps, but anyone who can read the user's
//     files can read the key too: against that attacker it is no stronger
//     than 0600 plain files. Use an OS keyring or a passphrase when that
//     matters.
//
// Switching modes: a store holding items refuses to open in the other mode
// (wipe it with `tipctl auth logout`); an empty store is re-keyed.
//
// Files or directories readable or writable by group/other are refused with
// a *PermissionError (no silent chmod). Unreadable files yield a
// *CorruptError (matching ErrCorrupt) that says `tipctl auth logout` wipes
// them.
type FileStore struct {
	dir   string
	aead  cipher.AEAD
	keyID [8]byte
}

const (
	keyFileName = ".key"
	itemSuffix  = ".enc"
	tmpPrefix   = ".tmp-"
	fileMagic   = "TIPS"
	fileVersion = 1
	headerLen   = len(fileMagic) + 1 + 8 + 12
)

// scrypt cost for new passphrase stores (tests lower it).
var scryptN = 1 << 15

type keyFile struct {
	V     int    `json:"v"`
	Mode  string `json:"mode"` // "random" or "scrypt"
	Key   []byte `json:"key,omitempty"`
	Salt  []byte `json:"salt,omitempty"`
	N     int    `json:"n,omitempty"`
	R     int    `json:"r,omitempty"`
	P     int    `json:"p,omitempty"`
	Check []byte `json:"check,omitempty"`
}

var checkPlain = []byte("tipctl file store key check v1")

// NewFileStore opens (creating if needed) the encrypted-file store in dir.
// A non-nil passphrase selects passphrase mode (an empty one is refused);
// nil selects key-file mode. See FileStore for the trade-offs.
func NewFileStore(dir string, passphrase []byte) (*FileStore, error) {
	if passphrase != nil && len(passphrase) == 0 {
		return nil, fmt.Errorf("%s is set but empty; set a passphrase or unset it to use a key file", EnvPassphrase)
	}
	if err := config.EnsureDir(dir); err != nil {
		return nil, err
	}
	if err := checkMode(dir, true); err != nil {
		return nil, err
	}
	s := &FileStore{dir: dir}
	key, err := s.loadKey(passphrase)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	s.aead, err = cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(append([]byte("tipctl key id\x00"), key...))
	copy(s.keyID[:], id[:8])
	s.removeStaleTemps()
	return s, nil
}

// Dir is the directory holding the files.
func (s *FileStore) Dir() string { return s.dir }

func checkMode(path string, dir bool) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return checkStat(path, st, dir)
}

func checkStat(path string, st os.FileInfo, dir bool) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if st.Mode().Perm()&0o077 != 0 {
		return &PermissionError{Path: path, Mode: st.Mode(), Dir: dir}
	}
	return nil
}

func (s *FileStore) keyPath() string { return filepath.Join(s.dir, keyFileName) }

func (s *FileStore) loadKey(pass []byte) ([]byte, error) {
	kf, err := s.readKeyFile()
	if errors.Is(err, os.ErrNotExist) {
		return s.createKey(pass, false)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case kf.Mode == "random" && pass == nil:
		return kf.Key, nil
	case kf.Mode == "scrypt" && pass != nil:
		key, err := scrypt.Key(pass, kf.Salt, kf.N, kf.R, kf.P, 32)
		if err != nil {
			return nil, &CorruptError{Path: s.keyPath(), Reason: "bad scrypt parameters: " + err.Error()}
		}
		if !s.checkKey(key, kf.Check) {
			return nil, fmt.Errorf("%w: %s does not decrypt the secrets in %s; set the passphrase they were saved with, or run `tipctl auth logout` to wipe them", ErrWrongPassphrase, EnvPassphrase, s.dir)
		}
		return key, nil
	case kf.Mode == "scrypt":
		return nil, fmt.Errorf("%w: the secrets in %s are encrypted with a passphrase; set %s (or run `tipctl auth logout` to wipe them)", ErrWrongPassphrase, s.dir, EnvPassphrase)
	default: // random key file, passphrase given
		if keys, _ := s.Keys(""); len(keys) == 0 {
			return s.createKey(pass, true)
		}
		return nil, fmt.Errorf("%w: the secrets in %s are protected by a key file, not a passphrase; unset %s, or run `tipctl auth logout` to wipe them and start over with the passphrase", ErrWrongPassphrase, s.dir, EnvPassphrase)
	}
}

func (s *FileStore) readKeyFile() (*keyFile, error) {
	path := s.keyPath()
	data, err := readChecked(path)
	if err != nil {
		return nil, err
	}
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		return nil, &CorruptError{Path: path, Reason: "key file is not valid JSON"}
	}
	switch {
	case kf.V != 1:
		return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("unsupported key file version %d", kf.V)}
	case kf.Mode == "random" && len(kf.Key) == 32:
	case kf.Mode == "scrypt" && len(kf.Salt) >= 16 && kf.N >= 1<<10 && kf.N <= 1<<22 && kf.N&(kf.N-1) == 0 &&
		kf.R >= 1 && kf.R <= 32 && kf.P >= 1 && kf.P <= 16 && len(kf.Check) > 12:
	default:
		return nil, &CorruptError{Path: path, Reason: "key file has missing or invalid fields"}
	}
	return &kf, nil
}

// createKey writes a new key file. Unless replace is set it must not exist
// yet: if another process wins the race, its key file is used.
func (s *FileStore) createKey(pass []byte, replace bool) ([]byte, error) {
	kf := keyFile{V: 1}
	var key []byte
	if pass == nil {
		kf.Mode = "random"
		key = make([]byte, 32)
		rand.Read(key)
		kf.Key = key
	} else {
		kf.Mode = "scrypt"
		kf.Salt = make([]byte, 16)
		rand.Read(kf.Salt)
		kf.N, kf.R, kf.P = scryptN, 8, 1
		var err error
		key, err = scrypt.Key(pass, kf.Salt, kf.N, kf.R, kf.P, 32)
		if err != nil {
			return nil, err
		}
		block, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(block)
		nonce := make([]byte, gcm.NonceSize())
		rand.Read(nonce)
		kf.Check = gcm.Seal(nonce, nonce, checkPlain, nil)
	}
	data, _ := json.Marshal(kf)
	if replace {
		if err := config.WriteFileAtomic(s.keyPath(), data, 0o600); err != nil {
			return nil, err
		}
		return key, nil
	}
	// Create-if-absent atomically: write a temporary file, then hard-link
	// it into place (link fails if the name exists), so no reader ever sees
	// a half-written key file and two racing processes agree on one key.
	tmp, err := s.writeTemp(data)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, s.keyPath())
	if err == nil {
		return key, config.SyncDir(s.dir)
	}
	if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create key file %s: %w", s.keyPath(), err)
	}
	// Someone else created it first: use theirs.
	return s.loadKey(pass)
}

func (s *FileStore) writeTemp(data []byte) (string, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(s.dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

func (s *FileStore) checkKey(key, check []byte) bool {
	block, err := aes.NewCipher(key)
	if err != nil {
		return false
	}
	gcm, _ := cipher.NewGCM(block)
	ns := gcm.NonceSize()
	if len(check) < ns {
		return false
	}
	plain, err := gcm.Open(nil, check[:ns], check[ns:], nil)
	return err == nil && subtle.ConstantTimeCompare(plain, checkPlain) == 1
}

// readChecked reads a file after checking, on the open descriptor, that
// only the owner can access it.
// A symbolic link, FIFO, socket or device is refused (a FIFO would block
// the read forever; chmod on a link would change its target).
func readChecked(path string) ([]byte, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	if err := checkStat(path, st, false); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, int64(MaxValueLen+headerLen+64)))
}

// notRegular is the error for something other than a regular file where a
// secret file should be. It matches ErrCorrupt: `tipctl auth logout`
// removes it (the directory entry, never what a link points to).
func notRegular(path string, mode fs.FileMode) error {
	kind := "not a regular file"
	switch {
	case mode&fs.ModeSymlink != 0:
		kind = "a symbolic link"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	case mode.IsDir():
		kind = "a directory"
	}
	return &CorruptError{Path: path, Reason: "it is " + kind + ", not a regular file, so tipctl refuses to read it; check what put it there, then remove it (`rm " + path + "`)"}
}

// fileName maps a key to a file name that is safe and distinct on every
// file system, including case-insensitive ones: [a-z0-9_-] and '.' (not
// leading) stay, every other byte becomes %xx (lowercase hex).
func fileName(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// keyFromName reverses fileName; ok is false for names it did not make.
func keyFromName(name string) (string, bool) {
	var b []byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(name) {
			return "", false
		}
		v, err := hex.DecodeString(name[i+1 : i+3])
		if err != nil || name[i+1:i+3] != strings.ToLower(name[i+1:i+3]) {
			return "", false
		}
		b = append(b, v[0])
		i += 2
	}
	key := string(b)
	if fileName(key) != name || checkKey(key) != nil {
		return "", false
	}
	return key, true
}

// maxFileName keeps item file names under the usual 255-byte limit.
const maxFileName = 240

func (s *FileStore) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	name := fileName(key)
	if len(name) > maxFileName {
		return "", fmt.Errorf("store: key %q is too long for the file backend once escaped (%d > %d bytes); use a shorter key or fewer characters outside a-z 0-9 . _ -", key, len(name), maxFileName)
	}
	return filepath.Join(s.dir, name+itemSuffix), nil
}

func (s *FileStore) header(nonce []byte) []byte {
	h := make([]byte, 0, headerLen)
	h = append(h, fileMagic...)
	h = append(h, fileVersion)
	h = append(h, s.keyID[:]...)
	return append(h, nonce...)
}

// Get implements Store.
func (s *FileStore) Get(key string) ([]byte, error) {
	path, err := s.path(key)
	if err != nil {
		return nil, err
	}
	data, err := readChecked(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.open(key, path, data)
}

func (s *FileStore) open(key, path string, data []byte) ([]byte, error) {
	bad := func(reason string) error { return &CorruptError{Key: key, Path: path, Reason: reason} }
	switch {
	case len(data) < headerLen+s.aead.Overhead():
		return nil, bad(fmt.Sprintf("the file is truncated (%d bytes)", len(data)))
	case string(data[:len(fileMagic)]) != fileMagic:
		return nil, bad("not a tipctl secret file")
	case data[len(fileMagic)] != fileVersion:
		return nil, bad(fmt.Sprintf("unsupported format version %d", data[len(fileMagic)]))
	case !bytes.Equal(data[len(fileMagic)+1:len(fileMagic)+9], s.keyID[:]):
		return nil, bad("it was encrypted with a different key (the key file or passphrase changed since it was written)")
	}
	nonce := data[len(fileMagic)+9 : headerLen]
	aad := append(append([]byte(nil), data[:headerLen]...), key...)
	plain, err := s.aead.Open(nil, nonce, data[headerLen:], aad)
	if err != nil {
		return nil, bad("decryption failed (the file was damaged or modified)")
	}
	return plain, nil
}

// Set implements Store.
func (s *FileStore) Set(key string, data []byte) error {
	path, err := s.path(key)
	if err != nil {
		return err
	}
	if len(data) > MaxValueLen {
		return fmt.Errorf("store: value for %q is %d bytes, the limit is %d", key, len(data), MaxValueLen)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	hdr := s.header(nonce)
	aad := append(append([]byte(nil), hdr...), key...)
	out := s.aead.Seal(hdr, nonce, data, aad)
	return config.WriteFileAtomic(path, out, 0o600)
}

// Delete implements Store.
func (s *FileStore) Delete(key string) error {
	path, err := s.path(key)
	if err != nil {
		return err
	}
	err = os.Remove(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return config.SyncDir(s.dir)
}

// Keys implements Store.
func (s *FileStore) Keys(prefix string) ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, itemSuffix) || strings.HasPrefix(name, ".") {
			continue
		}
		key, ok := keyFromName(strings.TrimSuffix(name, itemSuffix))
		if ok && strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// removeStaleTemps deletes temporary files left by processes killed
// mid-write (older than an hour, so in-flight writes are never touched).
func (s *FileStore) removeStaleTemps() {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
			os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// WipeFiles removes the encrypted-file store's items under dir whose keys
// start with prefix, without decrypting anything: the way out when the
// store cannot be opened (wrong or missing passphrase, corrupt key file).
// When no item is left, the key file goes too, so the next login starts a
// new store. It reports how many items it removed.
func WipeFiles(dir, prefix string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	removed, left := 0, 0
	var firstErr error
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, itemSuffix) {
			continue
		}
		key, ok := keyFromName(strings.TrimSuffix(name, itemSuffix))
		if !ok || !strings.HasPrefix(key, prefix) {
			left++
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			if firstErr == nil {
				firstErr = err
			}
			left++
			continue
		}
		removed++
	}
	if left == 0 && firstErr == nil {
		if err := os.Remove(filepath.Join(dir, keyFileName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			firstErr = err
		}
	}
	if err := config.SyncDir(dir); err != nil && firstErr == nil {
		firstErr = err
	}
	return removed, firstErr
}

// Preflight checks that an item of size bytes can be written now: it
// writes (and syncs) a temporary file of that size in the store's
// directory and removes it. A read-only or full disk fails here, before a
// caller does something it cannot undo (redeeming a rotating refresh
// token, sending the person through a browser sign-in).
func (s *FileStore) Preflight(size int) error {
	tmp, err := s.writeTemp(make([]byte, size+headerLen+s.aead.Overhead()))
	if err != nil {
		return fmt.Errorf("the secret store %s cannot be written: %w", s.dir, err)
	}
	os.Remove(tmp)
	return nil
}
