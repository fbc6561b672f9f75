package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/internal/testutil/nodeidp"
	"github.com/tipctl/tipctl/tip/config"
)

// sandboxTrusting runs `tipctl sandbox --trust-issuer ISSUER --audience
// AUD` as a process and returns its URL.
func sandboxTrusting(t *testing.T, issuer, audience string) string {
	t.Helper()
	c, stdout, stderr := startProc(t, "sandbox", "--listen", "127.0.0.1:0", "--trust-issuer", issuer, "--audience", audience)
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

// loginAtNode makes the login flow's browser sign in at node-oidc-provider.
func loginAtNode(t *testing.T, n *nodeidp.IdP) {
	t.Helper()
	prev := openBrowser
	openBrowser = func(u string) error { return n.SignIn(context.Background(), u) }
	t.Cleanup(func() { openBrowser = prev })
}

func statusJSON(t *testing.T) map[string]any {
	t.Helper()
	out, _, _ := run(t, "auth", "status", "-o", "json")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("status: %q", out)
	}
	return m
}

// TestThirdPartyIdP drives node-oidc-provider, an OpenID Certified
// provider, as a third-party IdP against `tipctl sandbox --trust-issuer`:
// the sandbox trusts it in one flag and creates nora in Identity Center
// on first sight, in the groups of her token (D5); a browser login gets a
// refresh token when the profile asks for prompt=consent (B2).
func TestThirdPartyIdP(t *testing.T) {
	n := nodeidp.Start(t)
	home(t)
	url := sandboxTrusting(t, n.Issuer, nodeidp.ClientID)
	if _, stderr, code := run(t, "-p", "node", "configure", "sandbox", "--endpoint", url); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := run(t, "-p", "node", "configure", "idp", "--config", `{"issuer": "`+n.Issuer+`", "scopes": "openid email profile groups offline_access"}`); code != 0 {
		t.Fatal(stderr)
	}
	t.Setenv(config.EnvProfile, "node")
	loginAtNode(t, n)

	// Without prompt=consent, node-oidc-provider drops offline_access: no
	// refresh token, and status says so.
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	if st := statusJSON(t); st["can_refresh"] != false || st["email"] != nodeidp.Email {
		t.Fatalf("status without prompt=consent: %v", st)
	}
	out, _, _ := run(t, "auth", "status")
	if !strings.Contains(out, "refreshable: no, the IdP gave no refresh token") {
		t.Fatalf("status text: %s", out)
	}
	// The id_token goes through the chain; nora is created in Identity
	// Center and is in emea-sales (her token's groups), so Access Grants
	// gives her EMEA and not APAC.
	if out, stderr, code := run(t, "s3ag", "get-data-access", "s3://analytics-data/emea/"); code != 0 || !strings.Contains(out, `"AccessKeyId"`) {
		t.Fatalf("EMEA as nora: %d %s", code, stderr)
	}
	if _, stderr, code := run(t, "s3ag", "get-data-access", "s3://analytics-data/apac/", "--force-new"); code != ExitAWS {
		t.Fatalf("APAC as nora: %d %s", code, stderr)
	}

	// With auth_params prompt=consent the login is refreshable.
	if _, stderr, code := run(t, "configure", "idp", "--config", `{"auth_params": "prompt=consent"}`); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatalf("login with prompt=consent: %s", stderr)
	}
	if st := statusJSON(t); st["can_refresh"] != true {
		t.Fatalf("status with prompt=consent: %v", st)
	}
	if _, stderr, code := run(t, "auth", "refresh"); code != 0 {
		t.Fatalf("refresh at node-oidc-provider: %s", stderr)
	}
}

// TestAccessTokenAssertion (D1): when the trusted token issuer's audience
// is an API, the assertion is the IdP's access token. node-oidc-provider
// issues a JWT access token for api://tipctl-tti (resource indicator); the
// sandbox trusts only that audience, so the id_token (aud tipctl) is
// refused with AWS's reason in the one-line error, and the access token
// goes through.
func TestAccessTokenAssertion(t *testing.T) {
	n := nodeidp.Start(t)
	home(t)
	url := sandboxTrusting(t, n.Issuer, nodeidp.APIAudience)
	if _, stderr, code := run(t, "-p", "api", "configure", "sandbox", "--endpoint", url); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := run(t, "-p", "api", "configure", "idp", "--config", `{"issuer": "`+n.Issuer+`",
		"scopes": "openid email profile groups offline_access `+nodeidp.APIScope+`",
		"auth_params": "prompt=consent&resource=`+nodeidp.APIAudience+`", "assertion": "access_token"}`); code != 0 {
		t.Fatal(stderr)
	}
	t.Setenv(config.EnvProfile, "api")
	loginAtNode(t, n)
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	out, stderr, code := run(t, "auth", "get-iam-credentials")
	if code != 0 || !strings.Contains(out, `"AccessKeyId"`) {
		t.Fatalf("get-iam-credentials with the access token: %d %s", code, stderr)
	}
	// The renewal refreshes at the IdP and exchanges the new access token.
	if _, stderr, code := run(t, "auth", "get-iam-credentials", "--force-new"); code != 0 {
		t.Fatalf("second exchange: %d %s", code, stderr)
	}

	// The id_token's audience is not trusted: exit 5 and AWS's reason.
	if _, stderr, code := run(t, "configure", "idp", "--config", `{"assertion": "id_token"}`); code != 0 {
		t.Fatal(stderr)
	}
	_, stderr, code = run(t, "auth", "get-iam-credentials", "--force-new")
	if code != ExitAWS || !strings.Contains(stderr, "Incorrect token audience") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("id_token against an API audience: %d %q", code, stderr)
	}
}
