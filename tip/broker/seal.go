package broker

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// sealer encrypts entries with AES-256-GCM under the application's key.
// The additional data binds a ciphertext to the store key it was written
// under and to the key's id, so an entry copied to another user's key, or
// written under another application's key, fails to open.
type sealer struct {
	aead  cipher.AEAD
	keyID [8]byte
}

const sealVersion = 2

// ErrRefused means a stored entry failed to authenticate: tampered with,
// moved to another key, or sealed under another encryption key.
var ErrRefused = errors.New("broker: a cached entry failed authentication and was refused")

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("broker: the encryption key must be 32 bytes (AES-256), got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &sealer{aead: aead}
	id := sha256.Sum256(append([]byte("tipctl-broker-key-id\x00"), key...))
	copy(s.keyID[:], id[:8])
	return s, nil
}

func (s *sealer) aad(storeKey string) []byte {
	b := make([]byte, 0, 32+len(storeKey))
	b = append(b, "tipctl-broker-v1\x00"...)
	b = append(b, s.keyID[:]...)
	return append(b, storeKey...)
}

// seal returns version(1) | key id(8) | nonce(12) | ciphertext.
func (s *sealer) seal(storeKey string, e *Entry) ([]byte, error) {
	plain := encodeEntry(e)
	out := make([]byte, 1+8+s.aead.NonceSize(), 1+8+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:9], s.keyID[:])
	if _, err := rand.Read(out[9:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[9:], plain, s.aad(storeKey)), nil
}

func (s *sealer) open(storeKey string, b []byte) (*Entry, error) {
	ns := s.aead.NonceSize()
	if len(b) < 1+8+ns+s.aead.Overhead() || b[0] != sealVersion {
		return nil, fmt.Errorf("%w: not a sealed entry", ErrRefused)
	}
	if string(b[1:9]) != string(s.keyID[:]) {
		return nil, fmt.Errorf("%w: sealed under another encryption key", ErrRefused)
	}
	plain, err := s.aead.Open(nil, b[9:9+ns], b[9+ns:], s.aad(storeKey))
	if err != nil {
		return nil, fmt.Errorf("%w: tampered with or moved from another key", ErrRefused)
	}
	e, ok := decodeEntry(plain)
	if !ok {
		return nil, fmt.Errorf("%w: undecodable", ErrRefused)
	}
	return e, nil
}

// encodeEntry is a compact binary form of e: length-prefixed strings and
// varints (JSON decoding was most of a Redis hit's CPU).
func encodeEntry(e *Entry) []byte {
	b := make([]byte, 0, 64+len(e.AccessKeyID)+len(e.SecretAccessKey)+len(e.SessionToken)+len(e.AssumedRoleArn)+len(e.UserID)+len(e.IdentityStoreID)+len(e.Used))
	for _, s := range []string{e.AccessKeyID, e.SecretAccessKey, e.SessionToken, e.AssumedRoleArn, e.UserID, e.IdentityStoreID, e.Used} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	var exp int64
	if !e.Expires.IsZero() {
		exp = e.Expires.UnixNano()
	}
	b = binary.AppendVarint(b, exp)
	return binary.AppendVarint(b, e.Fence)
}

func decodeEntry(b []byte) (*Entry, bool) {
	e := &Entry{}
	// One string holds every field; the fields are substrings of it.
	all := string(b)
	off := 0
	for _, p := range []*string{&e.AccessKeyID, &e.SecretAccessKey, &e.SessionToken, &e.AssumedRoleArn, &e.UserID, &e.IdentityStoreID, &e.Used} {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		*p = all[off+k : off+k+int(n)]
		b = b[k+int(n):]
		off += k + int(n)
	}
	exp, k := binary.Varint(b)
	if k <= 0 {
		return nil, false
	}
	if exp != 0 {
		e.Expires = time.Unix(0, exp)
	}
	fence, k2 := binary.Varint(b[k:])
	if k2 <= 0 || k+k2 != len(b) {
		return nil, false
	}
	e.Fence = fence
	return e, true
}
