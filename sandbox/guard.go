package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of the server's limits (Options overrides them).
const (
	// DefaultHeaderTimeout bounds the time a client may take to send the
	// request line and headers.
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultBodyTimeout is the time a request body may take to arrive,
	// beyond what its size needs at MinBodyRate.
	DefaultBodyTimeout = 30 * time.Second
	// MinBodyRate is the slowest body transfer the sandbox waits for once
	// DefaultBodyTimeout has passed: a large upload gets one more second
	// per MiB.
	MinBodyRate = 1 << 20
	// DefaultIdleTimeout closes keep-alive connections left idle.
	DefaultIdleTimeout = 120 * time.Second
	// MaxHeaderBytes bounds the request line and headers (SigV4 headers and
	// a session token fit in a few KiB; S3 allows 8 KiB of headers).
	MaxHeaderBytes = 64 << 10
)

// ControlHeader must be sent, with the value "1", on every request that
// changes the sandbox through /_sandbox/* (POST, PUT, DELETE). A web page
// cannot set it on a simple cross-origin request, so a page the user
// visits cannot move the clock or inject faults.
const ControlHeader = "X-Tipctl-Sandbox"

// ErrRemoteListen is returned by Start for a non-loopback listen address
// without Options.AllowRemote.
var ErrRemoteListen = errors.New("the address is not a loopback address")

// IsLoopbackListen reports whether a listen address (host:port) only
// accepts connections from this machine. An empty host or a wildcard
// (0.0.0.0, ::) listens on every interface; a name other than localhost
// may resolve anywhere.
func IsLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// endpointFor is the URL clients use for a listener bound to addr: the
// loopback address for a wildcard bind (0.0.0.0, ::), so that issuer URLs
// and ARNs name an address this machine can dial.
func endpointFor(requested string, bound net.Addr) string {
	tcp, ok := bound.(*net.TCPAddr)
	if !ok {
		return "http://" + bound.String()
	}
	if tcp.IP.IsUnspecified() {
		host, _, _ := net.SplitHostPort(requested)
		ip := net.ParseIP(host)
		if ip != nil && ip.To4() == nil { // "::"
			return fmt.Sprintf("http://[::1]:%d", tcp.Port)
		}
		return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
	}
	return "http://" + tcp.String()
}

// limitBody gives r's body a read deadline: bodyTimeout plus one second
// per MinBodyRate bytes received, so a slow (or stalled) body ends with a
// read error and its connection is closed, while a large upload at a
// reasonable rate is not cut. The deadline is lifted once the body is read
// to its end: the server then watches the connection for a client that
// goes away, and a handler that runs long must not look aborted. A body
// not read to its end keeps the deadline, which also bounds the server's
// discarding of its rest after the handler.
func limitBody(w http.ResponseWriter, r *http.Request, bodyTimeout time.Duration) {
	if bodyTimeout <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return
	}
	rc := http.NewResponseController(w)
	b := &deadlineBody{ReadCloser: r.Body, rc: rc, start: time.Now(), timeout: bodyTimeout}
	if rc.SetReadDeadline(b.deadline()) != nil {
		return // not a server connection (a recorder in a unit test)
	}
	b.next = MinBodyRate
	r.Body = b
}

type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	start   time.Time
	timeout time.Duration
	n, next int64
	done    bool
}

// restartBodyDeadline gives r's body its full time again from now (after
// a delay the sandbox itself injected).
func restartBodyDeadline(r *http.Request) {
	if b, ok := r.Body.(*deadlineBody); ok && !b.done {
		b.start = time.Now().Add(-time.Duration(b.n/MinBodyRate) * time.Second)
		_ = b.rc.SetReadDeadline(b.deadline())
	}
}

func (b *deadlineBody) deadline() time.Time {
	return b.start.Add(b.timeout + time.Duration(b.n/MinBodyRate)*time.Second)
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF && !b.done:
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil:
		// A timeout (or a broken connection) keeps its deadline, so that the
		// server's discarding of the rest of the body fails as fast.
	case b.n >= b.next:
		b.next = b.n + MinBodyRate
		_ = b.rc.SetReadDeadline(b.deadline())
	}
	return n, err
}

// loopbackHost reports whether a Host header names this machine's
// loopback: 127.0.0.1, localhost or [::1], with or without a port.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// guardControl refuses /_sandbox/* requests a web page could make: a Host
// that is not loopback (DNS rebinding: evil.example resolving to 127.0.0.1
// would otherwise read /_sandbox/info, keys and passwords included), and a
// state change without ControlHeader or from another origin (a
// cross-origin text/plain POST needs no preflight). It writes the refusal
// and returns false.
func guardControl(w http.ResponseWriter, r *http.Request) bool {
	if !loopbackHost(r.Host) {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf(
			"the control endpoints answer only to a loopback Host (127.0.0.1, localhost or [::1]), not %q", truncate(r.Host, 100))})
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	}
	if r.Header.Get(ControlHeader) != "1" {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf(
			"a %s to %s must carry the header %s: 1 (web pages cannot send it, so they cannot change the sandbox)", r.Method, r.URL.Path, ControlHeader)})
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "http" || !strings.EqualFold(u.Host, r.Host) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf(
				"a %s to %s from the origin %q is refused: only the sandbox's own origin may change it", r.Method, r.URL.Path, truncate(o, 100))})
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// replay is a body that yields what was read of a request body, then the
// error that ended the read (a timeout, a broken connection), so that the
// handler sees an incomplete body as incomplete.
func replay(read []byte, err error) io.ReadCloser {
	if err == nil {
		return io.NopCloser(bytes.NewReader(read))
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(read), errReader{err}))
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
