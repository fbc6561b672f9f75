package diag

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// IdentityCenterContextProvider is the context provider of Identity Center identity contexts.
const IdentityCenterContextProvider = "arn:aws:iam::aws:contextProvider/IdentityCenter"

// DiagSessionName is the role session name of the dry run.
const DiagSessionName = "tipctl-diag"

const consumedNote = "The IdP token has now been exchanged: Identity Center accepts each assertion once, so get a fresh token (log in again) before using it."

// renewedNote replaces consumedNote when the caller renews the token
// after the dry run (Input.RenewsToken).
const renewedNote = "The IdP token has now been exchanged (Identity Center accepts each assertion once); the stored login is refreshed next."

// consumed is the note on the spent token that is true for this run.
func (r *runner) consumedNote() string {
	if r.in.RenewsToken {
		return renewedNote
	}
	return consumedNote
}

func (r *runner) e2eReady() *Result {
	var res Result
	switch {
	case r.in.SkipE2E:
		res = skip("run diag without --no-e2e to try the calls", "dry run not requested: the token was not used")
	case r.tok == nil:
		res = after("token.structure", "the dry run")
	case r.in.BridgeRoleArn == "" || r.in.ApplicationArn == "" || r.in.EnhancedRoleArn == "":
		res = skip("pass --bridge-role-arn, --application-arn and --enhanced-role-arn (or set them in the profile)",
			"the dry run needs the bridge role, the application and the identity-enhanced role")
	default:
		return nil
	}
	return &res
}

// hint maps an AWS error of the chain to the check that explains it.
func hint(code, message string) string {
	m := strings.ToLower(message)
	switch {
	case code == "ExpiredTokenException" || strings.Contains(m, "expired"):
		return "the token expired: log in again (see token.expiry)"
	case code == "InvalidIdentityToken" && strings.Contains(m, "audience"):
		return "see iam.oidc_provider: the token's aud must be a client id of the OIDC provider"
	case code == "InvalidIdentityToken" && strings.Contains(m, "openidconnect provider"):
		return "see iam.oidc_provider: create the OIDC provider for the issuer"
	case code == "InvalidIdentityToken":
		return "see token.signature and iam.oidc_provider"
	case code == "IDPCommunicationError":
		return "AWS cannot fetch the issuer's keys: see token.discovery"
	case code == "InvalidGrantException" && strings.Contains(m, "already"):
		return "the token was already exchanged once: log in again for a fresh token"
	case code == "InvalidGrantException" && strings.Contains(m, "audience"):
		return "see idc.grant.audience"
	case code == "InvalidGrantException" && strings.Contains(m, "user"):
		return "see idc.user.mapping"
	case code == "InvalidGrantException":
		return "see idc.grant.issuer, idc.grant.audience and idc.user.mapping"
	case code == "InvalidClientException":
		return "see idc.application"
	case code == "AccessDeniedException" && strings.Contains(m, "assign"):
		return "see idc.assignment"
	case code == "AccessDeniedException":
		return "see idc.actor_policy; the bridge role's permission policy must also allow sso-oauth:CreateTokenWithIAM"
	case code == "InvalidScopeException":
		return "see idc.scopes"
	case code == "AccessDenied" && strings.Contains(m, "setcontext"):
		return "see iam.enhanced.trust: the trust policy (and the bridge role's permission policy) must allow sts:SetContext"
	case code == "AccessDenied":
		return "see iam.bridge.trust and iam.enhanced.trust; the bridge role's permission policy must allow sts:AssumeRole and sts:SetContext on the identity-enhanced role"
	}
	return "see the checks above"
}

func (r *runner) e2eAssumeWebIdentity(ctx context.Context) Result {
	if res := r.e2eReady(); res != nil {
		return *res
	}
	out, err := r.sts.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(r.in.BridgeRoleArn), RoleSessionName: aws.String(DiagSessionName),
		WebIdentityToken: aws.String(r.tok.raw), DurationSeconds: aws.Int32(900),
	}, func(o *sts.Options) { o.Credentials = aws.AnonymousCredentials{} })
	if err != nil {
		e := classify(err)
		if e.network {
			return fail("check the endpoint, region and network", "cannot reach STS: %s", truncate(e.message, 300))
		}
		return fail(hint(e.code, e.message), "sts:AssumeRoleWithWebIdentity(%s) failed with %s", r.in.BridgeRoleArn, truncate(e.String(), 400))
	}
	c := out.Credentials
	r.bridge = &aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Source: "tipctl diag"}
	return pass("sts:AssumeRoleWithWebIdentity gave a bridge session %s", aws.ToString(out.AssumedRoleUser.Arn))
}

func (r *runner) e2eCreateToken(ctx context.Context) Result {
	if res := r.e2eReady(); res != nil {
		return *res
	}
	if r.bridge == nil {
		return after("e2e.assume_web_identity", "CreateTokenWithIAM")
	}
	creds := credentials.StaticCredentialsProvider{Value: *r.bridge}
	out, err := r.oidc.CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(r.in.ApplicationArn), GrantType: aws.String(GrantJWTBearer), Assertion: aws.String(r.tok.raw),
	}, func(o *ssooidc.Options) { o.Credentials = creds })
	if err != nil {
		e := classify(err)
		if e.network {
			return fail("check the endpoint, region and network", "cannot reach IAM Identity Center OIDC: %s", truncate(e.message, 300))
		}
		return fail(hint(e.code, e.message), "sso-oauth:CreateTokenWithIAM failed with %s. The token may now count as used: get a fresh one before retrying.",
			truncate(e.String(), 400))
	}
	r.consumed = true
	if out.AwsAdditionalDetails != nil && out.AwsAdditionalDetails.IdentityContext != nil {
		r.contextAssertion = *out.AwsAdditionalDetails.IdentityContext
	} else if c, ok := jwtClaim(aws.ToString(out.IdToken), "sts:identity_context"); ok {
		r.contextAssertion = c
	}
	if r.contextAssertion == "" {
		return fail("check that the application is a customer managed OAuth application with the jwt-bearer grant",
			"CreateTokenWithIAM returned no identity context (awsAdditionalDetails.identityContext or the sts:identity_context claim). %s", r.consumedNote())
	}
	user, _ := jwtClaim(aws.ToString(out.IdToken), "sub")
	return pass("sso-oauth:CreateTokenWithIAM issued an Identity Center token for user %s (scopes %s). %s", user, quoteList(out.Scope), r.consumedNote())
}

// jwtClaim reads a string claim of a JWT without verifying it.
func jwtClaim(tok, name string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) < 2 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", false
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return "", false
	}
	s, ok := m[name].(string)
	return s, ok && s != ""
}

func (r *runner) e2eAssumeRole(ctx context.Context) Result {
	if res := r.e2eReady(); res != nil {
		return *res
	}
	if r.contextAssertion == "" {
		return after("e2e.create_token", "the identity-enhanced AssumeRole")
	}
	creds := credentials.StaticCredentialsProvider{Value: *r.bridge}
	out, err := r.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(r.in.EnhancedRoleArn), RoleSessionName: aws.String(DiagSessionName), DurationSeconds: aws.Int32(900),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(IdentityCenterContextProvider), ContextAssertion: aws.String(r.contextAssertion)}},
	}, func(o *sts.Options) { o.Credentials = creds })
	if err != nil {
		e := classify(err)
		return fail(hint(e.code, e.message), "sts:AssumeRole(%s) with the Identity Center context failed with %s", r.in.EnhancedRoleArn, truncate(e.String(), 400))
	}
	return pass("sts:AssumeRole with the Identity Center context gave the identity-enhanced session %s until %s: the chain works",
		aws.ToString(out.AssumedRoleUser.Arn), aws.ToTime(out.Credentials.Expiration).UTC().Format(time.RFC3339))
}
