package exchange

import (
	"context"
	"errors"
	"net"
	"reflect"

	"github.com/aws/smithy-go"
)

// hints maps (step, AWS error code) to the fix to suggest.
var hints = map[int]map[string]string{
	1: {
		"InvalidIdentityToken":    "STS refused the IdP token: check that an IAM OIDC provider exists for the token's issuer with its audience among the client ids (`tipctl diag`)",
		"ExpiredTokenException":   "the IdP token has expired: run `tipctl auth login` again",
		"AccessDenied":            "the bridge role's trust policy does not allow this token: check its Federated principal and its aud/sub conditions (`tipctl diag`)",
		"IDPRejectedClaim":        "the IdP token's claims were rejected by the bridge role's trust policy (`tipctl diag`)",
		"ValidationError":         "check the bridge role ARN and the session duration in the profile",
		"InvalidParameterValue":   "check the bridge role ARN in the profile",
		"RegionDisabledException": "STS is disabled in this region for the account; enable it or pick another region",
	},
	2: {
		"InvalidGrantException":       "Identity Center refused the IdP token: check the trusted token issuer (issuer URL, claim mapping), the application's authorized audiences, that the user exists, and that the token was not already used (`tipctl diag`)",
		"AccessDeniedException":       "Identity Center denied the exchange: the application's actor policy must allow the bridge role to call sso-oauth:CreateTokenWithIAM, and the user must be assigned to the application (`tipctl diag`)",
		"InvalidClientException":      "the application ARN is unknown or the application is disabled: check `application_arn` in the profile",
		"InvalidRequestException":     "Identity Center rejected the request: check the application ARN and the Identity Center region",
		"InvalidScopeException":       "the application does not grant the requested scopes",
		"UnauthorizedClientException": "the application has no jwt-bearer grant for this issuer",
	},
	3: {
		"AccessDenied":          "the enhanced role must trust the bridge role for both sts:AssumeRole and sts:SetContext, and the bridge role must be allowed to call them (`tipctl diag`)",
		"ExpiredTokenException": "the Identity Center context expired before it was used: try again",
		"InvalidParameterValue": "STS rejected the identity context: try again, then run `tipctl diag`",
		"ValidationError":       "check the enhanced role ARN and the session duration (at most 1 hour for a chained role session)",
	},
}

// stepError wraps an SDK error with the step, the AWS code and a hint.
func stepError(step int, call string, err error) error {
	se := &StepError{Step: step, Call: call, Err: err}
	var apiErr smithy.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		se.Code, se.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
		if se.Message == "" {
			// SSO OIDC errors carry the reason as the OAuth
			// error_description, not as a message.
			se.Message = oauthDescription(err)
		}
		se.Hint = hints[step][se.Code]
		if se.Hint == "" {
			se.Hint = "run `tipctl diag` to find the misconfiguration"
		}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		se.Message = "timed out or was cancelled"
	case errors.As(err, &netErr):
		se.Message = "the endpoint could not be reached: " + netErr.Error()
		se.Hint = "check the network, the region and any endpoint_url in the profile"
	default:
		se.Message = err.Error()
	}
	return se
}

// oauthDescription returns the error_description of an SSO OIDC error
// (the generated exception types have an Error_description field), or "".
func oauthDescription(err error) string {
	var withDesc interface{ ErrorCode() string }
	if !errors.As(err, &withDesc) {
		return ""
	}
	v := reflect.ValueOf(withDesc)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	f := v.FieldByName("Error_description")
	if f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String {
		return f.Elem().String()
	}
	return ""
}
