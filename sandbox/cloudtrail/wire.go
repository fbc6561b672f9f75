package cloudtrail

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxCapture bounds the request and response bytes kept per call for the
// record; longer bodies are logged without their elements.
const maxCapture = 16 << 10

// teeBody keeps the first maxCapture bytes the handler reads.
type teeBody struct {
	rc   io.ReadCloser
	buf  []byte
	over bool
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 && !t.over {
		if len(t.buf)+n > maxCapture {
			t.over = true
			putBuf(t.buf)
			t.buf = nil
		} else {
			if t.buf == nil {
				t.buf = getBuf()
			}
			t.buf = append(t.buf, p[:n]...)
		}
	}
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }

// writer records the status, the modeled error and, when asked, the body.
type writer struct {
	http.ResponseWriter
	status  int
	wrote   bool
	code    string
	message string
	capture func(status int) bool
	capOn   bool
	buf     []byte
	over    bool
}

func (w *writer) WriteHeader(status int) {
	if !w.wrote {
		w.wrote, w.status = true, status
		w.capOn = w.capture(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.capOn && !w.over {
		if len(w.buf)+len(p) > maxCapture {
			putBuf(w.buf)
			w.over, w.buf = true, nil
		} else {
			if w.buf == nil {
				w.buf = getBuf()
			}
			w.buf = append(w.buf, p...)
		}
	}
	return w.ResponseWriter.Write(p)
}

func (w *writer) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *writer) RecordError(code, message string) {
	if w.code == "" {
		w.code, w.message = code, message
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// secretKeys are request or response members whose values never reach a record.
var secretKeys = map[string]bool{
	"webidentitytoken": true, "samlassertion": true, "contextassertion": true, "assertion": true,
	"subjecttoken": true, "clientsecret": true, "codeverifier": true, "code": true, "refreshtoken": true,
	"accesstoken": true, "idtoken": true, "password": true, "token": true, "identitycontext": true,
	"context": true, "secretaccesskey": true, "sessiontoken": true, "secretkey": true,
}

// omitted are members AWS leaves out of credentials entirely.
var omitted = map[string]bool{"secretaccesskey": true, "sessiontoken": true}

// redact replaces secret members in place (recursively).
func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			lk := strings.ToLower(k)
			switch {
			case omitted[lk]:
				delete(t, k)
			case secretKeys[lk]:
				t[k] = Hidden
			default:
				t[k] = redact(x)
			}
		}
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
	}
	return v
}

// lowerFirst makes a model member name the camelCase CloudTrail uses.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	if unicode.IsLower(r) {
		return s
	}
	// Leading acronyms: "ARN" -> "aRN" would be wrong; AWS writes "roleArn"
	// from "RoleArn", so only the first rune changes.
	return string(unicode.ToLower(r)) + s[n:]
}

func camel(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[lowerFirst(k)] = camel(x)
		}
		return out
	case []any:
		for i := range t {
			t[i] = camel(t[i])
		}
	}
	return v
}

// formElements nests awsQuery form parameters ("ProvidedContexts.member.1.ProviderArn")
// into the JSON shape CloudTrail logs, without Action and Version.
func formElements(form url.Values) map[string]any {
	root := map[string]any{}
	for k, vs := range form {
		if k == "Action" || k == "Version" || len(vs) == 0 || len(k) > 256 {
			continue
		}
		setPath(root, strings.Split(k, "."), vs[0])
	}
	return root
}

func setPath(m map[string]any, parts []string, val string) {
	name, rest := lowerFirst(parts[0]), parts[1:]
	if len(rest) == 0 {
		m[name] = val
		return
	}
	if rest[0] == "member" && len(rest) >= 2 {
		idx, err := strconv.Atoi(rest[1])
		if err != nil || idx < 1 || idx > 100 {
			return
		}
		lst, _ := m[name].([]any)
		for len(lst) < idx {
			lst = append(lst, nil)
		}
		if rest = rest[2:]; len(rest) == 0 {
			lst[idx-1] = val
		} else {
			sub, ok := lst[idx-1].(map[string]any)
			if !ok {
				sub = map[string]any{}
				lst[idx-1] = sub
			}
			setPath(sub, rest, val)
		}
		m[name] = lst
		return
	}
	sub, ok := m[name].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[name] = sub
	}
	setPath(sub, rest, val)
}

// xmlElements decodes an XML reply into nested maps (leaf text as strings,
// repeated elements as arrays). awsQuery replies are unwrapped to their
// <…Result> element.
func xmlElements(b []byte) map[string]any {
	dec := xml.NewDecoder(strings.NewReader(string(b)))
	type frame struct {
		name string
		m    map[string]any
		text strings.Builder
	}
	var stack []*frame
	var root map[string]any
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, &frame{name: t.Name.Local, m: map[string]any{}})
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return nil
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			var val any = f.m
			if len(f.m) == 0 {
				val = strings.TrimSpace(f.text.String())
			}
			if len(stack) == 0 {
				root = f.m
				continue
			}
			parent := stack[len(stack)-1].m
			name := lowerFirst(f.name)
			switch old := parent[name].(type) {
			case nil:
				parent[name] = val
			case []any:
				parent[name] = append(old, val)
			default:
				parent[name] = []any{old, val}
			}
		}
	}
	for k, v := range root {
		if strings.HasSuffix(k, "Result") {
			if m, ok := v.(map[string]any); ok {
				return m
			}
		}
	}
	delete(root, "responseMetadata")
	return root
}

// bodyElements decodes a captured request or reply body.
func bodyElements(b []byte, contentType string) map[string]any {
	if len(b) == 0 {
		return nil
	}
	switch {
	case strings.HasPrefix(contentType, "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil
		}
		return formElements(form)
	case b[0] == '{':
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		return camel(m).(map[string]any)
	case b[0] == '<':
		if m, ok := xmlElementsFast(b); ok {
			return m
		}
		return xmlElements(b)
	}
	return nil
}

// jwtClaims decodes the payload of a compact JWS without verifying it: the
// recorder only reads tokens the sandbox itself accepted or issued.
func jwtClaims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(tok) > 32<<10 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// maskClaims replaces nested tokens by a short marker, so no signature or
// bearer token reaches the console.
func maskClaims(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok && strings.Count(s, ".") == 2 && len(s) > 40 {
			v = "(sealed token, signature masked; " + strconv.Itoa(len(s)) + " bytes)"
		}
		out[k] = v
	}
	return out
}

// clean strips control characters and bounds s.
func clean(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// fieldIn finds the first value of member name (e.g. AccessKeyId) in an
// XML or JSON reply without decoding it.
func fieldIn(b []byte, name string) string {
	lower := lowerFirst(name)
	for _, open := range []string{"<" + name + ">", `"` + name + `":"`, `"` + lower + `":"`} {
		i := bytes.Index(b, []byte(open))
		if i < 0 {
			continue
		}
		rest := b[i+len(open):]
		j := bytes.IndexAny(rest, `<"`)
		if j <= 0 || j > 128 {
			return ""
		}
		return string(rest[:j])
	}
	return ""
}
