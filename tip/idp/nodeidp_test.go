package idp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"golang.org/x/net/html"

	"github.com/tipctl/tipctl/internal/testutil/nodeidp"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/idp"
)

// The node-oidc-provider fixture (test/fixtures/oidc-provider): an
// OpenID Certified provider, as a third-party IdP.
const (
	nodeAccount = nodeidp.Account // devInteractions: the login name is the account id
	nodeEmail   = nodeidp.Email
)

type nodeIdP struct{ Issuer string }

// startNodeIdP runs the fixture (internal/testutil/nodeidp), which skips
// without Node.js or the fixture's node_modules, except in CI.
func startNodeIdP(t *testing.T) *nodeIdP { return &nodeIdP{Issuer: nodeidp.Start(t).Issuer} }

func (n *nodeIdP) config() idp.Config {
	return idp.Config{Issuer: n.Issuer, ClientID: "tipctl", Scopes: []string{"openid", "email", "profile", "groups", "offline_access"}}
}

// nodeBrowser goes through node-oidc-provider's pages as a person does:
// the devInteractions login form (login, password), the consent form, the
// device flow's code and confirmation forms. It keeps cookies and stops
// at a redirect off the IdP (to the loopback) or at a page without a form.
type nodeBrowser struct {
	client *http.Client
	host   string
	cancel bool // press "[ Cancel ]" on the first interaction page
}

func newNodeBrowser(issuer string) *nodeBrowser {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(issuer)
	return &nodeBrowser{host: u.Host, client: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// run returns the redirect off the IdP, or the text of the last page.
func (b *nodeBrowser) run(ctx context.Context, start string) (*url.URL, string, error) {
	method, target, form := http.MethodGet, start, url.Values(nil)
	for step := 0; step < 20; step++ {
		resp, page, err := nodeidp.Fetch(ctx, b.client, method, target, form)
		if err != nil {
			return nil, "", err
		}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return nil, "", err
			}
			if loc.Host != b.host {
				return loc, "", nil
			}
			method, target, form = http.MethodGet, loc.String(), nil
			continue
		}
		doc, err := html.Parse(bytes.NewReader(page))
		if err != nil {
			return nil, "", err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("%s %s: HTTP %d: %s", method, target, resp.StatusCode, squash(textOf(doc)))
		}
		if b.cancel {
			if href := linkWithText(doc, "[ Cancel ]"); href != "" {
				b.cancel = false
				u, _ := resp.Request.URL.Parse(href)
				method, target, form = http.MethodGet, u.String(), nil
				continue
			}
		}
		action, values, ok := nodeidp.FirstForm(doc)
		if !ok {
			return nil, squash(textOf(doc)), nil
		}
		nodeidp.FillLogin(values)
		u, _ := resp.Request.URL.Parse(action)
		method, target, form = http.MethodPost, u.String(), values
	}
	return nil, "", errors.New("too many pages")
}

func linkWithText(n *html.Node, text string) string {
	if n.Type == html.ElementNode && n.Data == "a" && strings.TrimSpace(textOf(n)) == text {
		return nodeidp.Attr(n, "href")
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if h := linkWithText(c, text); h != "" {
			return h
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script") {
		return ""
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// nodeOpen is LoginOptions.Open for node-oidc-provider: sign in, then
// follow the redirect to the loopback as the browser does.
func nodeOpen(ctx context.Context, issuer string, cancel bool, page *string, wg *sync.WaitGroup) func(string) error {
	wg.Add(1)
	return func(authURL string) error {
		defer wg.Done()
		b := newNodeBrowser(issuer)
		b.cancel = cancel
		loc, text, err := b.run(ctx, authURL)
		if err != nil {
			return err
		}
		if loc == nil {
			return fmt.Errorf("the IdP did not redirect back; last page: %s", text)
		}
		_, *page, err = browserGet(ctx, loc.String())
		return err
	}
}

// login signs in with cfg at the node provider as a person does, and
// returns the tokens and the loopback page the browser was shown. The test
// fails when the login does.
func (n *nodeIdP) login(t *testing.T, ctx context.Context, cfg idp.Config) (*idp.Tokens, string) {
	t.Helper()
	var page string
	var wg sync.WaitGroup
	toks, err := idp.Login(ctx, cfg, idp.LoginOptions{Open: nodeOpen(ctx, n.Issuer, false, &page, &wg), Out: io.Discard, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	wg.Wait()
	return toks, page
}

func TestNodeOIDCProvider(t *testing.T) {
	t.Parallel()
	n := startNodeIdP(t)
	ctx := context.Background()

	t.Run("login with PKCE on the loopback", func(t *testing.T) {
		toks, page := n.login(t, ctx, n.config())
		c := toks.Claims
		if c.Issuer != n.Issuer || c.Subject != nodeAccount || c.Email != nodeEmail || c.Name != "Nora Node" ||
			strings.Join(c.Groups, ",") != "emea-sales" || c.EmailVerified == nil || !*c.EmailVerified {
			t.Errorf("claims = %+v", c)
		}
		if toks.AccessToken == "" || toks.Expiry.Before(time.Now().Add(30*time.Minute)) {
			t.Errorf("tokens: access %v expiry %v", toks.AccessToken != "", toks.Expiry)
		}
		// Without prompt=consent this provider drops offline_access (OpenID Connect Core §11).
		if toks.RefreshToken != "" {
			t.Errorf("a refresh token without prompt=consent")
		}
		if !strings.Contains(page, "You are signed in as "+nodeEmail) {
			t.Errorf("loopback page = %s", page)
		}
	})

	t.Run("refresh rotates", func(t *testing.T) {
		cfg := n.config()
		cfg.AuthParams = map[string]string{"prompt": "consent"}
		first, _ := n.login(t, ctx, cfg)
		if first.RefreshToken == "" {
			t.Fatalf("no refresh token with offline_access and prompt=consent")
		}
		second, err := idp.Refresh(ctx, cfg, first.RefreshToken)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatalf("the refresh did not rotate")
		}
		if second.Claims.Subject != first.Claims.Subject || second.Claims.Email != nodeEmail {
			t.Errorf("refreshed claims = %+v", second.Claims)
		}
		_, err = idp.Refresh(ctx, cfg, first.RefreshToken)
		if !errors.Is(err, idp.ErrLoginRequired) || !strings.Contains(err.Error(), "log in again") {
			t.Fatalf("reusing the rotated refresh token = %v, want ErrLoginRequired", err)
		}
		// Like the sandbox, the provider then revokes the whole grant.
		if _, err := idp.Refresh(ctx, cfg, second.RefreshToken); !errors.Is(err, idp.ErrLoginRequired) {
			t.Errorf("the newest refresh token after reuse = %v, want ErrLoginRequired", err)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		cfg := n.config()
		cfg.AuthParams = map[string]string{"prompt": "consent"}
		toks, _ := n.login(t, ctx, cfg)
		if err := idp.Revoke(ctx, cfg, toks.RefreshToken, idp.HintRefreshToken); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if _, err := idp.Refresh(ctx, cfg, toks.RefreshToken); !errors.Is(err, idp.ErrLoginRequired) {
			t.Errorf("Refresh after Revoke = %v, want ErrLoginRequired", err)
		}
	})

	t.Run("device flow", func(t *testing.T) {
		var out syncBuffer
		final := make(chan string, 1)
		toks, err := idp.DeviceLogin(ctx, n.config(), idp.DeviceOptions{Out: &out, Open: func(u string) error {
			loc, text, err := newNodeBrowser(n.Issuer).run(ctx, u)
			final <- text
			if loc != nil {
				return fmt.Errorf("unexpected redirect to %s", loc)
			}
			return err
		}})
		if err != nil {
			t.Fatalf("DeviceLogin: %v", err)
		}
		if toks.Claims.Email != nodeEmail || toks.Claims.Issuer != n.Issuer {
			t.Errorf("claims = %+v", toks.Claims)
		}
		if text := <-final; !strings.Contains(text, "Sign-in Success") {
			t.Errorf("last device page = %q", text)
		}
		if !strings.Contains(out.String(), n.Issuer+"/device\n") {
			t.Errorf("Out = %q", out.String())
		}
	})

	t.Run("cancel gives access_denied", func(t *testing.T) {
		var page string
		var wg sync.WaitGroup
		_, err := idp.Login(ctx, n.config(), idp.LoginOptions{Open: nodeOpen(ctx, n.Issuer, true, &page, &wg), Out: io.Discard, Timeout: time.Minute})
		wg.Wait()
		if !errors.Is(err, idp.ErrAccessDenied) || !strings.Contains(err.Error(), "End-User aborted interaction") {
			t.Fatalf("Login cancelled at the IdP = %v, want access_denied with the IdP's description", err)
		}
		if !strings.Contains(page, "Sign-in failed") || !strings.Contains(page, "End-User aborted interaction") {
			t.Errorf("loopback page = %s", page)
		}
	})
}

// TestNodeIdPExchange takes a node-oidc-provider ID token, obtained by a
// real Login, through the TIP chain against the sandbox, with
// aws-sdk-go-v2: the sandbox trusts the node issuer (IAM OIDC provider,
// bridge role trust, trusted token issuer, the app's jwt_bearer grant)
// and fetches its JWKS over HTTP, as AWS does.
func TestNodeIdPExchange(t *testing.T) {
	t.Parallel()
	n := startNodeIdP(t)
	ctx := context.Background()

	world := ststest.World(t, n.Issuer, ststest.WorldOptions{Extra: func(doc map[string]any) {
		ic := doc["identity_center"].(map[string]any)
		ic["users"] = append(ic["users"].([]any), map[string]any{"user_name": "nora", "display_name": "Nora Node", "email": nodeEmail})
		for _, g := range ic["groups"].([]any) {
			if g := g.(map[string]any); g["name"] == "emea-sales" {
				g["members"] = append(g["members"].([]any), "nora")
			}
		}
	}})
	sb := ststest.Sandbox(t, world)

	toks, _ := n.login(t, ctx, n.config())

	// 1. The bridge session, from the node ID token (an unsigned call).
	stsAnon := sts.NewFromConfig(ststest.Config(sb, nil))
	wi, err := stsAnon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(ststest.Role(sb, "tip-bridge")), RoleSessionName: aws.String("nora-bridge"), WebIdentityToken: aws.String(toks.IDToken)})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	if *wi.SubjectFromWebIdentityToken != nodeAccount || *wi.Audience != "tipctl" || !strings.HasSuffix(*wi.Provider, "oidc-provider/"+strings.TrimPrefix(n.Issuer, "http://")) {
		t.Errorf("web identity: subject %s audience %s provider %s", *wi.SubjectFromWebIdentityToken, *wi.Audience, *wi.Provider)
	}
	bridge := ststest.Static(*wi.Credentials.AccessKeyId, *wi.Credentials.SecretAccessKey, *wi.Credentials.SessionToken)

	// 2. The Identity Center token, with the bridge session.
	appArn := ststest.AppArn(t, sb, "tipctl-sandbox-app")
	it, err := ssooidc.NewFromConfig(ststest.Config(sb, bridge)).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(appArn), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String(toks.IDToken)})
	if err != nil {
		t.Fatalf("CreateTokenWithIAM: %v", err)
	}
	claims := ststest.DecodeJWT(t, *it.IdToken)
	identityContext, _ := claims["sts:identity_context"].(string)
	if identityContext == "" {
		t.Fatalf("the Identity Center id token has no sts:identity_context: %v", claims)
	}

	// 3. The identity-enhanced session.
	enh, err := sts.NewFromConfig(ststest.Config(sb, bridge)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.Role(sb, "tip-enhanced")), RoleSessionName: aws.String("nora"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/IdentityCenter"),
			ContextAssertion: aws.String(identityContext)}}})
	if err != nil {
		t.Fatalf("AssumeRole with ProvidedContexts: %v", err)
	}
	enhanced := ststest.Static(*enh.Credentials.AccessKeyId, *enh.Credentials.SecretAccessKey, *enh.Credentials.SessionToken)
	who, err := sts.NewFromConfig(ststest.Config(sb, enhanced)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if *who.Arn != "arn:aws:sts::123456789012:assumed-role/tip-enhanced/nora" {
		t.Errorf("caller = %s", *who.Arn)
	}
	// The enhanced session carries the Identity Center user that matches
	// the node provider's email claim.
	p, ok := sb.Env.Registry.Resolve(*enh.Credentials.AccessKeyId, *enh.Credentials.SessionToken)
	if !ok || p.Context == nil || p.Context.UserName != "nora" || p.Context.Email != nodeEmail || claims["sub"] != p.Context.UserID {
		t.Fatalf("enhanced session context = %+v", p)
	}
	if g := p.Context.GroupNames(); strings.Join(g, ",") != "emea-sales" {
		t.Errorf("groups = %v", g)
	}
	// The same assertion cannot be exchanged twice.
	_, err = ssooidc.NewFromConfig(ststest.Config(sb, bridge)).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(appArn), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String(toks.IDToken)})
	if err == nil {
		t.Errorf("the ID token was exchanged twice")
	}
}
