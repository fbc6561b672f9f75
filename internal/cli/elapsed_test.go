package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestElapsedLine: between state changes the live line shows the elapsed
// time, redrawn on each tick; state lines still print; Stop erases it.
func TestElapsedLine(t *testing.T) {
	var out syncBuf
	tick := make(chan time.Time)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := startElapsed(&out, tick, clock)
	if _, err := e.Write([]byte("tipctl: snapshot job j-1: QUEUED\n")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		mu.Lock()
		now = now.Add(4 * time.Second)
		mu.Unlock()
		tick <- now
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	tick <- now // the tick before is drawn once this one is received
	_, _ = e.Write([]byte("tipctl: snapshot job j-1: RUNNING\n"))
	e.Stop()
	got := out.String()
	for _, want := range []string{"snapshot job j-1: QUEUED (4s elapsed)", "snapshot job j-1: QUEUED (12s elapsed)", "\r\x1b[Ktipctl: snapshot job j-1: RUNNING\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
	if strings.HasSuffix(got, "elapsed)") {
		t.Errorf("Stop left the live line: %q", got)
	}
	// Without a terminal there is no progress writer at all.
	app := &App{Stderr: &out}
	if w, stop := app.liveProgress(); w != nil {
		t.Errorf("a live line on a non-terminal")
	} else {
		stop()
	}
}
