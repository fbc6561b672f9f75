package awsproto

import "net/http"

// jsonAuthCodes are the codes JSON-protocol services (awsJson1_1 and
// restJson1: sso-admin, identitystore, QuickSight, SSO OIDC) use for the
// authentication failures that awsQuery and restXml services name as STS
// does.
var jsonAuthCodes = map[string]string{
	"InvalidClientTokenId":       "UnrecognizedClientException",
	"InvalidAccessKeyId":         "UnrecognizedClientException",
	"SignatureDoesNotMatch":      "InvalidSignatureException",
	"RequestTimeTooSkewed":       "InvalidSignatureException",
	"ExpiredToken":               "ExpiredTokenException",
	"MissingAuthenticationToken": "MissingAuthenticationTokenException",
	"IncompleteSignature":        "IncompleteSignatureException",
}

// JSONAuthError renames an authentication failure for a JSON-protocol
// service: awsJson1_1 services answer it with 400, restJson1 services
// (fronted like API Gateway) with 403. Other errors are returned as they are.
func JSONAuthError(e *Error, p Protocol) *Error {
	if e == nil {
		return nil
	}
	code, ok := jsonAuthCodes[e.Code]
	if !ok {
		return e
	}
	out := *e
	out.Code = code
	out.Status = http.StatusForbidden
	if p == JSON11 {
		out.Status = http.StatusBadRequest
	}
	return &out
}
