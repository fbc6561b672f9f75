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
}

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

// drain builds every pending capture, in order, and adds the events.
func (r *Recorder) drain() {
	r.buildMu.Lock()
	defer r.buildMu.Unlock()
	r.pmu.Lock()
	batch := r.pending
	r.pending = nil
	r.pmu.Unlock()
	for i, c := range batch {
		r.add(r.build(c))
		putBuf(c.reqBody)
		putBuf(c.respBody)
		batch[i] = nil
	}
}

// Flush builds the calls still waiting, so that the events of every call
// that has returned are in the ring. Readers call it first.
func (r *Recorder) Flush() { r.drain() }
