package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// elapsed is the progress writer of long-running commands on a terminal:
// the status lines written to it are printed as usual, and the last one
// stays on a live line that shows the time elapsed, redrawn every second,
// so a slow job is never silent.
type elapsed struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	last  string
	live  bool
	stop  chan struct{}
	done  chan struct{}
}

// startElapsed starts the live line on w, redrawn on each tick; stop it
// with Stop. A nil w gives a nil writer (no progress at all).
func startElapsed(w io.Writer, tick <-chan time.Time, now func() time.Time) *elapsed {
	e := &elapsed{w: w, start: now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for {
			select {
			case t := <-tick:
				e.redraw(t)
			case <-e.stop:
				return
			}
		}
	}()
	return e
}

// Write prints status lines above the live line and keeps the last one.
func (e *elapsed) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clearLocked()
	if _, err := e.w.Write(p); err != nil {
		return 0, err
	}
	if lines := strings.Split(strings.TrimRight(string(p), "\n"), "\n"); len(lines) > 0 {
		e.last = strings.TrimPrefix(lines[len(lines)-1], "tipctl: ")
	}
	return len(p), nil
}

// redraw draws the live line as of the tick's time t (not the time the
// goroutine gets to run, which a busy machine delays).
func (e *elapsed) redraw(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clearLocked()
	d := t.Sub(e.start).Truncate(time.Second)
	var b bytes.Buffer
	fmt.Fprintf(&b, "tipctl: %s (%s elapsed)", sanitizeLine(e.last), d)
	_, _ = e.w.Write(b.Bytes())
	e.live = true
}

// clearLocked erases the live line.
func (e *elapsed) clearLocked() {
	if e.live {
		_, _ = io.WriteString(e.w, "\r\x1b[K")
		e.live = false
	}
}

// Stop ends the live line and erases it.
func (e *elapsed) Stop() {
	close(e.stop)
	<-e.done
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clearLocked()
}

// sanitizeLine keeps a status line to printable characters.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// liveProgress is app.progress() with a live elapsed-time line: nil when
// stderr is not a terminal. Call the returned stop when the work ends.
func (a *App) liveProgress() (io.Writer, func()) {
	w := a.progress()
	if w == nil {
		return nil, func() {}
	}
	t := time.NewTicker(time.Second)
	e := startElapsed(w, t.C, time.Now)
	return e, func() { t.Stop(); e.Stop() }
}
