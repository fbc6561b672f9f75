package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/internal/testutil/nodeidp"
	"github.com/tipctl/tipctl/tip/config"
)

// sandboxTrustingAt is sandboxTrusting for an issuer whose name is not
// reachable: the sandbox reads its discovery document at discovery.
func sandboxTrustingAt(t *testing.T, issuer, audience, discovery string) string {
	t.Helper()
	c, stdout, stderr := startProc(t, "sandbox", "--listen", "127.0.0.1:0", "--trust-issuer", issuer, "--audience", audience, "--issuer-discovery", discovery)
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
	}()
	select {
	case u := <-lines:
		return strings.TrimSpace(u)
	case <-time.After(60 * time.Second):
		t.Fatalf("the sandbox did not start: %s", stderr.String())
	}
	return ""
}

// TestIssuerShapes (D2): the Entra ID v1 issuer (https://sts.windows.net/
// TENANT/, with its trailing slash) and the Okta org authorization server
// (https://ORG.okta.com, no /oauth2/ path), each built by its preset from
// the preset's own inputs, end to end: node-oidc-provider issues tokens
// under that issuer name from a local address (read through the profile's
// idp_endpoints.discovery and the sandbox's --issuer-discovery), the
// sandbox trusts exactly that issuer, and the person's identity-enhanced
// session comes out. The v2 and custom-server shapes are the presets'
// defaults (tip/config shapes tests; TestThirdPartyIdP runs a path issuer).
func TestIssuerShapes(t *testing.T) {
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	cases := []struct {
		name, issuer, provider string
		inputs                 map[string]string
	}{
		{"entra-id v1", "https://sts.windows.net/" + tenant + "/", "entra-id", map[string]string{"tenant_id": tenant, "token_version": "1"}},
		{"okta org server", "https://dev-123456.okta.com", "okta", map[string]string{"org_url": "https://dev-123456.okta.com", "authorization_server_id": "org"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := nodeidp.StartIssuer(t, c.issuer)
			if n.Issuer != c.issuer {
				t.Fatalf("node-oidc-provider serves issuer %q", n.Issuer)
			}
			home(t)
			url := sandboxTrustingAt(t, c.issuer, nodeidp.ClientID, n.Discovery())
			if _, stderr, code := run(t, "-p", "shape", "configure", "sandbox", "--endpoint", url); code != 0 {
				t.Fatal(stderr)
			}
			values := map[string]string{"client_id": nodeidp.ClientID, "idp_endpoints.discovery": n.Discovery(),
				"scopes": "openid email profile groups offline_access", "auth_params": "prompt=consent"}
			for k, v := range c.inputs {
				values[k] = v
			}
			// The sandbox profile's issuer (its own IdP) goes: the preset
			// builds the issuer from its inputs.
			values["issuer"] = ""
			values["sandbox_admin_key_id"], values["sandbox_admin_secret_key"] = "", "" // only sandbox profiles hold them
			raw, _ := json.Marshal(values)
			if _, stderr, code := run(t, "-p", "shape", "configure", "idp", "--provider", c.provider, "--config", string(raw)); code != 0 {
				t.Fatalf("configure %s: %s", c.provider, stderr)
			}
			cfg, err := config.Load()
			if err != nil {
				t.Fatal(err)
			}
			if p, err := cfg.Get("shape"); err != nil || p.Issuer != c.issuer || p.Provider != c.provider {
				t.Fatalf("profile %+v: %v", p, err)
			}
			t.Setenv(config.EnvProfile, "shape")
			loginAtNode(t, n)
			if _, stderr, code := run(t, "auth", "login"); code != 0 {
				t.Fatalf("login: %s", stderr)
			}
			if st := statusJSON(t); st["issuer"] != c.issuer || st["email"] != nodeidp.Email {
				t.Fatalf("status %v", st)
			}
			out, stderr, code := run(t, "--debug", "auth", "get-iam-credentials")
			if code != 0 || !strings.Contains(out, `"SessionToken"`) {
				t.Fatalf("get-iam-credentials: %d %s\nsandbox calls: %v", code, stderr, sandboxStats(t, url))
			}
			// nora (emea-sales in her token) reads EMEA and not APAC.
			if _, stderr, code := run(t, "s3ag", "get-data-access", "s3://analytics-data/emea/"); code != 0 {
				t.Fatalf("EMEA as nora: %d %s", code, stderr)
			}
			if _, _, code := run(t, "s3ag", "get-data-access", "s3://analytics-data/apac/", "--force-new"); code != ExitAWS {
				t.Fatalf("APAC as nora: %d", code)
			}
		})
	}
}

// sandboxStats reads the operations a sandbox process counted.
func sandboxStats(t *testing.T, url string) string {
	resp, err := http.Get(url + "/_sandbox/stats")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return string(b)
}
