package store

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/99designs/keyring"
)

// KeyringService is the service/collection name tipctl uses in OS keyrings.
const KeyringService = "tipctl"

// KeyringStore is a Store over an OS keyring (github.com/99designs/keyring).
type KeyringStore struct {
	ring    keyring.Keyring
	backend string
}

// NewKeyringStore opens the named keyring backend ("keychain", "wincred",
// "secret-service", "kwallet", "keyctl", "pass"). It fails, saying why and
// what to do, when the backend is unknown or unavailable on this machine.
func NewKeyringStore(backend string) (*KeyringStore, error) {
	bt := keyring.BackendType(backend)
	known := []string{"keychain", "wincred", "secret-service", "kwallet", "keyctl", "pass"}
	if !slices.Contains(known, backend) {
		return nil, fmt.Errorf("unknown secret store backend %q (%s=%s); use one of %s", backend, EnvBackend, backend, strings.Join(Backends(), ", "))
	}
	if !slices.Contains(keyring.AvailableBackends(), bt) {
		return nil, fmt.Errorf("secret store backend %q is not available on this machine%s; set %s=file to use the encrypted-file store", backend, unavailableHint(backend), EnvBackend)
	}
	ring, err := keyring.Open(keyring.Config{
		AllowedBackends:          []keyring.BackendType{bt},
		ServiceName:              KeyringService,
		KeychainTrustApplication: true,
		LibSecretCollectionName:  "login",
		KWalletAppID:             KeyringService,
		KWalletFolder:            KeyringService,
		KeyCtlScope:              "user",
		PassPrefix:               KeyringService,
		WinCredPrefix:            KeyringService,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s keyring: %v; set %s=file to use the encrypted-file store", backend, err, EnvBackend)
	}
	return &KeyringStore{ring: ring, backend: backend}, nil
}

func unavailableHint(backend string) string {
	switch backend {
	case "secret-service", "kwallet":
		return " (no D-Bus session bus: typical over SSH, in containers and CI)"
	case "keychain":
		return " (macOS only)"
	case "wincred":
		return " (Windows only)"
	case "pass":
		return " (the pass command was not found)"
	}
	return ""
}

// newKeyringStoreFrom wraps an open keyring (tests use keyring.NewArrayKeyring).
func newKeyringStoreFrom(ring keyring.Keyring, backend string) *KeyringStore {
	return &KeyringStore{ring: ring, backend: backend}
}

// Backend is the keyring backend name.
func (s *KeyringStore) Backend() string { return s.backend }

// Get implements Store.
func (s *KeyringStore) Get(key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	it, err := s.ring.Get(key)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%s keyring: read %q: %w", s.backend, key, err)
	}
	return it.Data, nil
}

// Set implements Store.
func (s *KeyringStore) Set(key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(data) > MaxValueLen {
		return fmt.Errorf("store: value for %q is %d bytes, the limit is %d", key, len(data), MaxValueLen)
	}
	err := s.ring.Set(keyring.Item{Key: key, Data: data, Label: "tipctl: " + key, Description: "tipctl secret", KeychainNotSynchronizable: true})
	if err != nil {
		return fmt.Errorf("%s keyring: write %q: %w", s.backend, key, err)
	}
	return nil
}

// Delete implements Store.
func (s *KeyringStore) Delete(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.ring.Remove(key)
	if err == nil || errors.Is(err, keyring.ErrKeyNotFound) {
		return nil
	}
	// Backends disagree on how they report a missing item; check.
	if _, gerr := s.ring.Get(key); errors.Is(gerr, keyring.ErrKeyNotFound) {
		return nil
	}
	return fmt.Errorf("%s keyring: delete %q: %w", s.backend, key, err)
}

// Keys implements Store.
func (s *KeyringStore) Keys(prefix string) ([]string, error) {
	all, err := s.ring.Keys()
	if err != nil {
		return nil, fmt.Errorf("%s keyring: list: %w", s.backend, err)
	}
	var out []string
	for _, k := range all {
		if strings.HasPrefix(k, prefix) && checkKey(k) == nil {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}
