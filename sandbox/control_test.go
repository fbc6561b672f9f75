package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func control(t *testing.T, sb *sandbox.Sandbox, method, path, host string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, sb.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestControlEndpointsRefuseWebPages: any page the user visited could move
// the clock or inject faults with a cross-origin text/plain POST (no
// preflight), and read /_sandbox/info (keys, passwords) through DNS
// rebinding. State changes now need X-Tipctl-Sandbox and the sandbox's own
// origin; every control endpoint needs a loopback Host.
func TestControlEndpointsRefuseWebPages(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	host := strings.TrimPrefix(sb.URL(), "http://")
	clockMoved := func() bool { return sb.Env.Now().After(time.Now().Add(time.Hour)) }
	const advance = `{"advance":"24h"}`

	page := map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}
	if status, body := control(t, sb, "POST", "/_sandbox/clock", "", page, advance); status != 403 || !strings.Contains(body, sandbox.ControlHeader) {
		t.Errorf("cross-origin text/plain POST to the clock: %d %s", status, body)
	}
	if status, _ := control(t, sb, "POST", "/_sandbox/faults", "", page, `{"service":"sts","delay":"30s"}`); status != 403 {
		t.Errorf("cross-origin POST to the faults: %d", status)
	}
	if status, _ := control(t, sb, "DELETE", "/_sandbox/stats", "", map[string]string{"Origin": "http://evil.example"}, ""); status != 403 {
		t.Errorf("cross-origin DELETE of the stats: %d", status)
	}
	// A page that somehow sets the header is still another origin.
	withHeader := map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:9", sandbox.ControlHeader: "1"}
	if status, body := control(t, sb, "POST", "/_sandbox/clock", "", withHeader, advance); status != 403 || !strings.Contains(body, "origin") {
		t.Errorf("POST from another origin with the header: %d %s", status, body)
	}
	if clockMoved() {
		t.Fatal("a refused request moved the clock")
	}
	if d := sb.Env.Faults.Delay("sts"); d != 0 {
		t.Fatalf("a refused request set a fault: %v", d)
	}

	// DNS rebinding: the page's own name, resolved to 127.0.0.1.
	for _, path := range []string{"/_sandbox/info", "/_sandbox/health", "/_sandbox/stats"} {
		status, body := control(t, sb, "GET", path, "evil.example:"+host[strings.LastIndexByte(host, ':')+1:], nil, "")
		if status != 403 || strings.Contains(body, "secret_access_key") || strings.Contains(body, "password") {
			t.Errorf("GET %s with Host evil.example: %d %s", path, status, body)
		}
	}

	// The sandbox's own clients: loopback Host, the header, same origin or none.
	for _, h := range []string{"", "localhost" + host[strings.LastIndexByte(host, ':'):]} {
		status, body := control(t, sb, "GET", "/_sandbox/info", h, nil, "")
		var info map[string]any
		if status != 200 || json.Unmarshal([]byte(body), &info) != nil || info["admin"] == nil {
			t.Errorf("GET /_sandbox/info with Host %q: %d %s", h, status, body)
		}
	}
	ok := map[string]string{"Content-Type": "application/json", sandbox.ControlHeader: "1", "Origin": sb.URL()}
	if status, body := control(t, sb, "POST", "/_sandbox/clock", "", ok, advance); status != 200 || !clockMoved() {
		t.Errorf("the sandbox's own client: %d %s, clock moved: %v", status, body, clockMoved())
	}
}

// TestListenIPv6Loopback: `--listen [::1]:P` failed with "the world file
// has errors: default world:200" (the endpoint's brackets were pasted into
// the world's YAML). It serves the whole default world, SDK clients and
// the IdP included.
func TestListenIPv6Loopback(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback (::1): %v", err)
	} else {
		ln.Close()
	}
	sb, err := sandbox.Start(sandbox.Options{Listen: "[::1]:0"})
	if err != nil {
		t.Fatalf("listen on [::1]: %v", err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	if !strings.HasPrefix(sb.URL(), "http://[::1]:") {
		t.Fatalf("endpoint %s", sb.URL())
	}
	out, err := ststest.STS(sb, ststest.Admin()).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || !strings.HasSuffix(*out.Arn, ":user/admin") {
		t.Fatalf("GetCallerIdentity over [::1]: %v", err)
	}
	resp, err := http.Get(sb.Env.World.IdP.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var disc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil || disc.Issuer != sb.Env.World.IdP.Issuer ||
		!strings.HasPrefix(disc.Issuer, "http://[::1]:") {
		t.Errorf("IdP discovery over [::1]: %v %q", err, disc.Issuer)
	}
}

// TestListenRemoteNeedsConsent: a non-loopback address would serve the
// administrator keys to the network; it is refused unless AllowRemote.
func TestListenRemoteNeedsConsent(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		if _, err := sandbox.Start(sandbox.Options{Listen: addr}); !errors.Is(err, sandbox.ErrRemoteListen) {
			t.Errorf("listen %s: %v, want ErrRemoteListen", addr, err)
		}
	}
	sb, err := sandbox.Start(sandbox.Options{Listen: "0.0.0.0:0", AllowRemote: true})
	if err != nil {
		t.Fatalf("listen 0.0.0.0 with AllowRemote: %v", err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	// Clients on this machine use the loopback address.
	if !strings.HasPrefix(sb.URL(), "http://127.0.0.1:") {
		t.Errorf("endpoint %s", sb.URL())
	}
	if _, err := ststest.STS(sb, ststest.Admin()).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("GetCallerIdentity: %v", err)
	}
}
