package broker

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// Entry is what the broker caches: a person's identity-enhanced
// credentials under their credentials key, or, under a principal key, which
// Identity Center user an IdP principal (iss, sub) maps to.
type Entry struct {
	AccessKeyID     string    `json:"ak,omitempty"`
	SecretAccessKey string    `json:"sk,omitempty"`
	SessionToken    string    `json:"st,omitempty"`
	Expires         time.Time `json:"exp,omitempty"`
	AssumedRoleArn  string    `json:"arn,omitempty"`
	// UserID is the Identity Center user (or, on the QuickSight path, the
	// QuickSight user) the credentials carry.
	UserID          string `json:"uid"`
	IdentityStoreID string `json:"isid,omitempty"`
	// Used is the SHA-256 of the last IdP assertion sent to
	// CreateTokenWithIAM for this principal: Identity Center refuses a
	// second exchange of one assertion, so the next exchange asks the
	// application for a fresh id_token.
	Used string `json:"used,omitempty"`
	// Fence is the fencing token of the lock under which it was written.
	Fence int64 `json:"fence,omitempty"`

	// key is the credentials key of a verified token's user (in-process only).
	key string
}

// Item is an entry to store with its time to live.
type Item struct {
	Key   string
	Entry *Entry
	TTL   time.Duration
}

// Lock is a held lease on a key.
type Lock struct {
	Key string
	// Token identifies the holder; Fence is its increasing fencing number.
	Token string
	Fence int64
}

// ErrLockLost is returned by a fenced Put or Extend whose lease has
// expired or been taken over: the write is refused.
var ErrLockLost = errors.New("broker: the exchange lock's lease was lost")

// Cache is the store behind the broker. Memory (the default) and Redis
// implement it. Get returns (nil, nil) on a miss. Put with a lock writes
// only while that lock is still held (fencing). TryLock returns (nil, nil)
// when another holder has the key.
type Cache interface {
	Get(ctx context.Context, key string) (*Entry, error)
	Put(ctx context.Context, lock *Lock, items ...Item) error
	Delete(ctx context.Context, keys ...string) error
	TryLock(ctx context.Context, key string, lease time.Duration) (*Lock, error)
	Extend(ctx context.Context, l *Lock, lease time.Duration) error
	Unlock(ctx context.Context, l *Lock) error
}

// Memory is an in-process Cache: a bounded LRU of entries, each dropped
// when its TTL ends, and leases held in a map.
type Memory struct {
	max int
	now func() time.Time

	mu    sync.Mutex
	ll    *list.List
	items map[string]*list.Element
	locks map[string]memLock
	fence int64
}

type memItem struct {
	key   string
	entry *Entry
	until time.Time
}

type memLock struct {
	token string
	until time.Time
}

// NewMemory returns an LRU cache of at most maxEntries entries (10000 when
// maxEntries <= 0).
func NewMemory(maxEntries int) *Memory {
	if maxEntries <= 0 {
		maxEntries = 10000
	}
	return &Memory{max: maxEntries, now: time.Now, ll: list.New(), items: map[string]*list.Element{}, locks: map[string]memLock{}}
}

// Len is the number of entries held (expired ones included until touched).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ll.Len()
}

// Get returns the entry under key, or nil. Entries are immutable once
// stored (Put copies them): the caller must not modify the one returned.
func (m *Memory) Get(_ context.Context, key string) (*Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, nil
	}
	it := el.Value.(*memItem)
	if !m.now().Before(it.until) {
		m.ll.Remove(el)
		delete(m.items, key)
		return nil, nil
	}
	m.ll.MoveToFront(el)
	return it.entry, nil
}

// Put stores items; with a lock, only while the lock is held.
func (m *Memory) Put(_ context.Context, l *Lock, items ...Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if l != nil && !m.holds(l, now) {
		return ErrLockLost
	}
	for _, in := range items {
		if in.TTL <= 0 {
			continue
		}
		e := *in.Entry
		it := &memItem{key: in.Key, entry: &e, until: now.Add(in.TTL)}
		if el, ok := m.items[in.Key]; ok {
			el.Value = it
			m.ll.MoveToFront(el)
			continue
		}
		m.items[in.Key] = m.ll.PushFront(it)
		for m.ll.Len() > m.max {
			old := m.ll.Back()
			m.ll.Remove(old)
			delete(m.items, old.Value.(*memItem).key)
		}
	}
	return nil
}

// Delete drops keys.
func (m *Memory) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if el, ok := m.items[k]; ok {
			m.ll.Remove(el)
			delete(m.items, k)
		}
	}
	return nil
}

// Clear drops every entry (not the leases).
func (m *Memory) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ll.Init()
	m.items = map[string]*list.Element{}
}

func (m *Memory) holds(l *Lock, now time.Time) bool {
	cur, ok := m.locks[l.Key]
	return ok && cur.token == l.Token && now.Before(cur.until)
}

// TryLock takes key's lease unless another holder has it.
func (m *Memory) TryLock(_ context.Context, key string, lease time.Duration) (*Lock, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if cur, ok := m.locks[key]; ok && now.Before(cur.until) {
		return nil, nil
	}
	m.fence++
	l := &Lock{Key: key, Token: randomToken(), Fence: m.fence}
	m.locks[key] = memLock{token: l.Token, until: now.Add(lease)}
	return l, nil
}

// Extend renews a held lease.
func (m *Memory) Extend(_ context.Context, l *Lock, lease time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !m.holds(l, now) {
		return ErrLockLost
	}
	m.locks[l.Key] = memLock{token: l.Token, until: now.Add(lease)}
	return nil
}

// Unlock releases a lease if still held.
func (m *Memory) Unlock(_ context.Context, l *Lock) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.locks[l.Key]; ok && cur.token == l.Token {
		delete(m.locks, l.Key)
	}
	return nil
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
