package s3ag

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseS3URI(t *testing.T) {
	for _, tc := range []struct {
		in     string
		bucket string
		key    string
		wild   bool
		object bool
	}{
		{"s3://analytics-data", "analytics-data", "", false, false},
		{"s3://analytics-data/", "analytics-data", "", false, false},
		{"s3://analytics-data/*", "analytics-data", "", true, false},
		{"s3://analytics-data/emea/", "analytics-data", "emea/", false, false},
		{"s3://analytics-data/emea/*", "analytics-data", "emea/", true, false},
		{"s3://analytics-data/emea*", "analytics-data", "emea", true, false},
		{"s3://analytics-data/emea/sales.csv", "analytics-data", "emea/sales.csv", false, true},
		{"s3://a.b-c/x//y z/ü.csv", "a.b-c", "x//y z/ü.csv", false, true},
		{"s3://abc/" + strings.Repeat("k", MaxKeyLen), "abc", strings.Repeat("k", MaxKeyLen), false, true},
	} {
		u, err := ParseS3URI(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if u.Bucket != tc.bucket || u.Key != tc.key || u.Wildcard != tc.wild || u.IsObject() != tc.object {
			t.Errorf("%q: %+v object=%v", tc.in, u, u.IsObject())
		}
	}
	for _, tc := range []struct{ in, why string }{
		{"", "must start with s3://"},
		{"analytics-data/emea/", "must start with s3://"},
		{"https://analytics-data.s3.amazonaws.com/emea/", "must start with s3://"},
		{"S3://analytics-data/emea/", "lowercase"},
		{"s3://", "no bucket"},
		{"s3:///emea/", "no bucket"},
		{"s3://ab/x", "3 to 63"},
		{"s3://" + strings.Repeat("a", 64), "3 to 63"},
		{"s3://Analytics-Data/x", "lowercase letters"},
		{"s3://analytics_data/x", "lowercase letters"},
		{"s3://-analytics/x", "begin and end"},
		{"s3://analytics./x", "begin and end"},
		{"s3://a..b/x", "adjacent periods"},
		{"s3://192.168.1.10/x", "IP address"},
		{"s3://analytics-data*", "after a slash"},
		{"s3://analytics-data/e*/x", "one * at the very end"},
		{"s3://analytics-data/emea/**", "one * at the very end"},
		{"s3://analytics-data/emea/?x", "one * at the very end"},
		{"s3://analytics-data/emea/\x00", "control character"},
		{"s3://analytics-data/emea/\n", "control character"},
		{"s3://analytics-data/\xff", "UTF-8"},
		{"s3://abc/" + strings.Repeat("k", MaxKeyLen+1), "limit is 1024"},
		{"s3://abc/" + strings.Repeat("k", 5000), "longer than any S3 URI"},
	} {
		_, err := ParseS3URI(tc.in)
		var ue *URIError
		if !errors.As(err, &ue) || !errors.Is(err, ErrInvalidURI) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%q: want an error about %q, got %v", tc.in, tc.why, err)
			continue
		}
		if strings.ContainsAny(err.Error(), "\n\x00") || len(err.Error()) > 400 {
			t.Errorf("%q: error not one short line: %q", tc.in, err)
		}
	}
}

func TestScopeCovers(t *testing.T) {
	must := func(s string) S3URI {
		u, err := ParseS3URI(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, tc := range []struct {
		scope, target string
		exact, want   bool
	}{
		{"s3://analytics-data/emea/*", "s3://analytics-data/emea/", false, true},
		{"s3://analytics-data/emea/*", "s3://analytics-data/emea/2024/", false, true},
		{"s3://analytics-data/emea/*", "s3://analytics-data/emea/a.csv", false, true},
		{"s3://analytics-data/emea/*", "s3://analytics-data/emea", false, false},
		{"s3://analytics-data/emea/*", "s3://analytics-data/emeax/", false, false},
		{"s3://analytics-data/emea/*", "s3://analytics-data/", false, false},
		{"s3://analytics-data/emea/*", "s3://other/emea/", false, false},
		{"s3://analytics-data/*", "s3://analytics-data/apac/", false, true},
		{"s3://analytics-data", "s3://analytics-data/apac/", false, true},
		{"s3://analytics-data/*", "s3://analytics-data2/apac/", false, false},
		{"s3://", "s3://anything/x", false, true},
		{"s3://*", "s3://anything/x", false, true},
		{"s3://b-1/k.csv", "s3://b-1/k.csv", true, true},
		{"s3://b-1/k.csv", "s3://b-1/k.csv2", true, false},
		{"s3://b-1/k.csv", "s3://b-1/k.csv*", true, false},
	} {
		s, ok := parseScope(tc.scope)
		if !ok {
			t.Fatalf("scope %q", tc.scope)
		}
		s.exact = tc.exact
		if got := s.coversURI(must(tc.target)); got != tc.want {
			t.Errorf("%q covers %q: %v", tc.scope, tc.target, got)
		}
	}
	if _, ok := parseScope("s3://bad bucket/x"); ok {
		t.Error("a bad scope parsed")
	}
}

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		ok         bool
	}{
		{Read, Read, true}, {Write, Write, true}, {ReadWrite, ReadWrite, true},
		{ReadWrite, Read, true}, {ReadWrite, Write, true},
		{Read, Write, false}, {Read, ReadWrite, false}, {Write, Read, false}, {Write, ReadWrite, false},
	} {
		if Covers(tc.have, tc.want) != tc.ok {
			t.Errorf("Covers(%s, %s) != %v", tc.have, tc.want, tc.ok)
		}
	}
}

func TestArnAccount(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/tip-enhanced/tip-x": "123456789012",
		"arn:aws-cn:sts::210987654321:assumed-role/r/s":             "210987654321",
		"arn:aws:sts::12345:assumed-role/r/s":                       "",
		"":                                                          "",
		"not-an-arn":                                                "",
	} {
		if got := arnAccount(in); got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
}

// FuzzParseS3URI: never panics; errors are short single lines; accepted
// URIs round-trip through String, cover themselves, and respect the limits.
func FuzzParseS3URI(f *testing.F) {
	for _, s := range []string{"s3://analytics-data/emea/*", "s3://b-1", "s3://a.b/x/y.csv", "s3://", "S3://x/y", "s3://abc/**", "s3://abc/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseS3URI(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("error %v does not match ErrInvalidURI", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || len(msg) > 800 {
				t.Fatalf("error is not one short line: %q", msg)
			}
			return
		}
		if !strings.HasPrefix(s, "s3://") || !utf8.ValidString(u.Key) || len(u.Key) > MaxKeyLen || bucketProblem(u.Bucket) != "" {
			t.Fatalf("accepted %q as %+v", s, u)
		}
		if strings.ContainsAny(u.Key, "*?") {
			t.Fatalf("accepted a wildcard inside %q", s)
		}
		v, err := ParseS3URI(u.String())
		if err != nil || v != u {
			t.Fatalf("%q → %q → %+v, %v", s, u.String(), v, err)
		}
		if !u.Covers(u) {
			t.Fatalf("%q does not cover itself", s)
		}
		if u.IsObject() && (u.Wildcard || u.Key == "" || strings.HasSuffix(u.Key, "/")) {
			t.Fatalf("%q is an object?", s)
		}
	})
}
