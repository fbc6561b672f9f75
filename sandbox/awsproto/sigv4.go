package awsproto

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// MaxSkew is the largest clock difference AWS accepts on a signed request.
const MaxSkew = 15 * time.Minute

// Key is what the verifier needs to know about an access key.
type Key struct {
	Secret       string
	SessionToken string // empty for long-term keys
	Expires      time.Time
}

// KeyLookup finds an access key.
type KeyLookup func(accessKeyID string) (Key, bool)

// Scope is the parsed SigV4 credential scope of a request.
type Scope struct {
	AccessKeyID string
	Date        string
	Region      string
	Service     string
}

// Signature is a parsed Authorization header (or presigned query).
type Signature struct {
	Scope
	SignedHeaders []string
	Signature     string
	Presigned     bool
	Time          time.Time
	Expires       time.Duration // presigned only
	SessionToken  string
}

var signer = v4.NewSigner()

// IsSigned reports whether r carries SigV4 authentication.
func IsSigned(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") ||
		r.URL.Query().Get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256"
}

// ScopeOf returns the credential scope of a signed request without
// verifying it, for routing. ok is false for unsigned requests.
func ScopeOf(r *http.Request) (Scope, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		s, err := ParseAuthorization(h)
		if err != nil {
			return Scope{}, false
		}
		return s.Scope, true
	}
	if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		s, err := parseCredential(c)
		return s, err == nil
	}
	return Scope{}, false
}

func incomplete(format string, a ...any) *Error {
	return Errorf(http.StatusBadRequest, "IncompleteSignature", format, a...)
}

func parseCredential(c string) (Scope, *Error) {
	parts := strings.Split(c, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return Scope{}, incomplete("Credential must have the form AKID/DATE/REGION/SERVICE/aws4_request")
	}
	return Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

// ParseAuthorization parses an "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…" header.
func ParseAuthorization(h string) (*Signature, *Error) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256")
	if !ok {
		return nil, incomplete("Authorization header must use AWS4-HMAC-SHA256")
	}
	sig := &Signature{}
	var haveCred, haveHeaders bool
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, incomplete("Authorization header element %q is not key=value", Truncate(part, 40))
		}
		switch k {
		case "Credential":
			s, err := parseCredential(v)
			if err != nil {
				return nil, err
			}
			sig.Scope, haveCred = s, true
		case "SignedHeaders":
			if v == "" {
				return nil, incomplete("SignedHeaders is empty")
			}
			sig.SignedHeaders, haveHeaders = strings.Split(v, ";"), true
		case "Signature":
			sig.Signature = v
		}
	}
	if !haveCred || !haveHeaders || sig.Signature == "" {
		return nil, incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'")
	}
	return sig, nil
}

// VerifyOptions tunes verification per service.
type VerifyOptions struct {
	// DisableURIPathEscaping is set for S3, whose paths are escaped once.
	DisableURIPathEscaping bool
	// UnknownKeyCode is the error code for an unknown access key
	// (InvalidClientTokenId; S3 says InvalidAccessKeyId).
	UnknownKeyCode string
	// S3 applies S3's payload rules: a header-signed request declares its
	// payload hash in X-Amz-Content-Sha256 (a SHA-256 digest,
	// UNSIGNED-PAYLOAD or STREAMING-…), the signature covers that
	// declaration, and the caller checks the body against it while reading.
	// Every other service signs the hash of the body itself, which Verify
	// computes from body: a declared hash is never trusted there.
	S3 bool
	// Region is the region the sandbox serves; a credential scope naming
	// another region is refused as AWS refuses it. Empty skips the check.
	Region string
}

// globalRegion is the signing region of IAM, a global service, whatever
// region the client is configured with.
const globalRegion = "us-east-1"

// Verify checks r's SigV4 signature by recomputing it with aws-sdk-go-v2's
// signer. body is the request body already read; with opt.S3 it is unused
// (the signature covers the declared X-Amz-Content-Sha256 and the caller
// checks the body against it), so S3 verifies before reading the body.
func Verify(r *http.Request, body []byte, now time.Time, lookup KeyLookup, opt VerifyOptions) (*Signature, *Error) {
	var sig *Signature
	var e *Error
	if h := r.Header.Get("Authorization"); h != "" {
		sig, e = ParseAuthorization(h)
		if e != nil {
			return nil, e
		}
		ds := r.Header.Get("X-Amz-Date")
		t, err := time.Parse("20060102T150405Z", ds)
		if err != nil {
			return nil, incomplete("the X-Amz-Date header is missing or malformed")
		}
		sig.Time = t
		sig.SessionToken = r.Header.Get("X-Amz-Security-Token")
	} else {
		sig, e = parsePresigned(r.URL.Query())
		if e != nil {
			return nil, e
		}
	}
	if e := checkScope(sig, opt); e != nil {
		return nil, e
	}
	key, ok := lookup(sig.AccessKeyID)
	if !ok {
		code := opt.UnknownKeyCode
		if code == "" {
			code = "InvalidClientTokenId"
		}
		return nil, Errorf(http.StatusForbidden, code, "The security token included in the request is invalid.")
	}
	if key.SessionToken != "" && subtle.ConstantTimeCompare([]byte(key.SessionToken), []byte(sig.SessionToken)) != 1 {
		return nil, Errorf(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if sig.Presigned {
		if sig.Time.After(now.Add(MaxSkew)) {
			return nil, AccessDenied("Request is not yet valid")
		}
		if now.After(sig.Time.Add(sig.Expires)) {
			return nil, AccessDenied("Request has expired")
		}
	} else if d := now.Sub(sig.Time); d > MaxSkew || d < -MaxSkew {
		return nil, Errorf(http.StatusForbidden, "RequestTimeTooSkewed",
			"The difference between the request time (%s) and the server time (%s) is more than 15 minutes.",
			sig.Time.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !key.Expires.IsZero() && now.After(key.Expires) {
		return nil, Errorf(http.StatusBadRequest, "ExpiredToken", "The security token included in the request is expired")
	}
	want, err := recompute(r, body, sig, key, opt)
	if err != nil {
		return nil, incomplete("%v", err)
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig.Signature)) != 1 {
		return nil, Errorf(http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return sig, nil
}

func parsePresigned(q url.Values) (*Signature, *Error) {
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return nil, Errorf(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	s, e := parseCredential(q.Get("X-Amz-Credential"))
	if e != nil {
		return nil, e
	}
	t, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return nil, incomplete("X-Amz-Date is missing or malformed")
	}
	exp, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || exp < 1 || exp > 604800 {
		return nil, incomplete("X-Amz-Expires must be between 1 and 604800 seconds")
	}
	sh := q.Get("X-Amz-SignedHeaders")
	if sh == "" || q.Get("X-Amz-Signature") == "" {
		return nil, incomplete("X-Amz-SignedHeaders and X-Amz-Signature are required")
	}
	return &Signature{Scope: s, SignedHeaders: strings.Split(sh, ";"), Signature: q.Get("X-Amz-Signature"),
		Presigned: true, Time: t, Expires: time.Duration(exp) * time.Second, SessionToken: q.Get("X-Amz-Security-Token")}, nil
}

// recompute signs a copy of r holding only the signed headers and returns the signature.
func recompute(r *http.Request, body []byte, sig *Signature, key Key, opt VerifyOptions) (string, error) {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	if sig.Presigned {
		q := u.Query()
		for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"} {
			q.Del(k)
		}
		u.RawQuery = q.Encode()
	}
	clone := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	tokenSigned := false
	for _, h := range sig.SignedHeaders {
		switch h {
		case "host":
		case "content-length":
			n, _ := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64)
			if n == 0 {
				n = r.ContentLength
			}
			clone.ContentLength = n
		default:
			if h == "x-amz-security-token" {
				tokenSigned = true
			}
			if vals := r.Header.Values(h); len(vals) > 0 {
				clone.Header[http.CanonicalHeaderKey(h)] = vals
			} else {
				clone.Header[http.CanonicalHeaderKey(h)] = []string{""}
			}
		}
	}
	creds := aws.Credentials{AccessKeyID: sig.AccessKeyID, SecretAccessKey: key.Secret, SessionToken: sig.SessionToken}
	opts := func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = opt.DisableURIPathEscaping
		o.DisableSessionToken = !tokenSigned && !sig.Presigned
		if sig.Presigned && sig.SessionToken == "" {
			o.DisableSessionToken = true
		}
	}
	payload, err := payloadHash(r, body, sig, opt)
	if err != nil {
		return "", err
	}
	if sig.Presigned {
		signed, _, err := signer.PresignHTTP(context.Background(), creds, clone, payload, sig.Service, sig.Region, sig.Time, opts)
		if err != nil {
			return "", err
		}
		pu, err := url.Parse(signed)
		if err != nil {
			return "", err
		}
		return pu.Query().Get("X-Amz-Signature"), nil
	}
	if err := signer.SignHTTP(context.Background(), creds, clone, payload, sig.Service, sig.Region, sig.Time, opts); err != nil {
		return "", err
	}
	got, e := ParseAuthorization(clone.Header.Get("Authorization"))
	if e != nil {
		return "", e
	}
	return got.Signature, nil
}

// checkScope refuses a credential scope whose date is not the request's
// date or whose region is not the sandbox's, with the errors AWS gives.
func checkScope(sig *Signature, opt VerifyOptions) *Error {
	if day := sig.Time.Format("20060102"); sig.Date != day {
		if opt.S3 && !sig.Presigned {
			return Errorf(http.StatusBadRequest, "AuthorizationHeaderMalformed",
				"The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.")
		}
		if opt.S3 {
			return Errorf(http.StatusBadRequest, "AuthorizationQueryParametersError",
				"Invalid credential date \"%s\". This date is not the same as X-Amz-Date: \"%s\".", Truncate(sig.Date, 20), day)
		}
		return Errorf(http.StatusForbidden, "SignatureDoesNotMatch",
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			Truncate(sig.Date, 20), day, sig.Time.Format("20060102T150405Z"))
	}
	if opt.Region == "" || sig.Region == opt.Region || (sig.Service == "iam" && sig.Region == globalRegion) {
		return nil
	}
	got := Truncate(sig.Region, 40)
	switch {
	case opt.S3 && sig.Presigned:
		e := Errorf(http.StatusBadRequest, "AuthorizationQueryParametersError",
			"Error parsing the X-Amz-Credential parameter; the region '%s' is wrong; expecting '%s'", got, opt.Region)
		e.Fields = map[string]any{"Region": opt.Region}
		return e
	case opt.S3:
		e := Errorf(http.StatusBadRequest, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region '%s' is wrong; expecting '%s'", got, opt.Region)
		e.Fields = map[string]any{"Region": opt.Region}
		return e
	}
	return Errorf(http.StatusForbidden, "SignatureDoesNotMatch",
		"Credential should be scoped to a valid region, not '%s'. (This sandbox serves region '%s'.)", got, opt.Region)
}

// payloadHash is the payload line of the canonical request. Outside S3 it is
// always the hash of the body received (presigned requests included), so the
// signature covers the body whatever X-Amz-Content-Sha256 claims. In S3 a
// presigned URL leaves the payload unsigned, and a header-signed request
// signs its declared X-Amz-Content-Sha256, to which the S3 handler then
// holds the body.
func payloadHash(r *http.Request, body []byte, sig *Signature, opt VerifyOptions) (string, error) {
	switch {
	case !opt.S3:
		h := sha256.Sum256(body)
		return hex.EncodeToString(h[:]), nil
	case sig.Presigned:
		return "UNSIGNED-PAYLOAD", nil
	}
	declared := r.Header.Get("X-Amz-Content-Sha256")
	if declared == "" {
		return "", fmt.Errorf("Missing required header for this request: x-amz-content-sha256")
	}
	return declared, nil
}
