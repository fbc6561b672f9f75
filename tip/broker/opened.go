package broker

import "sync"

// opened remembers, per store key, the last sealed value this process
// authenticated and what it decrypted to. A Redis hit whose value is
// byte-for-byte the one already opened under the same store key reuses
// that entry instead of decrypting again: identical bytes under the same
// key and encryption key open to the identical entry, so this skips work,
// not a check. Any other value (rotated credentials, a tampered or
// foreign one) goes through the full AES-GCM open.
type opened struct {
	mu  sync.Mutex
	max int
	m   map[string]openedEntry
}

type openedEntry struct {
	sealed string
	entry  *Entry
}

func newOpened(max int) *opened {
	if max <= 0 {
		max = 10000
	}
	return &opened{max: max, m: make(map[string]openedEntry)}
}

// get returns the entry sealed is known to open to under key, or nil.
func (o *opened) get(key, sealed string) *Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	if oe, ok := o.m[key]; ok && oe.sealed == sealed {
		return oe.entry
	}
	return nil
}

// put records that sealed opened to e under key. When full, an arbitrary
// entry is dropped (the map is a cache of work, not of truth).
func (o *opened) put(key, sealed string, e *Entry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.m[key]; !ok && len(o.m) >= o.max {
		for k := range o.m {
			delete(o.m, k)
			break
		}
	}
	o.m[key] = openedEntry{sealed: sealed, entry: e}
}

// forget drops key (its value is gone or was refused).
func (o *opened) forget(keys ...string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		delete(o.m, k)
	}
}
