// Package console serves the sandbox console at /_sandbox/console: one
// page with embedded static assets (no build step, no third-party code), a
// live timeline of the recorded CloudTrail events over Server-Sent Events,
// trusted-identity-propagation chains drawn as hops with their decoded
// claims (signatures and secrets masked), and the world with a people ×
// resources access matrix. Everything is a GET: the console changes nothing.
package console

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/callctx"
	"github.com/tipctl/tipctl/sandbox/cloudtrail"
)

//go:embed static
var static embed.FS

// Prefix is where the console is served.
const Prefix = "/_sandbox/console"

// Source is what the console shows; the sandbox provides it.
type Source struct {
	Recorder *cloudtrail.Recorder
	// World returns the world view with its access matrix, computed by the
	// services' own evaluation at the time of the call.
	World func() any
}

// Handler serves the console.
type Handler struct {
	src    Source
	assets http.Handler
	stop   chan struct{}
	once   sync.Once
}

// Stop ends the open event streams (the sandbox is shutting down).
func (h *Handler) Stop() { h.once.Do(func() { close(h.stop) }) }

// New returns the console handler.
func New(src Source) *Handler {
	sub, _ := fs.Sub(static, "static")
	return &Handler{src: src, assets: http.StripPrefix(Prefix+"/", http.FileServer(http.FS(sub))), stop: make(chan struct{})}
}

// LoopbackHost reports whether the Host header names the loopback
// interface, so that a page on another site cannot reach the console
// through DNS rebinding.
func LoopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Serves reports whether path belongs to the console.
func Serves(path string) bool { return path == Prefix || strings.HasPrefix(path, Prefix+"/") }

// ServeHTTP serves the page, its assets and its read-only data.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !LoopbackHost(r.Host) {
		http.Error(w, "the console answers only on the loopback interface (Host 127.0.0.1, [::1] or localhost)", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the console is read-only", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	switch strings.TrimPrefix(r.URL.Path, Prefix) {
	case "", "/", "/index.html":
		page, _ := static.ReadFile("static/index.html")
		hd.Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	case "/events":
		h.events(w, r)
	case "/chains":
		writeJSON(w, Chains(h.src.Recorder.Events()))
	case "/world":
		writeJSON(w, h.src.World())
	default:
		h.assets.ServeHTTP(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// View is one timeline entry.
type View struct {
	ID        string             `json:"id"`
	Time      string             `json:"time"`
	Service   string             `json:"service"`
	Action    string             `json:"action"`
	Person    string             `json:"person,omitempty"`
	UserID    string             `json:"user_id,omitempty"`
	Role      string             `json:"role,omitempty"`
	Principal string             `json:"principal,omitempty"`
	Resource  string             `json:"resource,omitempty"`
	Allowed   bool               `json:"allowed"`
	Error     string             `json:"error,omitempty"`
	Message   string             `json:"message,omitempty"`
	Decision  *callctx.Decision  `json:"decision,omitempty"`
	Limits    []callctx.Decision `json:"limits,omitempty"`
	Chain     string             `json:"chain,omitempty"`
	Issued    string             `json:"issued,omitempty"`
	Claims    map[string]any     `json:"claims,omitempty"`
}

// ViewOf summarizes an event for the console.
func ViewOf(e *cloudtrail.Event) View {
	r := &e.Summary
	v := View{ID: r.EventID, Time: e.Time.Format(time.RFC3339Nano), Service: e.Service, Action: strings.TrimSuffix(r.EventSource, ".amazonaws.com") + ":" + r.EventName,
		Person: e.Person, Allowed: r.ErrorCode == "" && e.Decision == nil, Error: r.ErrorCode, Message: r.ErrorMessage, Decision: e.Decision,
		Limits: e.Limits, Chain: e.Chain, Issued: e.Issued, Claims: e.Claims, Principal: r.ARN, Role: r.Role, UserID: r.OnBehalfOf,
		Resource: r.Resource}
	if r.UserType == "WebIdentityUser" {
		v.Principal = r.PrincipalID
	}
	return v
}

// Hop is one exchange of a chain.
type Hop struct {
	Kind   string         `json:"kind"`
	Action string         `json:"action"`
	Role   string         `json:"role,omitempty"`
	Issued string         `json:"issued,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
	OK     bool           `json:"ok"`
}

// Chain is one trusted-identity-propagation chain: the IdP token, the
// exchanges, then the calls made with what they produced.
type Chain struct {
	ID      string         `json:"id"`
	Person  string         `json:"person,omitempty"`
	IDToken map[string]any `json:"id_token,omitempty"`
	Hops    []Hop          `json:"hops"`
	Calls   []View         `json:"calls"`
	Started string         `json:"started"`
}

var hopKinds = map[string]string{"AssumeRoleWithWebIdentity": "bridge session", "CreateTokenWithIAM": "Identity Center token", "AssumeRole": "identity-enhanced session"}

// Chains groups events (newest first, as the recorder returns them) into chains, newest chain first.
func Chains(events []*cloudtrail.Event) []Chain {
	byID := map[string]*Chain{}
	var order []string
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Chain == "" {
			continue
		}
		c, ok := byID[e.Chain]
		if !ok {
			c = &Chain{ID: e.Chain, Hops: []Hop{}, Calls: []View{}, Started: e.Time.Format(time.RFC3339)}
			byID[e.Chain] = c
			order = append(order, e.Chain)
		}
		if c.Person == "" && e.Person != "" {
			c.Person = e.Person
		}
		v := ViewOf(e)
		if kind, ok := hopKinds[e.Summary.EventName]; ok && e.Service != "s3" && (e.Summary.EventName != "AssumeRole" || e.Claims != nil) {
			if e.Summary.EventName == "AssumeRoleWithWebIdentity" {
				c.IDToken = e.Claims
				c.Hops = append(c.Hops, Hop{Kind: kind, Action: v.Action, Role: roleOf(e), Issued: e.Issued, OK: v.Allowed})
			} else {
				c.Hops = append(c.Hops, Hop{Kind: kind, Action: v.Action, Role: roleOf(e), Issued: e.Issued, Claims: e.Claims, OK: v.Allowed})
			}
			continue
		}
		c.Calls = append(c.Calls, v)
	}
	out := make([]Chain, 0, len(order))
	for i := len(order) - 1; i >= 0; i-- {
		out = append(out, *byID[order[i]])
	}
	return out
}

// roleOf is the role whose session the exchange produced.
func roleOf(e *cloudtrail.Event) string {
	if s := e.Summary.RoleArn; s != "" {
		return s[strings.LastIndex(s, "/")+1:]
	}
	return ""
}

// events streams the timeline: the newest backlog first, then live events.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	ch, cancel := h.src.Recorder.Subscribe()
	defer cancel()
	backlog := h.src.Recorder.Events()
	if len(backlog) > 200 {
		backlog = backlog[:200]
	}
	for i := len(backlog) - 1; i >= 0; i-- {
		send(w, backlog[i])
	}
	fl.Flush()
	seen := map[string]bool{}
	for _, e := range backlog {
		seen[e.Summary.EventID] = true
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.stop:
			return
		case e := <-ch:
			if seen[e.Summary.EventID] {
				continue
			}
			send(w, e)
			fl.Flush()
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		}
	}
}

func send(w http.ResponseWriter, e *cloudtrail.Event) {
	b, _ := json.Marshal(ViewOf(e))
	fmt.Fprintf(w, "event: call\ndata: %s\n\n", b)
}
