package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/cloudtrail/cttest"
	"github.com/tipctl/tipctl/sandbox/console"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func get(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	return resp
}

type world struct {
	Matrix struct {
		Resources []string
		Rows      []struct {
			Person string
			Cells  []struct {
				Allowed bool
				Via     string
			}
		}
	}
}

func (w world) cell(person, resource string) (bool, string, bool) {
	for _, r := range w.Matrix.Rows {
		if r.Person != person {
			continue
		}
		for i, res := range w.Matrix.Resources {
			if res == resource {
				return r.Cells[i].Allowed, r.Cells[i].Via, true
			}
		}
	}
	return false, "", false
}

func TestConsoleData(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	base := sb.URL() + console.Prefix

	// The live timeline streams the day as it happens.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if ct := stream.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events Content-Type %q", ct)
	}
	got := make(chan console.View, 100)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v console.View
				if json.Unmarshal([]byte(d), &v) == nil {
					got <- v
				}
			}
		}
		close(got)
	}()

	day := cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", "s3://analytics-data/emea/", "s3://analytics-data/apac/")
	var refused *console.View
	for refused == nil {
		select {
		case v, ok := <-got:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if !v.Allowed && v.Action == "s3:GetDataAccess" {
				refused = &v
			}
		case <-ctx.Done():
			t.Fatal("the refused GetDataAccess never reached the timeline")
		}
	}
	if refused.Person != "alice@example.com" || refused.Decision == nil || refused.Decision.Kind != "access-grants" {
		t.Fatalf("timeline entry %+v", refused)
	}

	var chains []console.Chain
	get(t, base+"/chains", &chains)
	if len(chains) != 1 {
		t.Fatalf("%d chains, want alice's one", len(chains))
	}
	c := chains[0]
	kinds := []string{}
	for _, h := range c.Hops {
		kinds = append(kinds, h.Kind)
	}
	if c.Person != "alice@example.com" || strings.Join(kinds, ",") != "bridge session,Identity Center token,identity-enhanced session" {
		t.Fatalf("chain of %s: %v", c.Person, kinds)
	}
	if c.IDToken["email"] != "alice@example.com" || c.Hops[1].Claims["sub"] != day.UserID {
		t.Fatalf("claims: id_token %v, IdC token %v", c.IDToken, c.Hops[1].Claims)
	}
	b, _ := json.Marshal(chains)
	for _, secret := range []string{day.Enhanced.SecretAccessKey, day.Enhanced.SessionToken} {
		if strings.Contains(string(b), secret) {
			t.Fatal("a secret reached the console")
		}
	}
	if ic, _ := c.Hops[1].Claims["sts:identity_context"].(string); !strings.Contains(ic, "masked") {
		t.Fatalf("the nested identity context is not masked: %q", ic)
	}
	denied := 0
	for _, v := range c.Calls {
		if !v.Allowed {
			denied++
		}
	}
	if denied != 1 || len(c.Calls) < 4 {
		t.Fatalf("chain calls %+v", c.Calls)
	}

	var w world
	get(t, base+"/world", &w)
	for _, tc := range []struct {
		person, resource string
		allowed          bool
	}{
		{"alice@example.com", "s3://analytics-data/emea/", true},
		{"alice@example.com", "s3://analytics-data/apac/", false},
		{"bob@example.com", "s3://analytics-data/apac/", true},
		{"bob@example.com", "s3://analytics-data/emea/", false},
	} {
		ok, via, found := w.cell(tc.person, tc.resource)
		if !found || ok != tc.allowed {
			t.Errorf("%s → %s: allowed=%v (found %v), want %v", tc.person, tc.resource, ok, found, tc.allowed)
		}
		if ok && !strings.Contains(via, "access grant group:") {
			t.Errorf("%s → %s via %q", tc.person, tc.resource, via)
		}
	}
}

func TestConsoleIsReadOnlyAndLoopbackOnly(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	resp := get(t, sb.URL()+console.Prefix, nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("page: %d %v", resp.StatusCode, resp.Header)
	}
	for _, asset := range []string{"/app.js", "/style.css"} {
		if r := get(t, sb.URL()+console.Prefix+asset, nil); r.StatusCode != 200 {
			t.Fatalf("%s: %d", asset, r.StatusCode)
		}
	}
	r, _ := http.NewRequest("GET", sb.URL()+console.Prefix+"/world", nil)
	r.Host = "evil.example:4577"
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), "alice") {
		t.Fatalf("a rebinding Host got %d", resp.StatusCode)
	}
	// A cross-site POST is stopped by the sandbox's control guard; even with
	// the control header the console changes nothing.
	resp, err = http.Post(sb.URL()+console.Prefix+"/world", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without the control header got %d", resp.StatusCode)
	}
	post, _ := http.NewRequest("POST", sb.URL()+console.Prefix+"/world", strings.NewReader("x"))
	post.Header.Set(sandbox.ControlHeader, "1")
	resp, err = http.DefaultClient.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST with the control header got %d", resp.StatusCode)
	}
	for _, h := range []string{"127.0.0.1:1", "localhost", "[::1]:80"} {
		if !console.LoopbackHost(h) {
			t.Errorf("%s is loopback", h)
		}
	}
	for _, h := range []string{"127.0.0.1.nip.io", "10.0.0.1", "example.com:80", ""} {
		if console.LoopbackHost(h) {
			t.Errorf("%s is not loopback", h)
		}
	}
}
