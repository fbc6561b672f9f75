package identitycenter_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/document"
	satypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	sbidp "github.com/tipctl/tipctl/sandbox/idp"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

const webCallback = "https://webapp.example.com/oauth/callback"

// codeApp creates, through sso-admin, an application with the
// authorization_code grant (redirect URI webCallback) and the refresh
// token grant, whose actor policy lets tip-bridge call CreateTokenWithIAM.
func codeApp(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	ctx := context.Background()
	admin := ssoadmin.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	out, err := admin.CreateApplication(ctx, &ssoadmin.CreateApplicationInput{InstanceArn: aws.String(sb.Env.Snapshot().IdentityCenter.InstanceArn),
		Name: aws.String("webapp"), ApplicationProviderArn: aws.String(world.CustomApplicationProvider)})
	if err != nil {
		t.Fatal(err)
	}
	app := out.ApplicationArn
	actor := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow",
		"Principal": map[string]any{"AWS": ststest.Role(sb, "tip-bridge")}, "Action": "sso-oauth:CreateTokenWithIAM", "Resource": "*"}}}
	for i, step := range []func() error{
		func() error {
			_, err := admin.PutApplicationAuthenticationMethod(ctx, &ssoadmin.PutApplicationAuthenticationMethodInput{ApplicationArn: app,
				AuthenticationMethodType: satypes.AuthenticationMethodTypeIam,
				AuthenticationMethod:     &satypes.AuthenticationMethodMemberIam{Value: satypes.IamAuthenticationMethod{ActorPolicy: document.NewLazyDocument(actor)}}})
			return err
		},
		func() error {
			_, err := admin.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: app, GrantType: satypes.GrantTypeAuthorizationCode,
				Grant: &satypes.GrantMemberAuthorizationCode{Value: satypes.AuthorizationCodeGrant{RedirectUris: []string{webCallback}}}})
			return err
		},
		func() error {
			_, err := admin.PutApplicationGrant(ctx, &ssoadmin.PutApplicationGrantInput{ApplicationArn: app, GrantType: satypes.GrantTypeRefreshToken,
				Grant: &satypes.GrantMemberRefreshToken{Value: satypes.RefreshTokenGrant{}}})
			return err
		},
		func() error {
			_, err := admin.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: app, Scope: aws.String("sts:identity_context")})
			return err
		},
		func() error {
			_, err := admin.PutApplicationAccessScope(ctx, &ssoadmin.PutApplicationAccessScopeInput{ApplicationArn: app, Scope: aws.String("s3:access_grants:read_write")})
			return err
		},
		func() error {
			_, err := admin.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: app, AssignmentRequired: aws.Bool(false)})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
	}
	return aws.ToString(app)
}

// pkce returns a fresh code verifier and its S256 challenge.
func pkce(t *testing.T) (string, string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(h[:])
}

func password(t *testing.T, sb *sandbox.Sandbox, email string) string {
	for _, u := range sb.Env.Snapshot().IdP.Users {
		if u.Email == email {
			return u.Password
		}
	}
	t.Fatalf("no IdP user %s", email)
	return ""
}

// browser is a person's browser: a cookie jar, and no automatic redirect
// off the sandbox (FollowLogin stops at the application's redirect URI).
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func authorizeURL(sb *sandbox.Sandbox, app, redirect, state, challenge, scopes string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {app}, "redirect_uri": {redirect}, "state": {state}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	if scopes != "" {
		q.Set("scopes", scopes)
	}
	return sb.URL() + identitycenter.PathAuthorize + "?" + q.Encode()
}

// signIn signs email in on the Identity Center sign-in page and returns
// the code the redirect to webCallback carries.
func signIn(t *testing.T, sb *sandbox.Sandbox, app, email, challenge, scopes string) string {
	t.Helper()
	state := "st-" + base64.RawURLEncoding.EncodeToString([]byte(t.Name()))
	loc, err := sbidp.FollowLogin(context.Background(), browser(t), authorizeURL(sb, app, webCallback, state, challenge, scopes), email, password(t, sb, email))
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != webCallback {
		t.Fatalf("redirected to %s, want %s", loc, webCallback)
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s: want the state back and a code", loc)
	}
	return loc.Query().Get("code")
}

// refused checks err is InvalidGrantException (400) and returns its error_description.
func refused(t *testing.T, err error) string {
	t.Helper()
	wantError(t, err, "InvalidGrantException", 400)
	code, desc := oauthDescription(err)
	if code != "invalid_grant" {
		t.Fatalf("error %q, want invalid_grant (%v)", code, err)
	}
	return desc
}

func codeGrant(app, code, redirect, verifier string) *ssooidc.CreateTokenWithIAMInput {
	in := &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(app), GrantType: aws.String(identitycenter.GrantAuthorizationCode),
		Code: aws.String(code), RedirectUri: aws.String(redirect)}
	if verifier != "" {
		in.CodeVerifier = aws.String(verifier)
	}
	return in
}

// TestAuthorizationCodeGrant: a person signs in on the Identity Center
// sign-in page of an application with the authorization_code grant; the
// code the browser is redirected with becomes Identity Center tokens for
// that person through CreateTokenWithIAM, once.
func TestAuthorizationCodeGrant(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	app := codeApp(t, sb)
	client := ststest.OIDC(sb, bridge(t, sb, iss))
	verifier, challenge := pkce(t)

	code := signIn(t, sb, app, "bob@example.com", challenge, "sts:identity_context")
	out, err := client.CreateTokenWithIAM(ctx, codeGrant(app, code, webCallback, verifier))
	if err != nil {
		t.Fatalf("CreateTokenWithIAM authorization_code: %v", err)
	}
	bob := sb.Env.Snapshot().IdentityCenter.User("bob").UserID
	claims := ststest.DecodeJWT(t, aws.ToString(out.IdToken))
	if claims["sub"] != bob || claims["aud"] != app {
		t.Fatalf("id token sub %v aud %v, want %s and %s", claims["sub"], claims["aud"], bob, app)
	}
	if strings.Join(out.Scope, " ") != "sts:identity_context" || aws.ToString(out.RefreshToken) == "" || aws.ToString(out.TokenType) != "Bearer" {
		t.Fatalf("reply: scopes %v, refresh %q, type %q", out.Scope, aws.ToString(out.RefreshToken), aws.ToString(out.TokenType))
	}
	c, err := sb.Env.Sealer.OpenContext(aws.ToString(out.AwsAdditionalDetails.IdentityContext), auth.IdentityCenterProvider, sb.Env.Now())
	if err != nil || c.UserID != bob || c.ApplicationArn != app {
		t.Fatalf("identity context %+v, %v", c, err)
	}

	// The code is single-use; presenting it again also revokes the
	// refresh token issued from it.
	_, err = client.CreateTokenWithIAM(ctx, codeGrant(app, code, webCallback, verifier))
	if msg := refused(t, err); !strings.Contains(msg, "already used") {
		t.Fatalf("reused code: %q", msg)
	}
	_, err = client.CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(app),
		GrantType: aws.String(identitycenter.GrantRefreshToken), RefreshToken: out.RefreshToken})
	wantError(t, err, "InvalidGrantException", 400)

	// Another sign-in, without asking for scopes: every scope of the app.
	// Wrong redirect URI, wrong, missing or malformed verifier: refused,
	// and the code survives them for the right request.
	verifier, challenge = pkce(t)
	code = signIn(t, sb, app, "alice@example.com", challenge, "")
	other, _ := pkce(t)
	for _, bad := range []struct {
		name, redirect, verifier, want string
	}{
		{"wrong redirect_uri", "https://webapp.example.com/other", verifier, "redirectUri does not match"},
		{"wrong verifier", webCallback, other, "does not match the code_challenge"},
		{"no verifier", webCallback, "", "codeVerifier is required"},
		{"malformed verifier", webCallback, "short", "43 to 128"},
	} {
		_, err := client.CreateTokenWithIAM(ctx, codeGrant(app, code, bad.redirect, bad.verifier))
		if msg := refused(t, err); !strings.Contains(msg, bad.want) {
			t.Errorf("%s: %q, want %q", bad.name, msg, bad.want)
		}
	}
	out, err = client.CreateTokenWithIAM(ctx, codeGrant(app, code, webCallback, verifier))
	if err != nil {
		t.Fatalf("right request after refused ones: %v", err)
	}
	if len(out.Scope) != 2 || ststest.DecodeJWT(t, aws.ToString(out.IdToken))["sub"] != sb.Env.Snapshot().IdentityCenter.User("alice").UserID {
		t.Fatalf("alice's tokens: scopes %v", out.Scope)
	}

	// An application without the authorization_code grant: no sign-in
	// page, and its clientId cannot redeem a code.
	def := ststest.AppArn(t, sb, appName)
	code = signIn(t, sb, app, "alice@example.com", challenge, "")
	_, err = client.CreateTokenWithIAM(ctx, codeGrant(def, code, webCallback, verifier))
	wantError(t, err, "UnauthorizedClientException", 400)
	_, err = sbidp.FollowLogin(ctx, browser(t), authorizeURL(sb, def, webCallback, "s", challenge, ""), "alice@example.com", password(t, sb, "alice@example.com"))
	var le *sbidp.LoginError
	if !errors.As(err, &le) || le.Status != http.StatusBadRequest || !strings.Contains(le.Message, "does not allow the authorization_code grant") {
		t.Fatalf("sign-in for an application without the grant: %v", err)
	}
	// The code was not consumed by the other application's attempt.
	if _, err := client.CreateTokenWithIAM(ctx, codeGrant(app, code, webCallback, verifier)); err != nil {
		t.Fatalf("code after another application's attempt: %v", err)
	}

	// A code expires.
	code = signIn(t, sb, app, "alice@example.com", challenge, "")
	sb.Env.Advance(identitycenter.AuthCodeTTL + time.Second)
	_, err = client.CreateTokenWithIAM(ctx, codeGrant(app, code, webCallback, verifier))
	if msg := refused(t, err); !strings.Contains(msg, "expired") {
		t.Fatalf("expired code: %q", msg)
	}
}

// TestAuthorizePage: the sign-in page never redirects to a URI the
// application's grant does not list, refuses a wrong password without
// issuing a code, and sends request errors back to a listed redirect URI.
func TestAuthorizePage(t *testing.T) {
	sb, _ := ststest.Start(t, nil)
	ctx := context.Background()
	app := codeApp(t, sb)
	_, challenge := pkce(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, string) {
		resp, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := get(authorizeURL(sb, app, "https://evil.example.com/cb", "s", challenge, ""))
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "is not a redirect URI") {
		t.Fatalf("unlisted redirect_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = get(authorizeURL(sb, "arn:aws:sso::123456789012:application/ssoins-x/apl-nothere", webCallback, "s", challenge, ""))
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("unknown application: %d", resp.StatusCode)
	}
	resp, _ = get(authorizeURL(sb, app, webCallback, "s", challenge, "s3:unknown:scope"))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_scope" || loc.Query().Get("state") != "s" {
		t.Fatalf("unknown scope: %d %s", resp.StatusCode, loc)
	}
	resp, _ = get(strings.Replace(authorizeURL(sb, app, webCallback, "s", challenge, ""), "S256", "plain", 1))
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("plain PKCE: %d %s", resp.StatusCode, loc)
	}

	_, err := sbidp.FollowLogin(ctx, browser(t), authorizeURL(sb, app, webCallback, "s", challenge, ""), "alice@example.com", "not-her-password")
	var le *sbidp.LoginError
	if !errors.As(err, &le) || !strings.Contains(le.Message, "Incorrect email or password") {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestAuthorizationCodeUnassigned: when the application requires
// assignment, a person who is not assigned signs in and is sent back with
// access_denied, without a code.
func TestAuthorizationCodeUnassigned(t *testing.T) {
	sb, _ := ststest.Start(t, nil)
	ctx := context.Background()
	app := codeApp(t, sb)
	admin := ssoadmin.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	if _, err := admin.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: aws.String(app),
		AssignmentRequired: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, challenge := pkce(t)
	loc, err := sbidp.FollowLogin(ctx, browser(t), authorizeURL(sb, app, webCallback, "s1", challenge, ""), "alice@example.com", password(t, sb, "alice@example.com"))
	var le *sbidp.LoginError
	if !errors.As(err, &le) || le.Code != "access_denied" || loc == nil || loc.Query().Get("code") != "" || loc.Query().Get("state") != "s1" {
		t.Fatalf("unassigned sign-in: %v, redirect %v", err, loc)
	}
}

// TestAuthorizationCodeBoto3: botocore's own sso-oidc model redeems a
// code from the sign-in page, and reports a reused one as its modeled
// InvalidGrantException.
func TestAuthorizationCodeBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs python3 with boto3: %v", err)
		}
		t.Skip("python3 with boto3 is not installed; the botocore cross-check is skipped")
	}
	sb, iss := ststest.Start(t, nil)
	app := codeApp(t, sb)
	creds, err := bridge(t, sb, iss).Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	verifier, challenge := pkce(t)
	code := signIn(t, sb, app, "bob@example.com", challenge, "")
	const script = `
import boto3, sys
ep, key, secret, token, app, code, redirect, verifier = sys.argv[1:9]
c = boto3.client("sso-oidc", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)
r = c.create_token_with_iam(clientId=app, grantType="authorization_code", code=code, redirectUri=redirect, codeVerifier=verifier)
print("type=%s scopes=%d refresh=%s context=%s" % (r["tokenType"], len(r["scope"]), bool(r.get("refreshToken")), bool(r["awsAdditionalDetails"]["identityContext"])))
try:
    c.create_token_with_iam(clientId=app, grantType="authorization_code", code=code, redirectUri=redirect, codeVerifier=verifier)
    print("reuse=accepted")
except c.exceptions.InvalidGrantException as e:
    print("reuse=" + e.response["error"])
`
	out, err := exec.Command("python3", "-c", script, sb.URL(), creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken,
		app, code, webCallback, verifier).CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	if want := "type=Bearer scopes=2 refresh=True context=True\nreuse=invalid_grant\n"; string(out) != want {
		t.Fatalf("boto3 output:\n%s\nwant:\n%s", out, want)
	}
}

// TestAuthorizationCodeRace: the same code presented by eight concurrent
// requests yields tokens exactly once.
func TestAuthorizationCodeRace(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	app := codeApp(t, sb)
	client := ststest.OIDC(sb, bridge(t, sb, iss))
	verifier, challenge := pkce(t)
	code := signIn(t, sb, app, "alice@example.com", challenge, "")
	errs := make(chan error, 8)
	for i := 0; i < cap(errs); i++ {
		go func() {
			_, err := client.CreateTokenWithIAM(context.Background(), codeGrant(app, code, webCallback, verifier))
			errs <- err
		}()
	}
	ok := 0
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err == nil {
			ok++
		} else if code, _ := oauthDescription(err); code != "invalid_grant" {
			t.Errorf("a concurrent redemption failed otherwise: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 8 concurrent redemptions of one code succeeded, want 1", ok)
	}
}
