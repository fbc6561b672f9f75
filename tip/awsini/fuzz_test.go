package awsini

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzAWSConfigRoundTrip checks, for any input, that parsing and writing
// back reproduces the bytes, and that setting a profile's keys makes them
// readable, is idempotent, and leaves every byte outside that profile's
// section as it was.
func FuzzAWSConfigRoundTrip(f *testing.F) {
	f.Add([]byte(sample), "analytics")
	f.Add([]byte(sample), "new-one")
	f.Add([]byte("[default]\r\nregion=x\r\n[profile a]\r\n"), "default")
	f.Add([]byte("[profile a]\n  [profile b]\nregion = b\n"), "a")
	f.Add([]byte("no header\n= x\n[ profile a ]\nk=\n\tcont\n"), "a")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		p := Parse(data)
		if !bytes.Equal(p.Bytes(), data) {
			t.Fatalf("round trip changed %q", data)
		}
		_ = Diff("x", data, append(append([]byte{}, data...), "z\n"...))
		kvs := []KV{{"credential_process", "tipctl auth get-iam-credentials --profile p"}, {"region", "us-east-1"}}
		if _, err := p.SetProfile(name, kvs...); err != nil {
			if ValidProfileName(name) == nil {
				t.Fatalf("valid name %q refused: %v", name, err)
			}
			if !bytes.Equal(p.Bytes(), data) {
				t.Fatal("a refused edit changed the file")
			}
			return
		}
		out := p.Bytes()
		q := Parse(out)
		for _, kv := range kvs {
			if v, ok := q.Get(name, kv.Key); !ok || v != kv.Value {
				t.Fatalf("after SetProfile(%q): %s = %q, %v in %q", name, kv.Key, v, ok, out)
			}
		}
		// Other profiles read the same.
		before := Parse(data)
		for _, other := range before.Profiles() {
			if other == name {
				continue
			}
			a, _ := before.Profile(other)
			b, ok := q.Profile(other)
			if !ok || len(a) != len(b) {
				t.Fatalf("profile %q changed: %v -> %v in %q", other, a, b, out)
			}
			for k, v := range a {
				if b[k] != v {
					t.Fatalf("profile %q key %q changed: %q -> %q", other, k, v, b[k])
				}
			}
		}
		// Bytes outside the section are unchanged.
		if s, ok := find(before.Sections(), name); ok {
			s2, ok := find(q.Sections(), name)
			if !ok {
				t.Fatal("section vanished")
			}
			pre := strings.Join(before.lines[:s.Start], "")
			post := strings.Join(before.lines[s.End:], "")
			if pre != strings.Join(q.lines[:s2.Start], "") || post != strings.Join(q.lines[s2.End:], "") {
				t.Fatalf("bytes outside the section changed:\n%q\n->\n%q", data, out)
			}
		} else if !bytes.HasPrefix(out, bytes.TrimRight(data, "\r\n")) {
			t.Fatalf("appending changed the existing text:\n%q\n->\n%q", data, out)
		}
		// Idempotent.
		if changed, err := q.SetProfile(name, kvs...); err != nil || changed {
			t.Fatalf("second SetProfile: changed=%v err=%v", changed, err)
		}
	})
}
