package broker_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/internal/redistest"
	"github.com/tipctl/tipctl/tip/broker"
)

// BenchmarkHitPerCall alternates, call by call and in a rotating order, a
// bare go-redis GET of the sealed credentials entry, the cache's Get
// (GET, then the memo of the value already authenticated), the same Get
// authenticating and decrypting every time, and a broker hit, and reports
// each one's median and mean per-call latency. Load changes on a shared
// machine hit all four alike; a call preempted by another process moves
// a median little and a mean a lot.
func BenchmarkHitPerCall(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	srv := redistest.Start(b)
	r := f.replica(b, srv, newKey(b), nil)
	u := f.login(b, "alice@example.com", "alice-sandbox-pw").user()
	if _, err := r.b.Credentials(ctx, u); err != nil {
		b.Fatal(err)
	}
	key := r.client.Keys(ctx, "tipctl:broker:creds:*").Val()[0]
	cacheKey := strings.TrimPrefix(key, "tipctl:broker:")
	full := broker.WithoutOpenedMemo(r.cache)
	names := []string{"get", "cache-get", "cache-get-open", "hit"}
	ops := []func() error{
		func() error { return r.client.Get(ctx, key).Err() },
		func() error { _, err := r.cache.Get(ctx, cacheKey); return err },
		func() error { _, err := full.Get(ctx, cacheKey); return err },
		func() error {
			s, err := r.b.Credentials(ctx, u)
			if err == nil && !s.Cached {
				b.Fatal("not a hit")
			}
			return err
		},
	}
	per := make([][]time.Duration, len(ops))
	n := 0
	for b.Loop() {
		for i := range ops {
			j := (i + n) % len(ops)
			start := time.Now()
			if err := ops[j](); err != nil {
				b.Fatal(names[j], err)
			}
			per[j] = append(per[j], time.Since(start))
		}
		n++
	}
	med := make([]float64, len(ops))
	for i := range per {
		var sum time.Duration
		for _, d := range per[i] {
			sum += d
		}
		slices.Sort(per[i])
		med[i] = float64(per[i][len(per[i])/2].Nanoseconds())
		b.ReportMetric(med[i], names[i]+"-p50-ns")
		b.ReportMetric(float64(sum.Nanoseconds())/float64(len(per[i])), names[i]+"-mean-ns")
	}
	b.ReportMetric(med[3]/med[0], "hit/get-p50")
}
