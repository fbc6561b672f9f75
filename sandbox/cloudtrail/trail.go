package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/auth"
)

// TrailOptions configure delivery of trail files into a bucket.
type TrailOptions struct {
	Bucket string
	// Put writes one object; Delete removes one (rotation).
	Put    func(bucket, key string, body []byte) error
	Delete func(bucket, key string) error
	// Interval is how often buffered events are delivered (default 5 s; AWS
	// delivers about every 5 minutes).
	Interval time.Duration
	// PerFile bounds the records of one file (default 500).
	PerFile int
	// MaxFiles bounds the files kept; the oldest are deleted (default 1000).
	MaxFiles int
}

// Trail delivers recorded events as CloudTrail log files:
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz,
// each a gzip'd {"Records":[…]}.
type Trail struct {
	rec  *Recorder
	opts TrailOptions

	mu    sync.Mutex
	buf   []*Event
	files []string
	errs  int
	stop  chan struct{}
	done  chan struct{}
}

// StartTrail delivers rec's events into opts.Bucket until Close.
func (r *Recorder) StartTrail(opts TrailOptions) *Trail {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.PerFile <= 0 {
		opts.PerFile = 500
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = 1000
	}
	t := &Trail{rec: r, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	r.OnEvent(t.add)
	go t.loop()
	return t
}

func (t *Trail) add(e *Event) {
	t.mu.Lock()
	t.buf = append(t.buf, e)
	full := len(t.buf) >= t.opts.PerFile
	t.mu.Unlock()
	if full {
		t.deliverBuffered()
	}
}

func (t *Trail) loop() {
	defer close(t.done)
	tick := time.NewTicker(t.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.Flush()
		case <-t.stop:
			t.Flush()
			return
		}
	}
}

// Close delivers what is buffered and stops.
func (t *Trail) Close() {
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	<-t.done
}

// Files lists the keys delivered and still kept, oldest first.
func (t *Trail) Files() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.files...)
}

// Flush delivers the events of every call that has returned now, in files
// of at most PerFile records.
func (t *Trail) Flush() {
	t.rec.Flush()
	t.deliverBuffered()
}

func (t *Trail) deliverBuffered() {
	t.mu.Lock()
	events := t.buf
	t.buf = nil
	t.mu.Unlock()
	for len(events) > 0 {
		n := min(len(events), t.opts.PerFile)
		t.deliver(events[:n])
		events = events[n:]
	}
}

type logFile struct {
	Records []json.RawMessage `json:"Records"`
}

func (t *Trail) deliver(events []*Event) {
	f := logFile{Records: make([]json.RawMessage, len(events))}
	for i, e := range events {
		f.Records[i] = e.JSON()
	}
	body, _ := json.Marshal(f)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(body)
	_ = zw.Close()
	now := t.rec.opts.Now().UTC()
	o := t.rec.opts
	key := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", o.Account, o.Region, now.Format("2006/01/02"),
		o.Account, o.Region, now.Format("20060102T1504Z"), strings.ToLower(auth.RandomID("", 16)))
	if err := t.opts.Put(t.opts.Bucket, key, gz.Bytes()); err != nil {
		t.mu.Lock()
		t.errs++
		t.mu.Unlock()
		return
	}
	t.mu.Lock()
	t.files = append(t.files, key)
	var drop []string
	if over := len(t.files) - t.opts.MaxFiles; over > 0 {
		drop = append(drop, t.files[:over]...)
		t.files = t.files[over:]
	}
	t.mu.Unlock()
	for _, k := range drop {
		_ = t.opts.Delete(t.opts.Bucket, k)
	}
}
