package cloudtrail

import (
	"net/url"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/callctx"
)

// capture is what the request path keeps of one call: raw bytes and a few
// strings, no decoding. The event is built from it off the request path
// (see Recorder.drain), in the order the calls ended.
type capture struct {
	service, op string
	now         time.Time

	method, host, remoteAddr, userAgent string
	url                                 url.URL
	reqType, target                     string
	reqBody                             []byte // nil when not teed or over maxCapture
	teed                                bool

	status              int
	capOn, respOver     bool
	respBody            []byte
	code, message       string
	respType, requestID string

	snap callctx.Snapshot
	// callerLin is the caller's credential lineage, looked up when the
	// builder reached the call (in order), so that building later gives
	// the same event.
	callerLin *lineage
	// issued and chain are what learn found (in call order): the access
	// key id the call returned and the TIP chain it belongs to.
	issued, chain string
}

// lazyMaxBody bounds the bodies a capture may keep while it waits, unbuilt,
// in the ring.
const lazyMaxBody = 2048

// lazyMaxIssuing is lazyMaxBody for calls that issue credentials or tokens
// (their replies kept without secrets, see stripSecrets): an AssumeRole
// with ProvidedContexts carries a signed identity context.
const lazyMaxIssuing = 4096

// maxPending bounds the calls waiting to be built. When it is reached the
// request that finds it full builds the backlog itself: recording slows
// down rather than grow without bound or drop events.
const maxPending = 256

// bufPool recycles the capture buffers of request and reply bodies.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getBuf() []byte { return (*bufPool.Get().(*[]byte))[:0] }

func putBuf(b []byte) {
	if b != nil && cap(b) <= maxCapture {
		b = b[:0]
		bufPool.Put(&b)
	}
}

// enqueue hands a capture to the builder.
func (r *Recorder) enqueue(c *capture) {
	r.pmu.Lock()
	r.pending = append(r.pending, c)
	full := len(r.pending) >= maxPending
	start := !r.building && !full
	if start {
		r.building = true
	}
	r.pmu.Unlock()
	switch {
	case full:
		r.drain()
	case start:
		go r.builder()
	}
}

// builder builds pending captures until there are none.
func (r *Recorder) builder() {
	for {
		r.drain()
		r.pmu.Lock()
		if len(r.pending) == 0 {
			r.building = false
			r.pmu.Unlock()
			return
		}
		r.pmu.Unlock()
	}
}

// drain takes every pending capture, in order, and learns from each what
// later calls depend on (the lineage of credentials and tokens it issued,
// see learn). Every call then waits in the ring as its capture and is
// built only when the events are read (Events, LookupEvents, the console):
// a sandbox nobody audits pays only for the capture. Calls are built at
// once while someone watches events live, and when their bodies are too
// large to keep.
func (r *Recorder) drain() {
	r.buildMu.Lock()
	defer r.buildMu.Unlock()
	r.pmu.Lock()
	batch := r.pending
	r.pending = nil
	r.pmu.Unlock()
	if len(batch) == 0 {
		return
	}
	eager := r.observed()
	for i, c := range batch {
		batch[i] = nil
		if p := c.snap.Principal; p != nil {
			c.callerLin = r.lineageOf(p.AccessKeyID)
		}
		r.learn(c)
		limit := lazyMaxBody
		if c.issues() {
			c.respBody = stripSecrets(c.respBody)
			c.reqBody = stripRequestSecrets(c.reqBody)
			limit = lazyMaxIssuing
		}
		if eager || len(c.reqBody)+len(c.respBody) > limit {
			r.add(r.build(c))
			putBuf(c.reqBody)
			putBuf(c.respBody)
			continue
		}
		req, resp := c.reqBody, c.respBody
		c.reqBody, c.respBody = keep(req), keep(resp)
		if !r.addUnbuilt(&Event{Time: c.now, Service: c.service, unbuilt: c}) {
			r.add(r.build(c))
		}
	}
}

// issues reports a call whose reply may carry credentials or tokens.
func (c *capture) issues() bool {
	return c.issued != "" || issuing[c.op] || (c.capOn && c.status < 300 && (fieldIn(c.respBody, "AccessKeyId") != "" || fieldIn(c.respBody, "IdToken") != ""))
}

// keep copies a pooled buffer to an exact-size one and returns the pooled one.
func keep(b []byte) []byte {
	if b == nil {
		return nil
	}
	out := append([]byte(nil), b...)
	putBuf(b)
	return out
}

// complete builds the events of evs still waiting as captures.
func (r *Recorder) complete(evs []*Event) {
	r.buildMu.Lock()
	defer r.buildMu.Unlock()
	for _, e := range evs {
		if c := e.unbuilt; c != nil {
			built := r.build(c)
			built.seq = e.seq
			*e = *built
		}
	}
}

// Flush builds the calls still waiting, so that the events of every call
// that has returned are in the ring. Readers call it first.
func (r *Recorder) Flush() { r.drain() }
