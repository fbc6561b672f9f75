package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Cache on Redis or Valkey, shared by every replica of an
// application. Entries are sealed with AES-256-GCM under a key the
// application holds (it never reaches Redis); each expires with the
// credentials it holds. Exchange locks are leases (SET NX PX) whose value
// carries a fencing number from INCR; a fenced write is a Lua script that
// writes only while the writer's lease is still in place, so a replica
// whose lease ran out cannot overwrite the entry of the replica that took
// over. Keys of one broker share a prefix; a Redis Cluster is not
// supported (the scripts touch keys of several slots).
type Redis struct {
	client redis.UniversalClient
	seal   *sealer
	prefix string
	opened *opened
}

// RedisOptions configure NewRedis.
type RedisOptions struct {
	// Client is a go-redis client (redis.NewClient, a Sentinel failover
	// client); it is not closed by the cache.
	Client redis.UniversalClient
	// Key is the 32-byte AES-256 key entries are sealed with. Every replica
	// needs the same key; keep it in the application's secret store.
	Key []byte
	// Prefix of every key (default "tipctl:broker:"), so applications can
	// share a Redis.
	Prefix string
	// MaxOpened bounds how many store keys remember their last
	// authenticated value, so a hit on an unchanged entry skips the AES-GCM
	// open (default 10000; about 1.5 KB each).
	MaxOpened int
}

// NewRedis returns a Redis cache.
func NewRedis(o RedisOptions) (*Redis, error) {
	if o.Client == nil {
		return nil, errors.New("broker: NewRedis needs a go-redis client")
	}
	s, err := newSealer(o.Key)
	if err != nil {
		return nil, err
	}
	p := o.Prefix
	if p == "" {
		p = "tipctl:broker:"
	}
	return &Redis{client: o.Client, seal: s, prefix: p, opened: newOpened(o.MaxOpened)}, nil
}

// NewRedisClient returns a go-redis client for a redis:// or rediss:// URL
// with short timeouts, so that an unreachable Redis is noticed in
// milliseconds rather than seconds.
func NewRedisClient(url string) (*redis.Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("broker: bad Redis URL: %w", err)
	}
	if o.DialTimeout == 0 || o.DialTimeout > time.Second {
		o.DialTimeout = time.Second
	}
	if o.ReadTimeout == 0 || o.ReadTimeout > time.Second {
		o.ReadTimeout, o.WriteTimeout = time.Second, time.Second
	}
	o.MaxRetries = 1
	o.DialerRetries = 1 // default 5 tries, 100 ms apart, per request
	o.DisableIdentity = true
	return redis.NewClient(o), nil
}

func (r *Redis) key(k string) string { return r.prefix + k }

// Get opens the entry under key: one GET. A stored entry that fails to
// open is refused: the error matches ErrRefused and the broker treats it
// as a miss. The value last authenticated under key is remembered, so an
// unchanged entry is compared, not decrypted again.
func (r *Redis) Get(ctx context.Context, key string) (*Entry, error) {
	k := r.key(key)
	v, err := r.client.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		r.opened.forget(k)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if r.opened == nil {
		return r.seal.open(k, []byte(v))
	}
	if e := r.opened.get(k, v); e != nil {
		return e, nil
	}
	e, err := r.seal.open(k, []byte(v))
	if err != nil {
		r.opened.forget(k)
		return nil, err
	}
	r.opened.put(k, v, e)
	return e, nil
}

// putScript: KEYS[1] the lock ("" for an unfenced write), KEYS[2..] the
// entries; ARGV[1] the lock token, then value and TTL (ms) per entry.
var putScript = redis.NewScript(`
if KEYS[1] ~= "" and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2*i-2], 'PX', ARGV[2*i-1])
end
return 1`)

// Put seals and stores items in one round trip; with a lock, only while it
// is held.
func (r *Redis) Put(ctx context.Context, l *Lock, items ...Item) error {
	keys := []string{""}
	args := []any{""}
	if l != nil {
		keys[0], args[0] = r.key(l.Key), l.Token
	}
	for _, it := range items {
		ms := it.TTL.Milliseconds()
		if ms <= 0 {
			continue
		}
		k := r.key(it.Key)
		b, err := r.seal.seal(k, it.Entry)
		if err != nil {
			return err
		}
		keys = append(keys, k)
		args = append(args, b, ms)
	}
	if len(keys) == 1 && l == nil {
		return nil
	}
	n, err := putScript.Run(ctx, r.client, keys, args...).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrLockLost
	}
	return nil
}

// Delete removes keys.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = r.key(k)
	}
	r.opened.forget(ks...)
	return r.client.Del(ctx, ks...).Err()
}

// lockScript takes a fencing number and the lease in one round trip.
var lockScript = redis.NewScript(`
local f = redis.call('INCR', KEYS[2])
local v = f .. '.' .. ARGV[1]
if redis.call('SET', KEYS[1], v, 'NX', 'PX', ARGV[2]) then return v end
return false`)

// TryLock takes key's lease unless another replica holds it.
func (r *Redis) TryLock(ctx context.Context, key string, lease time.Duration) (*Lock, error) {
	v, err := lockScript.Run(ctx, r.client, []string{r.key(key), r.key("fence")}, randomToken(), lease.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f, _, _ := strings.Cut(v, ".")
	fence, _ := strconv.ParseInt(f, 10, 64)
	return &Lock{Key: key, Token: v, Fence: fence}, nil
}

var extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// Extend renews a held lease.
func (r *Redis) Extend(ctx context.Context, l *Lock, lease time.Duration) error {
	n, err := extendScript.Run(ctx, r.client, []string{r.key(l.Key)}, l.Token, lease.Milliseconds()).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrLockLost
	}
	return nil
}

var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Unlock releases a lease if this holder still has it.
func (r *Redis) Unlock(ctx context.Context, l *Lock) error {
	return unlockScript.Run(ctx, r.client, []string{r.key(l.Key)}, l.Token).Err()
}

// Ping is one round trip to Redis.
func (r *Redis) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }
