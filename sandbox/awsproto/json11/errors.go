package json11

import (
	"net/http"
	"strings"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// Validation errors in the wording of AWS JSON services.

// Validation is the modeled ValidationException (HTTP 400).
func Validation(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", format, a...)
}

// Required reports a missing required member.
func Required(member string) *awsproto.Error {
	return Validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

// BadPattern reports a member whose value does not match the model's
// pattern re; the message repeats at most show bytes of the value.
func BadPattern(member, value string, re *lazyre.Regexp, show int) *awsproto.Error {
	return Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
		awsproto.Truncate(value, show), member, strings.Trim(re.String(), "^$"))
}

// BadEnum reports a member whose value is not one of the model's enum values.
func BadEnum(member, value string, values ...string) *awsproto.Error {
	return Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
		awsproto.Truncate(value, 64), member, strings.Join(values, ", "))
}

// NotFound is the modeled ResourceNotFoundException (HTTP 400).
func NotFound(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ResourceNotFoundException", format, a...)
}
