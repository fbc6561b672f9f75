package identitycenter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	satypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestAuthorizationCodeChromium: a real headless Chromium (the browser
// fixture) opens the Identity Center sign-in page, types the password and
// submits; the sandbox redirects it to the application's callback with a
// code, which CreateTokenWithIAM redeems.
func TestAuthorizationCodeChromium(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	login, _ := filepath.Abs("../../test/fixtures/browser/login.js")
	_, errC := os.Stat(chromium)
	_, errN := os.Stat(filepath.Join(filepath.Dir(login), "node_modules"))
	if _, errNode := exec.LookPath("node"); errC != nil || errN != nil || errNode != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs chromium, node and the browser fixture (npm ci --prefix test/fixtures/browser): %v %v %v", errC, errN, errNode)
		}
		t.Skip("chromium, node or the browser fixture is missing; .ci/run installs them")
	}
	sb, iss := ststest.Start(t, nil)
	app := codeApp(t, sb)

	// The application: a callback page on loopback that receives the code.
	codes := make(chan string, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		select {
		case codes <- r.URL.Query().Get("code"):
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>Signed in</title><main data-outcome="signed-in">ok</main>`))
	}))
	defer cb.Close()
	redirect := cb.URL + "/callback"
	admin := ssoadmin.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	if _, err := admin.PutApplicationGrant(context.Background(), &ssoadmin.PutApplicationGrantInput{ApplicationArn: aws.String(app),
		GrantType: satypes.GrantTypeAuthorizationCode,
		Grant:     &satypes.GrantMemberAuthorizationCode{Value: satypes.AuthorizationCodeGrant{RedirectUris: []string{redirect}}}}); err != nil {
		t.Fatal(err)
	}

	verifier, challenge := pkce(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", login, authorizeURL(sb, app, redirect, "chromium-state", challenge, ""),
		"carol@example.com", password(t, sb, "carol@example.com"))
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium sign-in: %v\n%s", err, out)
	}
	var code string
	select {
	case code = <-codes:
	default:
		t.Fatal("the callback never received the redirect")
	}
	out, err := ststest.OIDC(sb, bridge(t, sb, iss)).CreateTokenWithIAM(context.Background(), codeGrant(app, code, redirect, verifier))
	if err != nil {
		t.Fatalf("redeeming the code Chromium brought back: %v", err)
	}
	if sub := ststest.DecodeJWT(t, aws.ToString(out.IdToken))["sub"]; sub != sb.Env.Snapshot().IdentityCenter.User("carol").UserID {
		t.Fatalf("token of %v, want carol", sub)
	}
}
