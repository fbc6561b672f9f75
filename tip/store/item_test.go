package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func generic(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

type token struct {
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

func TestItemRoundTrip(t *testing.T) {
	b, err := EncodeItem("idp-token", token{"id", "rt"})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"v":1,"kind":"idp-token","data":{"id_token":"id","refresh_token":"rt"}}` {
		t.Errorf("encoding = %s", b)
	}
	it, err := DecodeItem(b)
	if err != nil {
		t.Fatal(err)
	}
	var tok token
	if it.Kind != "idp-token" || it.Unmarshal(&tok) != nil || tok.RefreshToken != "rt" {
		t.Errorf("decoded %+v %+v", it, tok)
	}
	// Member order and whitespace do not matter.
	if _, err := DecodeItem([]byte(" {\"data\" : [1], \"kind\":\"x\",\n\"v\":1}\n")); err != nil {
		t.Errorf("reordered: %v", err)
	}
	// Unmarshal is strict about the payload shape.
	it, _ = DecodeItem([]byte(`{"v":1,"kind":"idp-token","data":{"id_token":"a","surprise":1}}`))
	if err := it.Unmarshal(&tok); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown payload field: %v", err)
	}
	for _, bad := range []string{"", "Bad", "1x", strings.Repeat("a", 65)} {
		if _, err := EncodeItem(bad, 1); err == nil {
			t.Errorf("kind %q accepted", bad)
		}
	}
	if _, err := EncodeItem("x", nil); err == nil {
		t.Error("null data accepted")
	}
	if _, err := EncodeItem("x", func() {}); err == nil {
		t.Error("unmarshalable data accepted")
	}
}

func TestDecodeItemStrict(t *testing.T) {
	cases := map[string]string{
		`{"v":2,"kind":"x","data":{}}`:               "version 2 is not supported",
		`{"v":"1","kind":"x","data":{}}`:             "not a number",
		`{"v":1.0,"kind":"x","data":{}}`:             "version 1.0",
		`{"kind":"x","data":{}}`:                     "no version",
		`{"v":1,"data":{}}`:                          "no kind",
		`{"v":1,"kind":"x"}`:                         "no data",
		`{"v":1,"kind":"x","data":null}`:             "data is null",
		`{"v":1,"kind":"x","kind":"y","data":1}`:     `member "kind" twice`,
		`{"v":1,"kind":"x","data":1,"z":2}`:          `unknown member "z"`,
		`{"v":1,"kind":"x","data":1} {}`:             "trailing data",
		`{"v":1,"kind":"x","data":1}x`:               "trailing data",
		`{"v":1,"kind":7,"data":1}`:                  "kind",
		`{"v":1,"kind":"NOPE","data":1}`:             "kind",
		`[{"v":1}]`:                                  "not a JSON object",
		`{"v":1,"kind":"x","data":{"a":}`:            "not valid JSON",
		"{\"v\":1,\"kind\":\"x\",\"data\":\"\xff\"}": "UTF-8",
		`null`:                       "not a JSON object",
		``:                           "not a JSON object",
		`{"v":1,"kind":"x","data":1`: "not valid JSON",
		`{"v":1,"kind":"x","data":[` + strings.Repeat("[", 20000) + `}`: "not valid JSON",
	}
	for in, want := range cases {
		_, err := DecodeItem([]byte(in))
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%.60q: want *CorruptError, got %v", in, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%.60q: message %q lacks %q", in, err, want)
		}
	}
	big := append([]byte(`{"v":1,"kind":"x","data":"`), bytes.Repeat([]byte("a"), MaxItemLen)...)
	if _, err := DecodeItem(append(big, `"}`...)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("oversized item: %v", err)
	}
}

// FuzzDecodeItem: DecodeItem never panics, rejects with ErrCorrupt, and an
// accepted item re-encodes to an item that decodes to the same thing.
func FuzzDecodeItem(f *testing.F) {
	f.Add([]byte(`{"v":1,"kind":"idp-token","data":{"refresh_token":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := DecodeItem(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || err.Error() == "" {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			if it != nil {
				t.Fatal("item returned with an error")
			}
			return
		}
		if !json.Valid(it.Data) || !kindRE.MatchString(it.Kind) {
			t.Fatalf("accepted invalid item %+v", it)
		}
		again, err := EncodeItem(it.Kind, it.Data)
		if err != nil {
			if len(b) > MaxItemLen-64 {
				return // re-encoding may grow past the limit
			}
			t.Fatalf("re-encode: %v", err)
		}
		it2, err := DecodeItem(again)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", again, err)
		}
		if it2.Kind != it.Kind || !reflect.DeepEqual(generic(t, it.Data), generic(t, it2.Data)) {
			t.Fatalf("round trip changed the item: %+v vs %+v", it, it2)
		}
	})
}
