package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestDebugTraceRedactsSnapshotDownloadURLs: --debug printed QuickSight's
// snapshot download URLs whole, and such a URL is a bearer credential
// (curl downloads the PDF with it alone). The trace now shows the call
// without the URL's path and query.
func TestDebugTraceRedactsSnapshotDownloadURLs(t *testing.T) {
	// A recorder in front of the sandbox sees the download URLs tipctl uses.
	var mu sync.Mutex
	var downloads []string
	var sb *sandbox.Sandbox
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/snapshot-downloads/") {
			mu.Lock()
			downloads = append(downloads, r.URL.RequestURI())
			mu.Unlock()
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	w, err := world.Default(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if sb, err = sandbox.New(w); err != nil {
		t.Fatal(err)
	}
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", srv.URL); code != 0 {
		t.Fatalf("configure sandbox: %d %s", code, stderr)
	}
	_, trace, code := run(t, "--debug", "quicksight", "snapshot", "--dashboard", "sales-overview", "--as", "alice@example.com",
		"--format", "pdf", "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("snapshot: %d %s", code, trace)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(downloads) == 0 {
		t.Fatal("tipctl downloaded nothing through a download URL")
	}
	for _, d := range downloads {
		// /accounts/ACCOUNT/snapshot-downloads/TOKEN/FILE
		token := strings.Split(strings.SplitN(d, "/snapshot-downloads/", 2)[1], "/")[0]
		if len(token) < 16 || strings.Contains(trace, token) {
			t.Errorf("--debug shows the download token of %s", d)
		}
		if strings.Contains(trace, d) {
			t.Errorf("--debug shows the download URL %s", d)
		}
	}
	if want := "[debug] GET " + srv.URL + "/REDACTED -> 200"; !strings.Contains(trace, want) {
		t.Errorf("no redacted trace line of the download (%q) in:\n%s", want, trace)
	}
}
