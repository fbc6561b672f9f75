package identitycenter_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

const appName = "tipctl-sandbox-app"

// bridge returns a tip-bridge session from an IdP token of email.
func bridge(t testing.TB, sb *sandbox.Sandbox, iss *ststest.Issuer) aws.CredentialsProvider {
	t.Helper()
	out, err := ststest.STS(sb, nil).AssumeRoleWithWebIdentity(context.Background(), &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(ststest.Role(sb, "tip-bridge")), RoleSessionName: aws.String("bridge"),
		WebIdentityToken: aws.String(iss.Token(t, "alice@example.com", sb.Env.Now())),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	return ststest.CredsOf(out.Credentials)
}

func jwtBearer(app, assertion string) *ssooidc.CreateTokenWithIAMInput {
	return &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(app), GrantType: aws.String(identitycenter.GrantJWTBearer), Assertion: aws.String(assertion)}
}

func wantError(t testing.TB, err error, code string, status int) string {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %s, got success", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %q, want %q (%v)", ae.ErrorCode(), code, err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && status != 0 && re.HTTPStatusCode() != status {
		t.Fatalf("HTTP status = %d, want %d (%v)", re.HTTPStatusCode(), status, err)
	}
	return ae.ErrorMessage()
}

// oauthDescription returns the RFC 6749 error and description the SDK decoded from a modeled error.
func oauthDescription(err error) (string, string) {
	get := func(a, b *string) (string, string) { return aws.ToString(a), aws.ToString(b) }
	var (
		g  *oidctypes.InvalidGrantException
		ad *oidctypes.AccessDeniedException
		ic *oidctypes.InvalidClientException
		ir *oidctypes.InvalidRequestException
		is *oidctypes.InvalidScopeException
		ug *oidctypes.UnsupportedGrantTypeException
		uc *oidctypes.UnauthorizedClientException
	)
	switch {
	case errors.As(err, &g):
		return get(g.Error_, g.Error_description)
	case errors.As(err, &ad):
		return get(ad.Error_, ad.Error_description)
	case errors.As(err, &ic):
		return get(ic.Error_, ic.Error_description)
	case errors.As(err, &ir):
		return get(ir.Error_, ir.Error_description)
	case errors.As(err, &is):
		return get(is.Error_, is.Error_description)
	case errors.As(err, &ug):
		return get(ug.Error_, ug.Error_description)
	case errors.As(err, &uc):
		return get(uc.Error_, uc.Error_description)
	}
	return "", ""
}

// TestCreateTokenWithIAM exchanges an IdP token and checks every part of the reply.
func TestCreateTokenWithIAM(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	br := bridge(t, sb, iss)
	appArn := ststest.AppArn(t, sb, appName)
	now := sb.Env.Now()
	out, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, iss.Token(t, "bob@example.com", now)))
	if err != nil {
		t.Fatalf("CreateTokenWithIAM: %v", err)
	}
	if aws.ToString(out.TokenType) != "Bearer" || out.ExpiresIn != 3600 || aws.ToString(out.IssuedTokenType) != identitycenter.TokenTypeRefreshToken {
		t.Errorf("tokenType %v expiresIn %d issuedTokenType %v", aws.ToString(out.TokenType), out.ExpiresIn, aws.ToString(out.IssuedTokenType))
	}
	if aws.ToString(out.AccessToken) == "" || aws.ToString(out.RefreshToken) == "" {
		t.Errorf("missing access or refresh token")
	}
	app := sb.Env.World.IdentityCenter.Applications[0]
	if strings.Join(out.Scope, " ") != strings.Join(app.Scopes, " ") {
		t.Errorf("scope = %v, want the app's %v", out.Scope, app.Scopes)
	}
	var bob struct{ id string }
	for _, u := range sb.Env.World.IdentityCenter.Users {
		if u.UserName == "bob" {
			bob.id = u.UserID
		}
	}
	ic := sb.Env.World.IdentityCenter
	// The id token is the sandbox's own signed JWT with AWS's claims.
	var claims map[string]any
	if err := sb.Env.Sealer.Open(aws.ToString(out.IdToken), &claims); err != nil {
		t.Fatalf("the id token is not signed by the sandbox: %v", err)
	}
	want := map[string]any{
		"iss": "https://identitycenter.amazonaws.com/" + ic.InstanceID(), "sub": bob.id, "aud": appArn,
		"sts:identity_context":  aws.ToString(out.AwsAdditionalDetails.IdentityContext),
		"aws:identity_store_id": ic.IdentityStoreID, "aws:identity_store_arn": "arn:aws:identitystore::123456789012:identitystore/" + ic.IdentityStoreID,
		"aws:instance_arn": ic.InstanceArn, "aws:instance_account": "123456789012",
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("id token %s = %v, want %v", k, claims[k], v)
		}
	}
	for _, k := range []string{"sts:audit_context", "aws:credential_id", "auth_time", "iat", "exp"} {
		if claims[k] == nil || claims[k] == "" {
			t.Errorf("id token has no %s", k)
		}
	}
	if exp := int64(claims["exp"].(float64)); exp != now.Add(time.Hour).Unix() && exp != now.Add(time.Hour).Unix()+1 {
		t.Errorf("exp = %d, want now+1h", exp)
	}
	// The identity context opens for the Identity Center provider and names bob and his groups.
	c, err := sb.Env.Sealer.OpenContext(aws.ToString(out.AwsAdditionalDetails.IdentityContext), auth.IdentityCenterProvider, sb.Env.Now())
	if err != nil {
		t.Fatalf("identity context: %v", err)
	}
	if c.UserID != bob.id || c.UserName != "bob" || c.Email != "bob@example.com" || strings.Join(c.GroupNames(), ",") != "apac-sales" ||
		c.ApplicationArn != appArn || c.InstanceArn != ic.InstanceArn || c.IdentityStoreID != ic.IdentityStoreID {
		t.Errorf("context = %+v", c)
	}

	// A subset of the app's scopes may be asked for; an unknown scope may not.
	sub, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn),
		GrantType: aws.String(identitycenter.GrantJWTBearer), Assertion: aws.String(iss.Token(t, "bob@example.com", now)),
		Scope: []string{"sts:identity_context"}})
	if err != nil || strings.Join(sub.Scope, " ") != "sts:identity_context" {
		t.Fatalf("scoped exchange: %v %v", err, sub)
	}

	// Refresh: new tokens, a fresh context, and the refresh token rotates.
	sb.Env.Advance(10 * time.Minute)
	ref, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn),
		GrantType: aws.String(identitycenter.GrantRefreshToken), RefreshToken: out.RefreshToken})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if aws.ToString(ref.RefreshToken) == aws.ToString(out.RefreshToken) || aws.ToString(ref.RefreshToken) == "" {
		t.Errorf("the refresh token did not rotate")
	}
	c2, err := sb.Env.Sealer.OpenContext(aws.ToString(ref.AwsAdditionalDetails.IdentityContext), auth.IdentityCenterProvider, sb.Env.Now())
	if err != nil || c2.UserID != bob.id || !c2.ExpiresAt.After(c.ExpiresAt) {
		t.Errorf("refreshed context: %v %+v", err, c2)
	}
	refClaims := ststest.DecodeJWT(t, aws.ToString(ref.IdToken))
	if refClaims["sub"] != bob.id || refClaims["auth_time"] != claims["auth_time"] {
		t.Errorf("refreshed id token sub %v auth_time %v (first auth_time %v)", refClaims["sub"], refClaims["auth_time"], claims["auth_time"])
	}
	_, err = ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn),
		GrantType: aws.String(identitycenter.GrantRefreshToken), RefreshToken: out.RefreshToken})
	wantError(t, err, "InvalidGrantException", 400)
	// Scopes cannot grow on refresh.
	_, err = ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn),
		GrantType: aws.String(identitycenter.GrantRefreshToken), RefreshToken: sub.RefreshToken, Scope: []string{"quicksight:read_write"}})
	wantError(t, err, "InvalidScopeException", 400)

	if got := sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM"); got != 5 {
		t.Errorf("stats sso-oauth:CreateTokenWithIAM = %d, want 5", got)
	}
}

// TestCreateTokenWithIAMErrors: every refusal has its modeled error code,
// the OAuth error in the body, and the sandbox keeps serving.
func TestCreateTokenWithIAMErrors(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	br := bridge(t, sb, iss)
	appArn := ststest.AppArn(t, sb, appName)
	now := sb.Env.Now()
	claims := func(email string, mod func(map[string]any)) map[string]any {
		c := iss.Claims(email, now)
		if mod != nil {
			mod(c)
		}
		return c
	}
	alice := func(mod func(map[string]any)) map[string]any { return claims("alice@example.com", mod) }

	// An identity-enhanced session: its role may not call CreateTokenWithIAM.
	tok, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, iss.Token(t, "alice@example.com", now)))
	if err != nil {
		t.Fatalf("CreateTokenWithIAM: %v", err)
	}
	enh, err := ststest.STS(sb, br).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "tip-enhanced")), RoleSessionName: aws.String("enh"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(auth.IdentityCenterProvider), ContextAssertion: tok.AwsAdditionalDetails.IdentityContext}}})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}

	// Replay: the first exchange succeeds, the second is refused.
	replayed := iss.Token(t, "carol@example.com", now)
	if _, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, replayed)); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	// Replay without a jti: the token's hash identifies it.
	noJTI := iss.Mint(t, alice(func(c map[string]any) { delete(c, "jti") }))
	if _, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, noJTI)); err != nil {
		t.Fatalf("first exchange without jti: %v", err)
	}

	disabled := ststest.AppArn(t, sb, "disabled-app")
	cases := []struct {
		name   string
		creds  aws.CredentialsProvider
		in     *ssooidc.CreateTokenWithIAMInput
		code   string
		status int
		oauth  string
		msg    string
	}{
		{"forged signature", br, jwtBearer(appArn, iss.Forge(t, alice(nil))), "InvalidGrantException", 400, "invalid_grant", "signature"},
		{"expired", br, jwtBearer(appArn, iss.Mint(t, alice(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-3*time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
		}))), "InvalidGrantException", 400, "invalid_grant", "expired"},
		{"alg none", br, jwtBearer(appArn, iss.AlgNone(alice(nil))), "InvalidGrantException", 400, "invalid_grant", "algorithm"},
		{"HS256 with the public key", br, jwtBearer(appArn, iss.HS256Confused(alice(nil))), "InvalidGrantException", 400, "invalid_grant", "algorithm"},
		{"wrong aud", br, jwtBearer(appArn, iss.Mint(t, alice(func(c map[string]any) { c["aud"] = []string{"other", "another"} }))), "InvalidGrantException", 400, "invalid_grant", "audience"},
		{"unknown iss", br, jwtBearer(appArn, iss.Mint(t, alice(func(c map[string]any) { c["iss"] = "https://evil.example" }))), "InvalidGrantException", 400, "invalid_grant", "not a trusted token issuer"},
		{"not a JWT", br, jwtBearer(appArn, "definitely.not.a-jwt"), "InvalidGrantException", 400, "invalid_grant", "JWT"},
		{"replayed assertion", br, jwtBearer(appArn, replayed), "InvalidGrantException", 400, "invalid_grant", "only once"},
		{"replayed assertion without jti", br, jwtBearer(appArn, noJTI), "InvalidGrantException", 400, "invalid_grant", "only once"},
		{"user not in Identity Center (dave)", br, jwtBearer(appArn, iss.Token(t, "dave@example.com", now)), "InvalidGrantException", 400, "invalid_grant", "no Identity Center user"},
		{"two users with the email", br, jwtBearer(appArn, iss.Token(t, "twin@example.com", now)), "InvalidGrantException", 400, "invalid_grant", "exactly one user"},
		{"no email claim", br, jwtBearer(appArn, iss.Mint(t, alice(func(c map[string]any) { delete(c, "email") }))), "InvalidGrantException", 400, "invalid_grant", `no "email" claim`},
		{"unassigned user (erin)", br, jwtBearer(appArn, iss.Token(t, "erin@example.com", now)), "AccessDeniedException", 400, "access_denied", "not assigned"},
		{"caller not in the actor policy (admin)", ststest.Admin(), jwtBearer(appArn, iss.Token(t, "alice@example.com", now)), "AccessDeniedException", 400, "access_denied", "actor policy"},
		{"caller's identity policy lacks the action", ststest.CredsOf(enh.Credentials), jwtBearer(appArn, iss.Token(t, "alice@example.com", now)), "AccessDeniedException", 400, "access_denied", "is not authorized to perform: sso-oauth:CreateTokenWithIAM"},
		{"unknown application", br, jwtBearer(strings.Replace(appArn, "apl-", "apl-0", 1), iss.Token(t, "alice@example.com", now)), "InvalidClientException", 401, "invalid_client", "no Identity Center application"},
		{"disabled application", br, jwtBearer(disabled, iss.Token(t, "alice@example.com", now)), "InvalidClientException", 401, "invalid_client", "DISABLED"},
		{"unknown grant type", br, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn), GrantType: aws.String("password")}, "UnsupportedGrantTypeException", 400, "unsupported_grant_type", "password"},
		{"authorization_code on an application without the grant", br, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn), GrantType: aws.String("authorization_code"), Code: aws.String("c"), RedirectUri: aws.String("http://127.0.0.1/cb")},
			"UnauthorizedClientException", 400, "unauthorized_client", "authorization_code"},
		{"missing assertion", br, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn), GrantType: aws.String(identitycenter.GrantJWTBearer)}, "InvalidRequestException", 400, "invalid_request", "assertion"},
		{"empty clientId", br, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(""), GrantType: aws.String(identitycenter.GrantJWTBearer)}, "InvalidRequestException", 400, "invalid_request", "clientId"},
		{"unknown scope", br, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn), GrantType: aws.String(identitycenter.GrantJWTBearer),
			Assertion: aws.String(iss.Token(t, "alice@example.com", now)), Scope: []string{"s3:everything"}}, "InvalidScopeException", 400, "invalid_scope", "s3:everything"},
		{"unknown refresh token", br, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(appArn), GrantType: aws.String("refresh_token"), RefreshToken: aws.String("aorAAAAAGnot-a-real-token")},
			"InvalidGrantException", 400, "invalid_grant", "refresh token"},
		{"unsigned", nil, jwtBearer(appArn, iss.Token(t, "alice@example.com", now)), "MissingAuthenticationTokenException", 403, "", "Authentication Token"},
		{"wrong secret", ststest.Static("test", "wrong-secret", ""), jwtBearer(appArn, iss.Token(t, "alice@example.com", now)), "InvalidSignatureException", 403, "", "signature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ststest.OIDC(sb, c.creds).CreateTokenWithIAM(ctx, c.in)
			msg := wantError(t, err, c.code, c.status)
			if c.oauth != "" {
				// The modeled SSO OIDC errors carry their text in error_description.
				oe, desc := oauthDescription(err)
				if oe != c.oauth || desc == "" {
					t.Errorf("OAuth error = %q %q, want %q with a description", oe, desc, c.oauth)
				}
				msg = desc
			}
			if !strings.Contains(msg, c.msg) {
				t.Errorf("message %q does not mention %q", msg, c.msg)
			}
			if c.in.Assertion != nil && len(*c.in.Assertion) > 20 && strings.Contains(msg, *c.in.Assertion) {
				t.Errorf("the message echoes the assertion")
			}
			// The sandbox still serves: a fresh token exchanges.
			if _, err := ststest.OIDC(sb, br).CreateTokenWithIAM(ctx, jwtBearer(appArn, iss.Token(t, "bob@example.com", sb.Env.Now()))); err != nil {
				t.Fatalf("the sandbox no longer exchanges tokens: %v", err)
			}
		})
	}
}

// TestOIDCWire checks the raw restJson1 error shape and routing.
func TestOIDCWire(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	now := sb.Env.Now()
	admin := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	appArn := ststest.AppArn(t, sb, appName)
	body := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	cases := []struct {
		name, method, path, body string
		creds                    *aws.Credentials
		at                       time.Time
		status                   int
		code, oauth              string
	}{
		{"malformed JSON", "POST", "/token?aws_iam=t", `{"clientId": "x", `, &admin, now, 400, "InvalidRequestException", "invalid_request"},
		{"wrong JSON type", "POST", "/token?aws_iam=t", `{"clientId": 7, "grantType": "x"}`, &admin, now, 400, "InvalidRequestException", "invalid_request"},
		{"unknown path", "POST", "/tokens?aws_iam=t", `{}`, &admin, now, 404, "UnknownOperationException", ""},
		{"GET /token", "GET", "/token?aws_iam=t", ``, &admin, now, 404, "UnknownOperationException", ""},
		{"CreateToken (no aws_iam)", "POST", "/token", body(map[string]any{"clientId": "x", "clientSecret": "y", "grantType": "refresh_token"}), nil, now, 401, "InvalidClientException", "invalid_client"},
		{"unsigned", "POST", "/token?aws_iam=t", body(map[string]any{"clientId": appArn, "grantType": identitycenter.GrantJWTBearer}), nil, now, 403, "MissingAuthenticationTokenException", ""},
		{"clock 20 minutes behind", "POST", "/token?aws_iam=t", `{}`, &admin, now.Add(-20 * time.Minute), 403, "InvalidSignatureException", ""},
		{"admin is not in the actor policy", "POST", "/token?aws_iam=t", body(map[string]any{"clientId": appArn, "grantType": identitycenter.GrantJWTBearer,
			"assertion": iss.Token(t, "alice@example.com", now)}), &admin, now, 400, "AccessDeniedException", "access_denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, b := ststest.Raw(t, sb, c.method, c.path, "application/json", c.body, c.creds, "sso-oauth", c.at)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, b)
			}
			if got := hdr.Get("X-Amzn-ErrorType"); got != c.code {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, c.code)
			}
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("error body is not JSON: %s", b)
			}
			if c.oauth != "" && (doc["error"] != c.oauth || doc["error_description"] == "" || doc["error_description"] == nil) {
				t.Errorf("body = %s, want error %q with a description", b, c.oauth)
			}
			if hdr.Get("x-amzn-RequestId") == "" {
				t.Errorf("no request id")
			}
		})
	}
}
