package s3ag

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode/utf8"
)

// ErrInvalidURI is matched (errors.Is) by every *URIError.
var ErrInvalidURI = errors.New("invalid S3 URI")

// URIError says why a string is not an S3 URI S3 Access Grants accepts.
type URIError struct {
	URI    string // the input, truncated for display
	Reason string
}

func (e *URIError) Error() string {
	return fmt.Sprintf("%q is not a valid S3 URI: %s (expected s3://bucket/prefix/, s3://bucket/prefix* or s3://bucket/key)", e.URI, e.Reason)
}

// Is matches ErrInvalidURI.
func (e *URIError) Is(target error) bool { return target == ErrInvalidURI }

// Limits of an S3 URI.
const (
	MaxKeyLen = 1024 // bytes of an S3 object key
	maxURILen = len("s3://") + 63 + 1 + MaxKeyLen + 1
)

// S3URI is a parsed S3 URI as S3 Access Grants uses it: a bucket, a key or
// key prefix, and whether it ended in the one wildcard allowed, a trailing
// "*". Wildcard or not, a prefix target covers every key that starts with
// Key ("s3://b/emea/" and "s3://b/emea/*" reach the same objects).
type S3URI struct {
	Bucket   string
	Key      string
	Wildcard bool
}

// ParseS3URI parses s3://bucket, s3://bucket/, s3://bucket/prefix/,
// s3://bucket/prefix* and s3://bucket/key. The bucket must be a valid S3
// bucket name; the key at most 1024 bytes of UTF-8 without control
// characters. The only wildcard is one "*" at the very end ("?" and inner
// "*" are refused, as S3 Access Grants refuses them).
func ParseS3URI(s string) (S3URI, error) {
	bad := func(format string, a ...any) (S3URI, error) {
		return S3URI{}, &URIError{URI: truncate(s, 60), Reason: fmt.Sprintf(format, a...)}
	}
	if len(s) > maxURILen {
		return bad("it is %d bytes long, longer than any S3 URI can be", len(s))
	}
	if !utf8.ValidString(s) {
		return bad("it is not valid UTF-8")
	}
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		if i := strings.Index(s, "://"); i > 0 && strings.EqualFold(s[:i], "s3") {
			return bad("the scheme must be lowercase s3://")
		}
		return bad("it must start with s3://")
	}
	for _, r := range rest {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return bad("it contains a control character")
		}
	}
	var u S3URI
	if strings.HasSuffix(rest, "*") {
		u.Wildcard = true
		rest = rest[:len(rest)-1]
	}
	if strings.ContainsAny(rest, "*?") {
		return bad("the only wildcard allowed is one * at the very end")
	}
	u.Bucket, u.Key, _ = strings.Cut(rest, "/")
	if u.Bucket == "" {
		return bad("it names no bucket")
	}
	if why := bucketProblem(u.Bucket); why != "" {
		return bad("%q is not a bucket name: %s", truncate(u.Bucket, 40), why)
	}
	if u.Wildcard && u.Key == "" && !strings.Contains(rest, "/") {
		return bad("a wildcard goes after a slash: s3://%s/*", u.Bucket)
	}
	if len(u.Key) > MaxKeyLen {
		return bad("the key is %d bytes, the limit is %d", len(u.Key), MaxKeyLen)
	}
	return u, nil
}

// bucketProblem explains why name is not a valid bucket name, or returns "".
func bucketProblem(name string) string {
	if len(name) < 3 || len(name) > 63 {
		return "it must be 3 to 63 characters long"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "only lowercase letters, digits, '.' and '-' are allowed"
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return "it must begin and end with a letter or digit"
	}
	if strings.Contains(name, "..") {
		return "it must not contain two adjacent periods"
	}
	if net.ParseIP(name) != nil {
		return "it must not be formatted as an IP address"
	}
	return ""
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// String is the canonical form: s3://bucket/key, with the trailing "*".
func (u S3URI) String() string {
	s := "s3://" + u.Bucket + "/" + u.Key
	if u.Wildcard {
		s += "*"
	}
	return s
}

// Path is "bucket/key": what prefixes are compared on.
func (u S3URI) Path() string { return u.Bucket + "/" + u.Key }

// IsObject reports whether u can name one object (a non-empty key that does
// not end in "/" and no wildcard), as targetType Object requires.
func (u S3URI) IsObject() bool {
	return !u.Wildcard && u.Key != "" && !strings.HasSuffix(u.Key, "/")
}

// Covers reports whether every key v reaches as a prefix target is also
// reached by u as a prefix target.
func (u S3URI) Covers(v S3URI) bool { return strings.HasPrefix(v.Path(), u.Path()) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
