package credserver

import (
	"net/http"
	"testing"
	"time"
)

// BenchmarkCachedRequest measures one authorized request answered from the
// cache, over loopback HTTP.
func BenchmarkCachedRequest(b *testing.B) {
	s, err := New(Options{Provider: &fakeProvider{now: time.Now, life: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Shutdown(b.Context())
	req, _ := http.NewRequest(http.MethodGet, s.URL(), nil)
	req.Header.Set("Authorization", s.Token())
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
