package cloudtrail

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// A stalled builder never lets the waiting calls grow past maxPending: the
// call that finds the queue full builds the backlog itself, in order.
func TestPendingIsBounded(t *testing.T) {
	r := New(Options{Size: 2 * maxPending, Account: "123456789012", Region: "us-east-1"})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	r.pmu.Lock()
	r.building = true // as if a builder were running but not scheduled
	r.pmu.Unlock()
	for i := 0; i < maxPending; i++ {
		r.Serve("example", h, httptest.NewRecorder(), httptest.NewRequest("GET", "/op"+strconv.Itoa(i), nil))
	}
	r.pmu.Lock()
	n := len(r.pending)
	r.pmu.Unlock()
	if n != 0 {
		t.Fatalf("%d calls wait; the call that filled the queue should have built them", n)
	}
	r.mu.Lock()
	count := r.count
	newest := r.ring[(r.next-1+len(r.ring))%len(r.ring)]
	r.mu.Unlock()
	if count != maxPending || newest.Summary.EventName != "GET /op"+strconv.Itoa(maxPending-1) {
		t.Fatalf("%d events, newest %q", count, newest.Summary.EventName)
	}
}

// Every call that has returned is in Events, in the order the calls ended,
// however many run at once.
func TestEventsSeeEveryReturnedCall(t *testing.T) {
	r := New(Options{Size: 5000, Account: "123456789012", Region: "us-east-1"})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				r.Serve("example", h, httptest.NewRecorder(), httptest.NewRequest("GET", "/op", nil))
			}
		}()
	}
	wg.Wait()
	evs := r.Events()
	if len(evs) != 2000 {
		t.Fatalf("%d events after 2000 calls returned", len(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].seq >= evs[i-1].seq {
			t.Fatalf("events out of order at %d", i)
		}
	}
}
