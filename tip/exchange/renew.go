package exchange

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
)

// RefreshTokenGrant is CreateTokenWithIAM's grant that renews an Identity
// Center token from the refresh token of an earlier reply.
const RefreshTokenGrant = "refresh_token"

// RenewalMargin is how much life the bridge session must have left to
// make a renewal call.
const RenewalMargin = time.Minute

// Renewal is what a later run needs to renew a person's Identity Center
// token without the IdP, as AWS's trusted identity propagation plugins for
// the JavaScript and Java SDKs do: the refresh token of the last
// CreateTokenWithIAM reply and the IAM credentials that may present it.
//
// Both are secrets: keep them where the IdP tokens are kept.
type Renewal struct {
	RefreshToken string `json:"refresh_token"`
	// Bridge is the bridge session that made the CreateTokenWithIAM call
	// (the application's actor policy allows it); zero when the ambient
	// credentials made it, which then present the refresh token again.
	// A renewal is only tried while the bridge session is valid: a new
	// one needs an IdP token, and then the IdP path is as cheap.
	Bridge aws.Credentials `json:"bridge,omitzero"`
}

// errNoCaller: the bridge session of a Renewal has expired.
var errNoCaller = errors.New("the bridge session that may present the Identity Center refresh token has expired")

// renew runs steps 2 and 3 with Identity Center's refresh_token grant;
// res is non-nil. On an error of step 2 (or no usable caller) the refresh
// token is forgotten through SaveRenewal(nil).
func renew(ctx context.Context, c Config) (res *Result, err error) {
	res = &Result{}
	r := c.Renewal
	var caller aws.CredentialsProvider
	switch {
	case r.RefreshToken == "":
		return res, errors.New("the renewal has no refresh token")
	case c.BridgeRoleArn == "" && c.Ambient != nil:
		caller = c.Ambient
	case r.Bridge.AccessKeyID != "" && r.Bridge.Expires.Sub(time.Now()) > RenewalMargin:
		caller = aws.NewCredentialsCache(staticProvider{r.Bridge})
	default:
		err = errNoCaller
	}
	if err == nil {
		res, err = finish(ctx, c, res, caller, r.Bridge, "sso-oauth:CreateTokenWithIAM (refresh_token)", &ssooidc.CreateTokenWithIAMInput{
			ClientId:     aws.String(c.ApplicationArn),
			GrantType:    aws.String(RefreshTokenGrant),
			RefreshToken: aws.String(r.RefreshToken),
		})
	}
	if err == nil {
		res.Renewed = true
		return res, nil
	}
	var se *StepError
	if (!errors.As(err, &se) || se.Step == 2) && c.SaveRenewal != nil && ctx.Err() == nil {
		if serr := c.SaveRenewal(ctx, nil); serr != nil && res.SaveError == nil {
			res.SaveError = serr
		}
	}
	return res, err
}
