package quicksight

import (
	"context"
	"errors"
	"net"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Kind classifies an Error, so a command line can pick its exit code.
type Kind int

// Error kinds.
const (
	// KindInput is input tipctl or QuickSight refuses: an unknown sheet or
	// visual, a bad parameter, too many files for one job.
	KindInput Kind = iota + 1
	// KindNotFound is an unknown dashboard, user, namespace or job.
	KindNotFound
	// KindAccess is a refusal by IAM, STS or QuickSight: a trust policy
	// without sts:SetContext, a user who may not view the dashboard.
	KindAccess
	// KindJobFailed is a snapshot job that ended FAILED.
	KindJobFailed
	// KindAWS is any other service error.
	KindAWS
)

// Error is a failure explained in one line, with the fix to suggest.
type Error struct {
	Kind Kind
	Msg  string
	Fix  string
	// Code is the AWS error code when a service refused the call.
	Code string
	Err  error
}

func (e *Error) Error() string {
	if e.Fix == "" {
		return e.Msg
	}
	return e.Msg + "; " + e.Fix
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(kind Kind, fix, format string, a ...any) *Error {
	return &Error{Kind: kind, Fix: fix, Msg: sprintf(format, a...)}
}

// apiError returns the AWS error code, message and HTTP status of err.
func apiError(err error) (code, msg string, status int, ok bool) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", "", 0, false
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), ae.ErrorMessage(), status, true
}

// isExpired reports whether a service refused err's call because the
// credentials (or the identity context they carry) have expired.
func isExpired(err error) bool {
	code, msg, _, ok := apiError(err)
	if !ok {
		return false
	}
	switch code {
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired":
		return true
	case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidClientTokenId":
		return strings.Contains(strings.ToLower(msg), "expired")
	}
	return false
}

// serviceError wraps an error of a call in an *Error: what was being done,
// the service's code and message, and a kind from the code.
func serviceError(doing string, err error) error {
	if err == nil {
		return nil
	}
	var qe *Error
	if errors.As(err, &qe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ne net.Error
	code, msg, _, ok := apiError(err)
	if !ok {
		if errors.As(err, &ne) {
			return err // the caller maps network errors
		}
		return &Error{Kind: KindAWS, Msg: doing + ": " + err.Error(), Err: err}
	}
	e := &Error{Kind: KindAWS, Code: code, Msg: doing + ": " + code + ": " + msg, Err: err}
	switch code {
	case "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NotFound":
		e.Kind = KindNotFound
	case "AccessDeniedException", "AccessDenied", "UnauthorizedException", "Forbidden":
		e.Kind = KindAccess
	case "InvalidParameterValueException", "InvalidParameterException", "ValidationError", "ValidationException",
		"ResourceExistsException", "InvalidRequestException", "PreconditionNotMetException", "UnsupportedUserEditionException":
		e.Kind = KindInput
	}
	if isExpired(err) {
		e.Fix = "the credentials expired; run the command again"
	}
	return e
}
