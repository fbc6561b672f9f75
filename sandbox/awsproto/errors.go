// Package awsproto holds the wire codecs the sandbox's services share: the
// error shapes of each AWS protocol, awsQuery form and XML replies, JSON
// replies, request ids, and SigV4 verification.
package awsproto

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// Protocol is an AWS wire protocol; it decides the shape of errors.
type Protocol int

const (
	// Query is awsQuery (STS, IAM): form POST, XML replies.
	Query Protocol = iota
	// RestJSON is restJson1 (SSO OIDC, QuickSight).
	RestJSON
	// JSON11 is awsJson1_1 (sso-admin, identitystore): X-Amz-Target.
	JSON11
	// RestXML is restXml as S3 uses it: <Error> at the root.
	RestXML
	// RestXMLWrapped is restXml as S3 Control uses it: <ErrorResponse><Error>.
	RestXMLWrapped
)

// Error is a modeled AWS error.
type Error struct {
	Status  int
	Code    string
	Message string
	// Receiver marks a server-side fault (awsQuery <Type>Receiver</Type>).
	Receiver bool
	// OAuth is the RFC 6749 error code for SSO OIDC errors, e.g. invalid_grant.
	OAuth string
	// Fields are extra members merged into JSON error bodies.
	Fields map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an Error.
func Errorf(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// NewRequestID returns a fresh request id in the UUID shape AWS uses.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// SetRequestIDHeaders writes the request id headers every SDK reads.
func SetRequestIDHeaders(w http.ResponseWriter, p Protocol, requestID string) {
	h := w.Header()
	switch p {
	case RestXML, RestXMLWrapped:
		h.Set("x-amz-request-id", requestID)
		h.Set("x-amz-id-2", requestID)
	default:
		h.Set("x-amzn-RequestId", requestID)
	}
}

type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

type s3Error struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	// Region is the expected region of a region error (SDKs redirect to it).
	Region    string `xml:"Region,omitempty"`
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

type s3ControlError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Error     s3Error  `xml:"Error"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// ErrorRecorder is implemented by a ResponseWriter that records calls
// (sandbox/cloudtrail): WriteError reports each modeled error to it.
type ErrorRecorder interface{ RecordError(code, message string) }

// WriteError writes e in protocol p's error shape.
func WriteError(w http.ResponseWriter, p Protocol, e *Error, requestID string) {
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	if rec, ok := w.(ErrorRecorder); ok {
		rec.RecordError(e.Code, e.Message)
	}
	SetRequestIDHeaders(w, p, requestID)
	h := w.Header()
	switch p {
	case Query:
		var body queryErrorResponse
		body.Xmlns = "https://sts.amazonaws.com/doc/2011-06-15/"
		body.Error.Type = "Sender"
		if e.Receiver {
			body.Error.Type = "Receiver"
		}
		body.Error.Code, body.Error.Message, body.RequestID = e.Code, e.Message, requestID
		writeXML(w, e.Status, body)
	case RestXML:
		region, _ := e.Fields["Region"].(string)
		writeXML(w, e.Status, s3Error{Code: e.Code, Message: e.Message, Region: region, RequestID: requestID, HostID: requestID})
	case RestXMLWrapped:
		writeXML(w, e.Status, s3ControlError{
			Error:     s3Error{Code: e.Code, Message: e.Message, RequestID: requestID, HostID: requestID},
			RequestID: requestID, HostID: requestID,
		})
	case RestJSON, JSON11:
		h.Set("X-Amzn-ErrorType", e.Code)
		body := map[string]any{"Message": e.Message, "message": e.Message, "RequestId": requestID}
		if p == JSON11 {
			body["__type"] = e.Code
			h.Set("Content-Type", "application/x-amz-json-1.1")
		} else {
			h.Set("Content-Type", "application/json")
		}
		if e.OAuth != "" {
			body["error"] = e.OAuth
			body["error_description"] = e.Message
		}
		for k, v := range e.Fields {
			body[k] = v
		}
		b, _ := json.Marshal(body)
		w.WriteHeader(e.Status)
		_, _ = w.Write(b)
	}
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// Common errors, named as AWS names them.

// AccessDenied is the generic authorization failure for awsQuery/restXml services.
func AccessDenied(format string, a ...any) *Error {
	return Errorf(http.StatusForbidden, "AccessDenied", format, a...)
}

// AccessDeniedException is the restJson/awsJson form of AccessDenied.
func AccessDeniedException(format string, a ...any) *Error {
	return Errorf(http.StatusForbidden, "AccessDeniedException", format, a...)
}

// Validation returns the awsQuery ValidationError.
func Validation(format string, a ...any) *Error {
	return Errorf(http.StatusBadRequest, "ValidationError", format, a...)
}

// Truncate shortens s for inclusion in an error message.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
