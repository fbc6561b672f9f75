// Package exchange turns an IdP id_token into an identity-enhanced AWS role
// session through the three calls of trusted identity propagation:
//
//  1. sts:AssumeRoleWithWebIdentity(bridge role, id_token)  → bridge session
//  2. sso-oauth:CreateTokenWithIAM(application, jwt-bearer)  → Identity Center token
//  3. sts:AssumeRole(enhanced role, ProvidedContexts)        → identity-enhanced session
//
// Provider exposes the chain as an aws.CredentialsProvider, so any Go
// program can use it with aws-sdk-go-v2 clients.
package exchange

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/tip/awsconf"
)

// JWTBearerGrant is the grant type CreateTokenWithIAM uses for IdP assertions.
const JWTBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// IdentityCenterProvider is the context provider ARN of Identity Center.
const IdentityCenterProvider = "arn:aws:iam::aws:contextProvider/IdentityCenter"

// Config describes one chain.
type Config struct {
	// AWS is the base configuration: region, endpoint, HTTP client, retries.
	// Its credentials are not used: step 1 is unsigned, steps 2 and 3 use
	// the bridge session.
	AWS aws.Config
	// IdentityCenterRegion is the region of the Identity Center instance
	// (defaults to AWS.Region).
	IdentityCenterRegion string
	// IDToken returns a currently valid IdP id_token.
	IDToken func(ctx context.Context) (string, error)

	ApplicationArn  string
	BridgeRoleArn   string
	EnhancedRoleArn string
	// Ambient, when set with no BridgeRoleArn, replaces the bridge
	// session: these credentials (an EC2 instance role, a named AWS
	// profile) call CreateTokenWithIAM and assume the enhanced role, and
	// step 1 is skipped. The Identity Center application's actor policy
	// and the enhanced role's trust must then name their principal.
	Ambient aws.CredentialsProvider
	// BridgeDuration and EnhancedDuration default to 15 minutes and 1 hour.
	BridgeDuration   time.Duration
	EnhancedDuration time.Duration
	// SessionName names the enhanced session; default "tip-<Identity Center user id>".
	SessionName string
	// SourceIdentity is set on the enhanced session when not empty.
	SourceIdentity string
}

// Result is what one run of the chain produced.
type Result struct {
	Credentials aws.Credentials
	// AssumedRoleArn is the enhanced session's ARN.
	AssumedRoleArn string
	// User is the Identity Center identity carried by the session.
	User Identity
	// RoundTrips counts the AWS calls made (3 on success).
	RoundTrips int
}

// Identity is the Identity Center user decoded from the token reply.
type Identity struct {
	UserID          string `json:"user_id"`
	IdentityStoreID string `json:"identity_store_id,omitempty"`
	ApplicationArn  string `json:"application_arn,omitempty"`
}

// StepError says which call of the chain failed and why.
type StepError struct {
	Step    int    // 1, 2 or 3
	Call    string // e.g. "sts:AssumeRoleWithWebIdentity"
	Code    string // the AWS error code, when AWS answered
	Message string
	Hint    string
	Err     error
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %d (%s) failed", e.Step, e.Call)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// MaxAssertionAttempts bounds how many IdP tokens Run sends to
// CreateTokenWithIAM when the answer is lost in transit.
const MaxAssertionAttempts = 2

// Run executes the chain once.
//
// An IdP assertion can be exchanged only once, and a CreateTokenWithIAM
// request whose answer was lost (a reset connection, a timeout, a 5xx) may
// well have been processed: resending the same assertion, as the SDK's
// retryer would, can only fail with InvalidGrantException. So step 2 is
// sent exactly once per assertion, and when its answer is lost in a way
// the SDK would retry, Run starts over with a new assertion from IDToken
// (at most MaxAssertionAttempts in all). IDToken must therefore return a
// token it has not returned before (tip/session refreshes the id_token for
// that); a token function that returns the same token again gets the
// InvalidGrantException it would have got anyway.
func Run(ctx context.Context, c Config) (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	// A reply lost to the SDK's own body handling would cost an assertion
	// (see awsconf.SafeBodies).
	c.AWS = c.AWS.Copy()
	c.AWS.HTTPClient = awsconf.SafeBodies(c.AWS.HTTPClient)
	var trips int
	var lost error
	for attempt := 1; ; attempt++ {
		res, err := runOnce(ctx, c)
		trips += res.RoundTrips
		if err == nil {
			res.RoundTrips = trips
			return res, nil
		}
		var se *StepError
		if lost != nil && !errors.As(err, &se) {
			// No new assertion to send: report the lost answer, which is
			// what went wrong.
			return nil, lost
		}
		if attempt >= MaxAssertionAttempts || se == nil && !errors.As(err, &se) || se.Step != 2 || !se.lost() || ctx.Err() != nil {
			return nil, err
		}
		lost = err
	}
}

// lost reports whether a step's answer was lost in a way that the SDK
// would retry: no answer, or a server error, so the request may or may
// not have been processed.
func (e *StepError) lost() bool {
	return e.Err != nil && !refused(e.Err) && retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(e.Err) == aws.TrueTernary
}

// refused reports whether err is an answer with a 4xx status: the service
// refused the request (authentication, clock skew, throttling, a bad
// parameter) and did not act on it.
func refused(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500
}

// refusedOnly lets the SDK retry a call only when the service refused it,
// never when the answer was lost or the service failed midway.
type refusedOnly struct{ aws.Retryer }

func (r refusedOnly) IsErrorRetryable(err error) bool {
	return refused(err) && r.Retryer.IsErrorRetryable(err)
}

// runOnce runs the three calls with one assertion; res is non-nil (with
// the round trips made) even on failure.
func runOnce(ctx context.Context, c Config) (res *Result, err error) {
	res = &Result{}
	token, err := c.IDToken(ctx)
	if err != nil {
		return res, err
	}
	bridgeDur, enhancedDur := durationOr(c.BridgeDuration, 15*time.Minute), durationOr(c.EnhancedDuration, time.Hour)

	// 1. Bridge session from the IdP token (unsigned call), unless the
	// ambient credentials stand in for it.
	var bridgeCreds aws.CredentialsProvider
	if c.BridgeRoleArn == "" && c.Ambient != nil {
		bridgeCreds = c.Ambient
	} else {
		anon := c.AWS.Copy()
		anon.Credentials = aws.AnonymousCredentials{}
		stsAnon := sts.NewFromConfig(anon)
		res.RoundTrips++
		web, err := stsAnon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn:          aws.String(c.BridgeRoleArn),
			RoleSessionName:  aws.String("tipctl-bridge-" + time.Now().UTC().Format("20060102T150405")),
			WebIdentityToken: aws.String(token),
			DurationSeconds:  aws.Int32(int32(bridgeDur / time.Second)),
		})
		if err != nil {
			return res, stepError(1, "sts:AssumeRoleWithWebIdentity", err)
		}
		bridgeCreds = aws.NewCredentialsCache(staticProvider{credentialsOf(web.Credentials)})
	}

	// 2. Identity Center token for the person.
	idcCfg := c.AWS.Copy()
	idcCfg.Credentials = bridgeCreds
	if c.IdentityCenterRegion != "" {
		idcCfg.Region = c.IdentityCenterRegion
	}
	res.RoundTrips++
	// The assertion is single-use (see Run): the SDK may retry only what
	// Identity Center refused without processing (clock skew, throttling).
	tok, err := ssooidc.NewFromConfig(idcCfg, func(o *ssooidc.Options) { o.Retryer = refusedOnly{o.Retryer} }).
		CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
			ClientId:  aws.String(c.ApplicationArn),
			GrantType: aws.String(JWTBearerGrant),
			Assertion: aws.String(token),
		})
	if err != nil {
		return res, stepError(2, "sso-oauth:CreateTokenWithIAM", err)
	}
	identityContext, ident, err := identityContextOf(tok)
	if err != nil {
		return res, &StepError{Step: 2, Call: "sso-oauth:CreateTokenWithIAM", Message: err.Error(),
			Hint: "the Identity Center reply carried no sts:identity_context; check the application's scopes", Err: err}
	}
	res.User = ident

	// 3. Identity-enhanced session.
	bridgeCfg := c.AWS.Copy()
	bridgeCfg.Credentials = bridgeCreds
	name := c.SessionName
	if name == "" {
		name = SessionName(ident.UserID)
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(c.EnhancedRoleArn),
		RoleSessionName: aws.String(name),
		DurationSeconds: aws.Int32(int32(enhancedDur / time.Second)),
		ProvidedContexts: []ststypes.ProvidedContext{{
			ProviderArn:      aws.String(IdentityCenterProvider),
			ContextAssertion: aws.String(identityContext),
		}},
	}
	if c.SourceIdentity != "" {
		in.SourceIdentity = aws.String(c.SourceIdentity)
	}
	res.RoundTrips++
	out, err := sts.NewFromConfig(bridgeCfg).AssumeRole(ctx, in)
	if err != nil {
		return res, stepError(3, "sts:AssumeRole", err)
	}
	res.Credentials = credentialsOf(out.Credentials)
	if out.AssumedRoleUser != nil {
		res.AssumedRoleArn = aws.ToString(out.AssumedRoleUser.Arn)
	}
	return res, nil
}

var sessionNameChars = lazyre.New(`[^\w+=,.@-]`)

// SessionName returns "tip-<user id>" cut to the 64 characters STS allows.
func SessionName(userID string) string {
	n := "tip-" + sessionNameChars.ReplaceAllString(userID, "-")
	if len(n) > 64 {
		n = n[:64]
	}
	if len(n) < 2 {
		n = "tip-session"
	}
	return n
}

func (c Config) validate() error {
	var missing []string
	if c.IDToken == nil {
		missing = append(missing, "IDToken")
	}
	if c.ApplicationArn == "" {
		missing = append(missing, "application ARN")
	}
	if c.BridgeRoleArn == "" && c.Ambient == nil {
		missing = append(missing, "bridge role ARN (or ambient credentials)")
	}
	if c.EnhancedRoleArn == "" {
		missing = append(missing, "enhanced role ARN")
	}
	if c.AWS.Region == "" {
		missing = append(missing, "region")
	}
	if len(missing) > 0 {
		return fmt.Errorf("the exchange is not configured: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func credentialsOf(c *ststypes.Credentials) aws.Credentials {
	if c == nil {
		return aws.Credentials{}
	}
	return aws.Credentials{
		AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), CanExpire: true, Expires: aws.ToTime(c.Expiration),
		Source: "tipctl",
	}
}

type staticProvider struct{ c aws.Credentials }

func (s staticProvider) Retrieve(context.Context) (aws.Credentials, error) { return s.c, nil }

// identityContextOf extracts sts:identity_context (awsAdditionalDetails
// first, then the idToken claim) and the user identity from the reply.
func identityContextOf(out *ssooidc.CreateTokenWithIAMOutput) (string, Identity, error) {
	var ident Identity
	var claims map[string]any
	if out.IdToken != nil {
		if c, err := decodeClaims(*out.IdToken); err == nil {
			claims = c
		}
	}
	if claims != nil {
		ident.UserID, _ = claims["sub"].(string)
		ident.IdentityStoreID, _ = claims["aws:identity_store_id"].(string)
		ident.ApplicationArn, _ = claims["aud"].(string)
	}
	if out.AwsAdditionalDetails != nil && aws.ToString(out.AwsAdditionalDetails.IdentityContext) != "" {
		return *out.AwsAdditionalDetails.IdentityContext, ident, nil
	}
	if s, ok := claims["sts:identity_context"].(string); ok && s != "" {
		return s, ident, nil
	}
	return "", ident, errors.New("no sts:identity_context in the CreateTokenWithIAM reply")
}

// decodeClaims reads a JWT's payload without verifying it: the token comes
// straight from Identity Center over TLS and is only read for its claims.
func decodeClaims(jwt string) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}
