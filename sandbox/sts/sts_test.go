package sts_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/identitycenter"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// TestChain drives the whole identity plane as tipctl does: IdP token →
// AssumeRoleWithWebIdentity (bridge) → CreateTokenWithIAM → AssumeRole with
// ProvidedContexts → GetCallerIdentity with the identity-enhanced session.
func TestChain(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	now := sb.Env.Now()

	// 1. The bridge session, from an IdP token (unsigned call).
	idToken := iss.Token(t, "alice@example.com", now)
	wi, err := webIdentity(ctx, sb, idToken, "tip-bridge", "alice-bridge")
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	bridgeRole, _ := sb.Env.IAM.RoleByName("tip-bridge")
	provider, _ := sb.Env.IAM.ProviderForIssuer(ststest.DefaultIssuer)
	if got, want := *wi.AssumedRoleUser.Arn, "arn:aws:sts::123456789012:assumed-role/tip-bridge/alice-bridge"; got != want {
		t.Errorf("AssumedRoleUser.Arn = %s, want %s", got, want)
	}
	if got, want := *wi.AssumedRoleUser.AssumedRoleId, bridgeRole.RoleID+":alice-bridge"; got != want {
		t.Errorf("AssumedRoleId = %s, want %s", got, want)
	}
	if *wi.SubjectFromWebIdentityToken != "sub-alice-at-example.com" || *wi.Audience != "tipctl" || *wi.Provider != provider.Arn {
		t.Errorf("subject/audience/provider = %s/%s/%s", *wi.SubjectFromWebIdentityToken, *wi.Audience, *wi.Provider)
	}
	if !strings.HasPrefix(*wi.Credentials.AccessKeyId, "ASIA") || *wi.Credentials.SessionToken == "" {
		t.Errorf("credentials = %s", *wi.Credentials.AccessKeyId)
	}
	if d := wi.Credentials.Expiration.Sub(now); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("bridge session lasts %v, want 1h", d)
	}
	bridgeCreds := ststest.CredsOf(wi.Credentials)

	// 2. The Identity Center token, with the bridge session.
	appArn := ststest.AppArn(t, sb, appName)
	tok, err := ststest.OIDC(sb, bridgeCreds).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(appArn), GrantType: aws.String(identitycenter.GrantJWTBearer), Assertion: aws.String(idToken),
	})
	if err != nil {
		t.Fatalf("CreateTokenWithIAM: %v", err)
	}
	alice := sb.Env.World.IdentityCenter.Users[0]
	if alice.UserName != "alice" {
		t.Fatalf("the default world's first IdC user is %s", alice.UserName)
	}
	claims := ststest.DecodeJWT(t, *tok.IdToken)
	if claims["sub"] != alice.UserID || claims["aud"] != appArn || claims["sts:identity_context"] != *tok.AwsAdditionalDetails.IdentityContext {
		t.Errorf("id token claims = %v", claims)
	}
	if !strings.HasPrefix(claims["iss"].(string), "https://identitycenter.amazonaws.com/ssoins-") {
		t.Errorf("id token iss = %v", claims["iss"])
	}

	// 3. The identity-enhanced session.
	enh, err := assumeEnhanced(ctx, sb, bridgeCreds, "tip-enhanced", *tok.AwsAdditionalDetails.IdentityContext,
		func(in *awssts.AssumeRoleInput) { in.RoleSessionName = aws.String("alice-enhanced") })
	if err != nil {
		t.Fatalf("AssumeRole with ProvidedContexts: %v", err)
	}
	if got, want := *enh.AssumedRoleUser.Arn, "arn:aws:sts::123456789012:assumed-role/tip-enhanced/alice-enhanced"; got != want {
		t.Errorf("enhanced Arn = %s, want %s", got, want)
	}

	// 4. GetCallerIdentity with the enhanced credentials.
	who, err := ststest.STS(sb, ststest.CredsOf(enh.Credentials)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	enhancedRole, _ := sb.Env.IAM.RoleByName("tip-enhanced")
	if *who.Arn != *enh.AssumedRoleUser.Arn || *who.Account != "123456789012" || *who.UserId != enhancedRole.RoleID+":alice-enhanced" {
		t.Errorf("GetCallerIdentity = %s %s %s", *who.Arn, *who.Account, *who.UserId)
	}

	// The session the registry holds carries the person.
	p, ok := sb.Env.Registry.Resolve(*enh.Credentials.AccessKeyId, *enh.Credentials.SessionToken)
	if !ok {
		t.Fatalf("the enhanced session is not registered")
	}
	if p.Context == nil {
		t.Fatalf("the enhanced session has no identity context")
	}
	if p.Context.Provider != auth.IdentityCenterProvider || p.Context.UserID != alice.UserID || p.Context.UserName != "alice" ||
		p.Context.Email != "alice@example.com" || p.Context.ApplicationArn != appArn {
		t.Errorf("context = %+v", p.Context)
	}
	groups := p.Context.GroupNames()
	sort.Strings(groups)
	if strings.Join(groups, ",") != "analysts,emea-sales" {
		t.Errorf("groups = %v", groups)
	}
	if !p.Chained || p.RoleArn != enhancedRole.Arn || len(p.Policies) == 0 {
		t.Errorf("principal = chained %v role %s policies %d", p.Chained, p.RoleArn, len(p.Policies))
	}
	if p.Expiration.After(p.Context.ExpiresAt) {
		t.Errorf("session expires %v after its context %v", p.Expiration, p.Context.ExpiresAt)
	}
	for op, want := range map[string]int64{"sts:AssumeRoleWithWebIdentity": 1, "sso-oauth:CreateTokenWithIAM": 1, "sts:AssumeRole": 1, "sts:GetCallerIdentity": 1} {
		if got := sb.Env.Stats.Get(op); got != want {
			t.Errorf("stats %s = %d, want %d", op, got, want)
		}
	}
}

// TestWebIdentityErrors feeds AssumeRoleWithWebIdentity hostile and broken input.
func TestWebIdentityErrors(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	now := sb.Env.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := iss.Claims("alice@example.com", now)
		if mod != nil {
			mod(c)
		}
		return c
	}
	good := iss.Mint(t, claims(nil))
	long := strings.Repeat("a", 65)
	cases := []struct {
		name, token, role, session string
		duration                   int32
		code                       string
		status                     int
		msg                        string
	}{
		{"forged signature", iss.Forge(t, claims(nil)), "tip-bridge", "s1", 0, "InvalidIdentityToken", 400, "signature"},
		{"expired", iss.Mint(t, claims(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-3*time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
		})), "tip-bridge", "s1", 0, "ExpiredTokenException", 400, "expired"},
		{"alg none", iss.AlgNone(claims(nil)), "tip-bridge", "s1", 0, "InvalidIdentityToken", 400, "algorithm"},
		{"HS256 with the public key", iss.HS256Confused(claims(nil)), "tip-bridge", "s1", 0, "InvalidIdentityToken", 400, "algorithm"},
		{"wrong aud", iss.Mint(t, claims(func(c map[string]any) { c["aud"] = "someone-else" })), "tip-bridge", "s1", 0, "InvalidIdentityToken", 400, "audience"},
		{"unknown iss", iss.Mint(t, claims(func(c map[string]any) { c["iss"] = "https://evil.example" })), "tip-bridge", "s1", 0,
			"InvalidIdentityToken", 400, "No OpenIDConnect provider found in your account for https://evil.example"},
		{"not a JWT", "not-a-jwt-at-all", "tip-bridge", "s1", 0, "InvalidIdentityToken", 400, "JWT"},
		{"trust does not name the provider", good, "tip-enhanced", "s1", 0, "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"unknown role", good, "no-such-role", "s1", 0, "AccessDenied", 403, "Not authorized"},
		{"duration above the role's max", good, "tip-bridge", "s1", 7200, "ValidationError", 400, "MaxSessionDuration"},
		{"duration below 900", good, "tip-bridge", "s1", 600, "ValidationError", 400, "greater than or equal to 900"},
		{"empty session name", good, "tip-bridge", "", 0, "ValidationError", 400, "roleSessionName"},
		{"session name too long", good, "tip-bridge", long, 0, "ValidationError", 400, "less than or equal to 64"},
		{"session name with a space", good, "tip-bridge", "a b", 0, "ValidationError", 400, "regular expression"},
		{"empty token", "", "tip-bridge", "s1", 0, "ValidationError", 400, "webIdentityToken"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &awssts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(ststest.Role(sb, c.role)),
				RoleSessionName: aws.String(c.session), WebIdentityToken: aws.String(c.token)}
			if c.duration != 0 {
				in.DurationSeconds = aws.Int32(c.duration)
			}
			_, err := ststest.STS(sb, nil).AssumeRoleWithWebIdentity(ctx, in)
			msg := ststest.WantAPIError(t, err, c.code, c.status)
			if !strings.Contains(msg, c.msg) {
				t.Errorf("message %q does not mention %q", msg, c.msg)
			}
			if strings.Contains(msg, c.token) && c.token != "" {
				t.Errorf("the message echoes the token")
			}
			stillServes(t, sb)
		})
	}
	// The modeled errors decode to the SDK's typed errors.
	_, err := webIdentity(ctx, sb, iss.Forge(t, claims(nil)), "tip-bridge", "s1")
	var bad *ststypes.InvalidIdentityTokenException
	if !errors.As(err, &bad) {
		t.Errorf("forged token: %T is not *types.InvalidIdentityTokenException", err)
	}
	_, err = webIdentity(ctx, sb, iss.Mint(t, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })), "tip-bridge", "s1")
	var expired *ststypes.ExpiredTokenException
	if !errors.As(err, &expired) {
		t.Errorf("expired token: %T is not *types.ExpiredTokenException", err)
	}
	// Oversized RoleArn.
	_, err = ststest.STS(sb, nil).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/" + strings.Repeat("r", 2048)), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(good)})
	ststest.WantAPIError(t, err, "ValidationError", 400)
	// A malformed RoleArn.
	_, err = ststest.STS(sb, nil).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("this-is-not-an-arn-at-all"), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(good)})
	ststest.WantAPIError(t, err, "ValidationError", 400)
	// Session policies are refused rather than ignored.
	_, err = ststest.STS(sb, nil).AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(ststest.Role(sb, "tip-bridge")), RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String(good),
		Policy: aws.String("{not json")})
	ststest.WantAPIError(t, err, "MalformedPolicyDocument", 400)
	// The good token still works after all of that (it is not single-use at STS).
	if _, err := webIdentity(ctx, sb, good, "tip-bridge", "s1"); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if got := sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity"); got != int64(len(cases))+6 {
		t.Errorf("stats sts:AssumeRoleWithWebIdentity = %d, want %d (failed calls count too)", got, len(cases)+6)
	}
}

// TestAssumeRoleErrors covers AssumeRole's authorization and validation.
func TestAssumeRoleErrors(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	bridgeCreds := bridge(t, sb, iss, "alice@example.com")
	tok := identityContext(t, sb, iss, bridgeCreds, "alice@example.com")
	assertion := *tok.AwsAdditionalDetails.IdentityContext

	// The role without sts:SetContext in its trust policy.
	_, err := assumeEnhanced(ctx, sb, bridgeCreds, "tip-no-setcontext", assertion)
	msg := ststest.WantAPIError(t, err, "AccessDenied", 403)
	if !strings.Contains(msg, "sts:SetContext") {
		t.Errorf("message %q does not name sts:SetContext", msg)
	}
	// Without a context the same role can be assumed: the refusal is about SetContext.
	if _, err := ststest.STS(sb, bridgeCreds).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(ststest.Role(sb, "tip-no-setcontext")), RoleSessionName: aws.String("plain")}); err != nil {
		t.Fatalf("plain AssumeRole of tip-no-setcontext: %v", err)
	}

	// A context sealed by another sandbox (a forgery as far as this one knows).
	other, err := auth.NewSealer()
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.SealContext(&auth.IdentityContext{Provider: auth.IdentityCenterProvider, UserID: "carol", ExpiresAt: sb.Env.Now().Add(time.Hour)}, sb.Env.Now())
	tampered := assertion[:len(assertion)-4] + flip(assertion[len(assertion)-4:])

	admin := ststest.Admin()
	cases := []struct {
		name   string
		creds  aws.CredentialsProvider
		in     *awssts.AssumeRoleInput
		code   string
		status int
		msg    string
	}{
		{"forged context", bridgeCreds, enhancedInput(sb, forged), "InvalidParameterValue", 400, "not issued"},
		{"tampered context", bridgeCreds, enhancedInput(sb, tampered), "InvalidParameterValue", 400, "altered"},
		{"context for another provider", bridgeCreds, withProvider(enhancedInput(sb, assertion), auth.QuickSightProvider), "InvalidParameterValue", 400, "QuickSight"},
		{"unknown context provider", bridgeCreds, withProvider(enhancedInput(sb, assertion), "arn:aws:iam::aws:contextProvider/Nope"), "InvalidParameterValue", 400, "not a context provider"},
		{"assertion too long", bridgeCreds, enhancedInput(sb, strings.Repeat("x", 2049)), "ValidationError", 400, "contextAssertion"},
		{"assertion too short", bridgeCreds, enhancedInput(sb, "abc"), "ValidationError", 400, "contextAssertion"},
		{"six contexts", bridgeCreds, sixContexts(sb, assertion), "ValidationError", 400, "less than or equal to 5"},
		{"unknown role", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/no-such-role"), RoleSessionName: aws.String("x1")},
			"AccessDenied", 403, "is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/no-such-role"},
		{"role of another account", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::999999999999:role/tip-enhanced"), RoleSessionName: aws.String("x1")},
			"AccessDenied", 403, "not authorized"},
		{"malformed role ARN", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:s3:::a-bucket-not-a-role"), RoleSessionName: aws.String("x1")},
			"ValidationError", 400, "ARN is invalid"},
		{"role ARN too long", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/" + strings.Repeat("r", 2030)), RoleSessionName: aws.String("x1")},
			"ValidationError", 400, "less than or equal to 2048"},
		{"trust does not name the caller", admin, enhancedInput(sb, assertion), "AccessDenied", 403, "user/admin is not authorized to perform: sts:AssumeRole"},
		{"chained session above one hour", bridgeCreds, withDuration(enhancedInput(sb, assertion), 7200), "ValidationError", 400, "role chaining"},
		{"above the role's MaxSessionDuration", admin, withDuration(&awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")), RoleSessionName: aws.String("x1")}, 7200),
			"ValidationError", 400, "MaxSessionDuration"},
		{"below 900 seconds", admin, withDuration(&awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")), RoleSessionName: aws.String("x1")}, 899),
			"ValidationError", 400, "greater than or equal to 900"},
		{"above 43200 seconds", admin, withDuration(&awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")), RoleSessionName: aws.String("x1")}, 43201),
			"ValidationError", 400, "less than or equal to 43200"},
		{"empty session name", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "tip-enhanced")), RoleSessionName: aws.String("")},
			"ValidationError", 400, "roleSessionName"},
		{"session name of 65 characters", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "tip-enhanced")), RoleSessionName: aws.String(strings.Repeat("s", 65))},
			"ValidationError", 400, "less than or equal to 64"},
		{"session name with a slash", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "tip-enhanced")), RoleSessionName: aws.String("a/b")},
			"ValidationError", 400, "regular expression"},
		{"source identity with aws: prefix", admin, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")), RoleSessionName: aws.String("x1"), SourceIdentity: aws.String("aws:me")},
			"ValidationError", 400, "aws:"},
		{"source identity without sts:SetSourceIdentity", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "tip-no-setcontext")), RoleSessionName: aws.String("x1"), SourceIdentity: aws.String("alice")},
			"AccessDenied", 403, "sts:SetSourceIdentity"},
		{"session tags without sts:TagSession", bridgeCreds, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "tip-enhanced")), RoleSessionName: aws.String("x1"),
			Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("emea")}}}, "AccessDenied", 403, "sts:TagSession"},
		{"session policy", admin, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")), RoleSessionName: aws.String("x1"),
			Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}, "ValidationError", 400, "session policies"},
		{"unsigned", nil, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")), RoleSessionName: aws.String("x1")},
			"MissingAuthenticationToken", 403, "Authentication Token"},
		{"wrong secret", ststest.Static("test", "not-the-secret", ""), &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")), RoleSessionName: aws.String("x1")},
			"SignatureDoesNotMatch", 403, "signature"},
		{"unknown access key", ststest.Static("AKIAUNKNOWNUNKNOWN00", "x", ""), &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")), RoleSessionName: aws.String("x1")},
			"InvalidClientTokenId", 403, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ststest.STS(sb, c.creds).AssumeRole(ctx, c.in)
			msg := ststest.WantAPIError(t, err, c.code, c.status)
			if !strings.Contains(msg, c.msg) {
				t.Errorf("message %q does not mention %q", msg, c.msg)
			}
			if strings.Contains(msg, assertion) || strings.Contains(msg, "not-the-secret") {
				t.Errorf("the message leaks a secret: %q", msg)
			}
			stillServes(t, sb)
		})
	}

	// Admin may assume admin-target, with a source identity and session tags its trust allows.
	out, err := ststest.STS(sb, admin).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(ststest.Role(sb, "admin-target")),
		RoleSessionName: aws.String("admin-session"), DurationSeconds: aws.Int32(900), SourceIdentity: aws.String("admin-person"),
		Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}})
	if err != nil {
		t.Fatalf("admin AssumeRole: %v", err)
	}
	if *out.SourceIdentity != "admin-person" || out.PackedPolicySize == nil {
		t.Errorf("SourceIdentity %v PackedPolicySize %v", out.SourceIdentity, out.PackedPolicySize)
	}
	p, _ := sb.Env.Registry.Resolve(*out.Credentials.AccessKeyId, *out.Credentials.SessionToken)
	if p == nil || p.Chained || p.SourceIdentity != "admin-person" || p.Context != nil {
		t.Errorf("admin-target session = %+v", p)
	}
	if d := out.Credentials.Expiration.Sub(sb.Env.Now()); d > 901*time.Second || d < 890*time.Second {
		t.Errorf("DurationSeconds 900 gave %v", d)
	}
}

func enhancedInput(sb interface{ URL() string }, assertion string) *awssts.AssumeRoleInput {
	return &awssts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/tip-enhanced"), RoleSessionName: aws.String("enhanced"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(auth.IdentityCenterProvider), ContextAssertion: aws.String(assertion)}},
	}
}

func withProvider(in *awssts.AssumeRoleInput, arn string) *awssts.AssumeRoleInput {
	in.ProvidedContexts[0].ProviderArn = aws.String(arn)
	return in
}

func withDuration(in *awssts.AssumeRoleInput, d int32) *awssts.AssumeRoleInput {
	in.DurationSeconds = aws.Int32(d)
	return in
}

func sixContexts(sb interface{ URL() string }, assertion string) *awssts.AssumeRoleInput {
	in := enhancedInput(sb, assertion)
	for len(in.ProvidedContexts) < 6 {
		in.ProvidedContexts = append(in.ProvidedContexts, in.ProvidedContexts[0])
	}
	return in
}

// flip changes the characters of s (base64url) so the signature no longer verifies.
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// TestContextExpiry: an identity context cannot be used after it expires,
// and a session made from it never outlives it.
func TestContextExpiry(t *testing.T) {
	sb, iss := ststest.Start(t, nil)
	ctx := context.Background()
	first := bridge(t, sb, iss, "alice@example.com")
	tok := identityContext(t, sb, iss, first, "alice@example.com")
	assertion := *tok.AwsAdditionalDetails.IdentityContext

	// 50 minutes later: a new bridge session (the first one has 10 minutes left).
	sb.Env.Advance(50 * time.Minute)
	second := bridge(t, sb, iss, "alice@example.com")
	enh, err := assumeEnhanced(ctx, sb, second, "tip-enhanced", assertion)
	if err != nil {
		t.Fatalf("AssumeRole with a 10-minute-old context: %v", err)
	}
	if left := enh.Credentials.Expiration.Sub(sb.Env.Now()); left > 11*time.Minute {
		t.Errorf("the enhanced session lasts %v, longer than its context (10 min)", left)
	}

	// 15 minutes more: the context has expired; the second bridge session has not.
	sb.Env.Advance(15 * time.Minute)
	_, err = assumeEnhanced(ctx, sb, second, "tip-enhanced", assertion)
	ststest.WantAPIError(t, err, "ExpiredTokenException", 400)
	var typed *ststypes.ExpiredTokenException
	if !errors.As(err, &typed) {
		t.Errorf("%T is not the modeled *types.ExpiredTokenException", err)
	}
	// The first bridge session and the enhanced session have expired for real.
	_, err = ststest.STS(sb, first).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	ststest.WantAPIError(t, err, "ExpiredToken", 400)
	_, err = ststest.STS(sb, ststest.CredsOf(enh.Credentials)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	ststest.WantAPIError(t, err, "ExpiredToken", 400)
	// The second bridge session still works.
	if _, err := ststest.STS(sb, second).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("live bridge session refused: %v", err)
	}
	stillServes(t, sb)
}

// TestWire sends raw requests the SDKs would never send.
func TestWire(t *testing.T) {
	sb, _ := ststest.Start(t, nil)
	admin := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	form := "application/x-www-form-urlencoded; charset=utf-8"
	now := sb.Env.Now()
	cases := []struct {
		name, path, body string
		creds            *aws.Credentials
		at               time.Time
		status           int
		code             string
	}{
		{"unknown Action", "/", "Action=Frobnicate&Version=2011-06-15", nil, now, 400, "InvalidAction"},
		{"unimplemented Action", "/", "Action=GetSessionToken&Version=2011-06-15", &admin, now, 400, "InvalidAction"},
		{"wrong Version", "/", "Action=GetCallerIdentity&Version=2099-01-01", &admin, now, 400, "InvalidAction"},
		{"missing Action", "/", "Version=2011-06-15", nil, now, 400, "MissingAction"},
		{"malformed form", "/", "Action=GetCallerIdentity&Version=2011-06-15&x=%zz", &admin, now, 400, "MalformedQueryString"},
		{"unknown path", "/not-sts", "Action=GetCallerIdentity&Version=2011-06-15", &admin, now, 404, "InvalidAction"},
		{"clock 20 minutes behind", "/", "Action=GetCallerIdentity&Version=2011-06-15", &admin, now.Add(-20 * time.Minute), 403, "RequestTimeTooSkewed"},
		{"clock 20 minutes ahead", "/", "Action=GetCallerIdentity&Version=2011-06-15", &admin, now.Add(20 * time.Minute), 403, "RequestTimeTooSkewed"},
		{"unsigned GetCallerIdentity", "/", "Action=GetCallerIdentity&Version=2011-06-15", nil, now, 403, "MissingAuthenticationToken"},
		{"AssumeRole with parameters in any order", "/", "RoleSessionName=x1&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fadmin-target&Version=2011-06-15&Action=AssumeRole", &admin, now, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := ststest.Raw(t, sb, "POST", c.path, form, c.body, c.creds, "sts", c.at)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			if hdr.Get("x-amzn-RequestId") == "" {
				t.Errorf("no x-amzn-RequestId header")
			}
			if c.code == "" {
				if !strings.Contains(string(body), "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">") {
					t.Errorf("reply = %s", body)
				}
				return
			}
			if q := parseQueryError(t, body); q.Error.Code != c.code {
				t.Errorf("code %s, want %s: %s", q.Error.Code, c.code, q.Error.Message)
			}
		})
	}
	// GET with a query string is awsQuery too.
	status, _, body := ststest.Raw(t, sb, "GET", "/?Action=GetCallerIdentity&Version=2011-06-15", "", "", &admin, "sts", now)
	if status != 200 || !strings.Contains(string(body), "<Arn>arn:aws:iam::123456789012:user/admin</Arn>") {
		t.Errorf("GET GetCallerIdentity: %d %s", status, body)
	}
	stillServes(t, sb)
}
