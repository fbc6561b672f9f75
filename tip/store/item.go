package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// ItemVersion is the envelope version EncodeItem writes and DecodeItem
// accepts.
const ItemVersion = 1

// MaxItemLen bounds an encoded item.
const MaxItemLen = 1 << 20

// Item is the versioned envelope tipctl stores values in:
//
//	{"v":1,"kind":"idp-token","data":{...}}
//
// Kind says what Data holds (e.g. "idp-token", "aws-credentials"); it is
// 1-64 characters of a-z 0-9 . _ - / starting with a letter.
type Item struct {
	Kind string
	Data json.RawMessage
}

var kindRE = lazyre.New(`^[a-z][a-z0-9._/-]{0,63}$`)

// EncodeItem wraps data (any JSON-marshalable value, or json.RawMessage) in
// the envelope.
func EncodeItem(kind string, data any) ([]byte, error) {
	if !kindRE.MatchString(kind) {
		return nil, fmt.Errorf("store: item kind %q is invalid (1-64 of a-z 0-9 . _ - /, starting with a letter)", kind)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("store: encode %s item: %w", kind, err)
	}
	if bytes.Equal(raw, []byte("null")) {
		return nil, fmt.Errorf("store: encode %s item: data is null", kind)
	}
	out, err := json.Marshal(struct {
		V    int             `json:"v"`
		Kind string          `json:"kind"`
		Data json.RawMessage `json:"data"`
	}{ItemVersion, kind, raw})
	if err != nil {
		return nil, err
	}
	if len(out) > MaxItemLen {
		return nil, fmt.Errorf("store: %s item is %d bytes, the limit is %d", kind, len(out), MaxItemLen)
	}
	return out, nil
}

// DecodeItem parses an envelope strictly: one JSON object with exactly the
// members v (the integer 1), kind and data (non-null), no duplicates, no
// unknown members, no trailing bytes, valid UTF-8, at most MaxItemLen bytes.
// Any violation is a *CorruptError (matching ErrCorrupt); it never panics.
func DecodeItem(b []byte) (*Item, error) {
	it, reason := decodeItem(b)
	if reason != "" {
		return nil, &CorruptError{Reason: reason}
	}
	return it, nil
}

func decodeItem(b []byte) (*Item, string) {
	if len(b) > MaxItemLen {
		return nil, fmt.Sprintf("item is %d bytes, the limit is %d", len(b), MaxItemLen)
	}
	if !utf8.Valid(b) {
		return nil, "item is not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, "item is not a JSON object"
	}
	var (
		it         Item
		seen       = map[string]bool{}
		rawV, rawK json.RawMessage
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "item is not valid JSON"
		}
		name, ok := tok.(string)
		if !ok {
			return nil, "item is not valid JSON"
		}
		if seen[name] {
			return nil, fmt.Sprintf("item has member %q twice", name)
		}
		seen[name] = true
		var dst *json.RawMessage
		switch name {
		case "v":
			dst = &rawV
		case "kind":
			dst = &rawK
		case "data":
			dst = &it.Data
		default:
			return nil, fmt.Sprintf("item has unknown member %q", truncate(name, 40))
		}
		if err := dec.Decode(dst); err != nil {
			return nil, "item is not valid JSON"
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, "item is not valid JSON"
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, "item has trailing data after the JSON object"
	}
	switch {
	case rawV == nil:
		return nil, "item has no version (v)"
	case string(rawV) != "1":
		var n json.Number
		if c := rawV[0]; (c == '-' || c >= '0' && c <= '9') && json.Unmarshal(rawV, &n) == nil {
			return nil, fmt.Sprintf("item version %s is not supported (this tipctl reads version %d)", truncate(n.String(), 20), ItemVersion)
		}
		return nil, "item version (v) is not a number"
	case rawK == nil:
		return nil, "item has no kind"
	case it.Data == nil:
		return nil, "item has no data"
	case string(it.Data) == "null":
		return nil, "item data is null"
	}
	if err := json.Unmarshal(rawK, &it.Kind); err != nil || !kindRE.MatchString(it.Kind) {
		return nil, "item kind is not a valid kind string"
	}
	it.Data = append(json.RawMessage(nil), it.Data...)
	return &it, ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Unmarshal decodes Data into v, rejecting unknown fields.
func (it *Item) Unmarshal(v any) error {
	dec := json.NewDecoder(bytes.NewReader(it.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &CorruptError{Reason: fmt.Sprintf("%s item data does not match its type: %v", it.Kind, err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &CorruptError{Reason: fmt.Sprintf("%s item data has trailing bytes", it.Kind)}
	}
	return nil
}
