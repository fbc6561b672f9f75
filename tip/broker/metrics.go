package broker

import "expvar"

// Metrics are the broker's counters, as an expvar.Map the application can
// publish (expvar.Publish("tipctl_broker", b.Metrics().Map)) and serve on
// /debug/vars. They are not published by the broker itself, so several
// brokers can live in one process.
type Metrics struct {
	Map *expvar.Map
	// Exchanges counts runs of the chain (and of the QuickSight path).
	Exchanges *expvar.Int
	// Hits and Misses count lookups answered from the cache or not.
	Hits, Misses *expvar.Int
	// LockWaits counts requests that found another replica exchanging for
	// the same person and waited for its result.
	LockWaits *expvar.Int
	// Fallbacks counts requests served by the process-local path because
	// the shared cache failed; CacheErrors counts shared cache failures.
	Fallbacks, CacheErrors *expvar.Int
	// Refused counts cached entries that failed authentication.
	Refused *expvar.Int
	// Fenced counts writes refused because the writer's lease had expired.
	Fenced *expvar.Int
	// Refreshes counts fresh id_tokens asked of the application.
	Refreshes *expvar.Int
}

func newMetrics() *Metrics {
	m := &Metrics{Map: new(expvar.Map).Init()}
	for name, p := range map[string]**expvar.Int{
		"exchanges": &m.Exchanges, "hits": &m.Hits, "misses": &m.Misses, "lock_waits": &m.LockWaits,
		"fallbacks": &m.Fallbacks, "cache_errors": &m.CacheErrors, "refused": &m.Refused, "fenced": &m.Fenced,
		"idtoken_refreshes": &m.Refreshes,
	} {
		*p = new(expvar.Int)
		m.Map.Set(name, *p)
	}
	return m
}
