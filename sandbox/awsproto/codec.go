package awsproto

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxAPIBody bounds the body of API (non-object) requests.
const MaxAPIBody = 1 << 20

// ReadBody reads r's body up to limit bytes.
func ReadBody(r *http.Request, limit int64) ([]byte, *Error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > limit { // refused before a byte is read
		return nil, Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the request body is larger than %d bytes", limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "IncompleteBody", "the request body could not be read")
	}
	if int64(len(b)) > limit {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "the request body is larger than %d bytes", limit)
	}
	return b, nil
}

// ParseForm decodes an awsQuery form body. Parameter order does not matter.
func ParseForm(body []byte) (url.Values, *Error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "MalformedQueryString", "the form body is malformed: %v", err)
	}
	return v, nil
}

// QueryNamespaces of the awsQuery services the sandbox serves.
const (
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
)

// WriteQuery writes an awsQuery reply: <ActionResponse><ActionResult>…</ActionResult><ResponseMetadata/></ActionResponse>.
func WriteQuery(w http.ResponseWriter, ns, action string, result any, requestID string) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString("<" + action + "Response xmlns=\"" + ns + "\">")
	if result != nil {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			WriteError(w, Query, &Error{Status: 500, Code: "InternalFailure", Message: "could not encode the reply", Receiver: true}, requestID)
			return
		}
	}
	buf.WriteString("<ResponseMetadata><RequestId>" + requestID + "</RequestId></ResponseMetadata>")
	buf.WriteString("</" + action + "Response>")
	SetRequestIDHeaders(w, Query, requestID)
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(buf.Bytes())
}

// WriteJSON writes a JSON reply with the request id header.
func WriteJSON(w http.ResponseWriter, p Protocol, status int, v any, requestID string) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, p, &Error{Status: 500, Code: "InternalFailureException", Message: "could not encode the reply", Receiver: true}, requestID)
		return
	}
	SetRequestIDHeaders(w, p, requestID)
	if p == JSON11 {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// DecodeJSON strictly decodes a JSON request body into v.
func DecodeJSON(body []byte, v any, codeOnError string) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if ute, ok := err.(*json.UnmarshalTypeError); ok {
			msg = "field " + ute.Field + " has the wrong type (" + ute.Value + ")"
		}
		return Errorf(http.StatusBadRequest, codeOnError, "the request body is not valid JSON: %s", strings.TrimPrefix(msg, "json: "))
	}
	return nil
}

// ISOTime formats t as AWS writes timestamps in XML (ISO 8601, UTC).
func ISOTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
