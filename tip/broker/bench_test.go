package broker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/redis/go-redis/v9"

	"github.com/tipctl/tipctl/internal/redistest"
	"github.com/tipctl/tipctl/tip/broker"
	"github.com/tipctl/tipctl/tip/exchange"
)

// countHook counts the commands a go-redis client sends.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// BenchmarkHit compares, in one run, the cost of a cached request (in
// memory, and through Redis on loopback) with a Redis round trip and with
// one signed AWS call to the sandbox: the direct path.
func BenchmarkHit(b *testing.B) {
	f := newFixture(b, nil)
	alice := f.login(b, "alice@example.com", "alice-sandbox-pw")
	ctx := context.Background()

	b.Run("memory", func(b *testing.B) {
		br, err := broker.New(broker.Config{Exchange: f.xcfg, Verifier: f.verifier})
		if err != nil {
			b.Fatal(err)
		}
		u := alice.user()
		if _, err := br.Credentials(ctx, u); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if s, err := br.Credentials(ctx, u); err != nil || !s.Cached {
				b.Fatal("not a hit", err)
			}
		}
	})
	srv := redistest.Start(b)
	r := f.replica(b, srv, newKey(b), nil)
	hook := &countHook{}
	r.client.AddHook(hook)
	b.Run("redis", func(b *testing.B) {
		u := alice.user()
		if _, err := r.b.Credentials(ctx, u); err != nil {
			b.Fatal(err)
		}
		before := hook.n.Load()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if s, err := r.b.Credentials(ctx, u); err != nil || !s.Cached {
				b.Fatal("not a hit", err)
			}
		}
		b.ReportMetric(float64(hook.n.Load()-before)/float64(b.N), "redis-cmds/op")
	})
	b.Run("redis-ping", func(b *testing.B) {
		for b.Loop() {
			if err := r.client.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis-get", func(b *testing.B) {
		// A value of the size of a sealed credentials entry.
		keys := r.client.Keys(ctx, "tipctl:broker:creds:*").Val()
		if len(keys) != 1 {
			b.Fatalf("%d entries", len(keys))
		}
		b.ReportMetric(float64(len(r.client.Get(ctx, keys[0]).Val())), "value-bytes")
		for b.Loop() {
			if err := r.client.Get(ctx, keys[0]).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("signed-sandbox-call", func(b *testing.B) {
		admin := f.sb.Info()["admin"].(map[string]any)
		cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(f.sb.URL()),
			Credentials: credentials.NewStaticCredentialsProvider(admin["access_key_id"].(string), admin["secret_access_key"].(string), "")}
		c := sts.NewFromConfig(cfg)
		for b.Loop() {
			if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkColdExchange is a request of a person without cached
// credentials: the three calls of the chain against the sandbox plus the
// broker's lock and store, in memory and on Redis, next to the chain run
// directly (exchange.Run, no broker) in the same run. The person signs in
// again outside the timer before each request.
func BenchmarkColdExchange(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	srv := redistest.Start(b)
	mem, err := broker.New(broker.Config{Exchange: f.xcfg, Verifier: f.verifier})
	if err != nil {
		b.Fatal(err)
	}
	red := f.replica(b, srv, newKey(b), nil).b
	fresh := func() *person { return f.login(b, "alice@example.com", "alice-sandbox-pw") }
	for _, br := range []*broker.Broker{mem, red} { // warm connections and code paths
		if _, err := br.Credentials(ctx, fresh().user()); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			tok := fresh().user().IDToken
			b.StartTimer()
			cfg := f.xcfg
			cfg.IDToken = func(context.Context) (string, error) { return tok, nil }
			if _, err := exchange.Run(ctx, cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name string
		br   *broker.Broker
	}{{"memory", mem}, {"redis", red}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				p := fresh()
				_ = c.br.Logout(ctx, p.user().IDToken)
				b.StartTimer()
				if s, err := c.br.Credentials(ctx, p.user()); err != nil || s.Cached {
					b.Fatal("not an exchange", err)
				}
			}
		})
	}
}

// BenchmarkMemoryPerUser is the heap the in-memory broker keeps per
// cached person: n people served, then the heap with the broker against
// the heap once the broker is dropped (the sandbox's own state, which the
// sessions also grow, is in both).
func BenchmarkMemoryPerUser(b *testing.B) {
	const n = 200
	f := newFixture(b, worldWith(b, n))
	ctx := context.Background()
	people := make([]*person, n)
	for i := range people {
		name := fmt.Sprintf("user%04d", i)
		people[i] = f.login(b, name+"@example.com", name+"-pw")
	}
	for b.Loop() {
		br, err := broker.New(broker.Config{Exchange: f.xcfg, Verifier: f.verifier})
		if err != nil {
			b.Fatal(err)
		}
		users := make([]broker.User, n)
		for i, p := range people {
			users[i] = p.user()
		}
		for i := range people {
			if _, err := br.Credentials(ctx, users[i]); err != nil {
				b.Fatal(err)
			}
		}
		var with, without runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&with)
		br = nil
		runtime.GC()
		runtime.ReadMemStats(&without)
		b.ReportMetric(float64(int64(with.HeapAlloc)-int64(without.HeapAlloc))/n, "bytes/user")
		runtime.KeepAlive(users)
		// A next round needs assertions not yet exchanged.
		for _, p := range people {
			if _, err := p.refresh(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkHitInterleaved measures the same five operations as
// BenchmarkHit in alternating rounds and reports each one's median per
// call, so that a load change on a shared machine hits all of them alike.
func BenchmarkHitInterleaved(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	alice := f.login(b, "alice@example.com", "alice-sandbox-pw")
	u := alice.user()
	mem, err := broker.New(broker.Config{Exchange: f.xcfg, Verifier: f.verifier})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := mem.Credentials(ctx, u); err != nil {
		b.Fatal(err)
	}
	srv := redistest.Start(b)
	r := f.replica(b, srv, newKey(b), nil)
	u2 := f.login(b, "alice@example.com", "alice-sandbox-pw").user()
	if _, err := r.b.Credentials(ctx, u2); err != nil {
		b.Fatal(err)
	}
	key := r.client.Keys(ctx, "tipctl:broker:creds:*").Val()[0]
	cacheKey := strings.TrimPrefix(key, "tipctl:broker:")
	admin := f.sb.Info()["admin"].(map[string]any)
	stsc := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(f.sb.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(admin["access_key_id"].(string), admin["secret_access_key"].(string), "")})
	ops := []struct {
		name string
		n    int
		fn   func() error
	}{
		{"memory-hit", 2000, func() error { _, err := mem.Credentials(ctx, u); return err }},
		{"redis-hit", 100, func() error { _, err := r.b.Credentials(ctx, u2); return err }},
		{"redis-ping", 100, func() error { return r.client.Ping(ctx).Err() }},
		{"redis-get", 100, func() error { return r.client.Get(ctx, key).Err() }},
		{"cache-get", 100, func() error { _, err := r.cache.Get(ctx, cacheKey); return err }},
		{"signed-call", 20, func() error { _, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err }},
	}
	per := make([][]float64, len(ops))
	cpu := make([][]float64, len(ops)) // user+system time of this process per call
	for b.Loop() {
		for round := 0; round < 15; round++ {
			// A new order each round: an operation never always follows
			// the same one (a burst of CPU work or of garbage before it).
			for _, i := range rand.Perm(len(ops)) {
				op := ops[i]
				cpu0 := processCPU()
				start := time.Now()
				for range op.n {
					if err := op.fn(); err != nil {
						b.Fatal(op.name, err)
					}
				}
				per[i] = append(per[i], float64(time.Since(start).Nanoseconds())/float64(op.n))
				cpu[i] = append(cpu[i], float64((processCPU()-cpu0).Nanoseconds())/float64(op.n))
			}
		}
	}
	med := map[string]float64{}
	for i, op := range ops {
		slices.Sort(per[i])
		med[op.name] = per[i][len(per[i])/2]
		b.ReportMetric(med[op.name], op.name+"-ns")
		slices.Sort(cpu[i])
		if op.name == "redis-get" || op.name == "redis-hit" || op.name == "cache-get" {
			b.ReportMetric(cpu[i][len(cpu[i])/2], op.name+"-cpu-ns")
		}
	}
	b.ReportMetric(100*med["memory-hit"]/med["signed-call"], "memory-hit-%-of-signed-call")
	b.ReportMetric(med["redis-hit"]/med["redis-get"], "redis-hit/redis-get")
	b.ReportMetric(med["cache-get"]/med["redis-get"], "cache-get/redis-get")
	b.ReportMetric(med["redis-hit"]/med["redis-ping"], "redis-hit/redis-ping")
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
