package cloudtrail

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// xmlElementsFast is xmlElements for the plain XML the sandbox's own
// services write (elements, text, the five predefined entities and
// character references, an <?xml?> header, attributes ignored), without
// encoding/xml's decoder, which was most of the cost of recording an
// awsQuery or restXml call. It reports false for anything else (comments,
// CDATA, prefixed names, carriage returns, malformed input), and the
// caller then uses xmlElements. A test and a fuzz target check both agree.
func xmlElementsFast(b []byte) (map[string]any, bool) {
	type frame struct {
		name string
		m    map[string]any
		text []byte
	}
	if !utf8.Valid(b) {
		return nil, false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' {
			return nil, false // \r (which encoding/xml rewrites) and illegal characters
		}
	}
	var stack []*frame
	var root map[string]any
	closed := false
	end := func() bool {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		var val any = f.m
		if len(f.m) == 0 {
			val = strings.TrimSpace(string(f.text))
		}
		if len(stack) == 0 {
			root, closed = f.m, true
			if root == nil {
				root = map[string]any{}
			}
			return true
		}
		top := stack[len(stack)-1]
		if top.m == nil { // maps are made for elements with children only
			top.m = make(map[string]any, 4)
		}
		parent := top.m
		name := lowerFirst(f.name)
		switch old := parent[name].(type) {
		case nil:
			parent[name] = val
		case []any:
			parent[name] = append(old, val)
		default:
			parent[name] = []any{old, val}
		}
		return true
	}
	for i := 0; i < len(b); {
		if b[i] != '<' {
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				j = len(b) - i
			}
			text := b[i : i+j]
			i += j
			if len(stack) == 0 {
				if len(bytes.TrimSpace(text)) > 0 {
					return nil, false
				}
				continue
			}
			t, ok := unescapeXML(text)
			if !ok {
				return nil, false
			}
			top := stack[len(stack)-1]
			top.text = append(top.text, t...)
			continue
		}
		if closed {
			return nil, false // a second root, or anything after the first
		}
		switch {
		case bytes.HasPrefix(b[i:], []byte("<?xml ")) && i == 0:
			j := bytes.Index(b, []byte("?>"))
			if j < 0 {
				return nil, false
			}
			switch string(b[:j+2]) {
			case `<?xml version="1.0"?>`, `<?xml version="1.0" encoding="UTF-8"?>`, `<?xml version="1.0" encoding="utf-8"?>`:
			default:
				return nil, false
			}
			i = j + 2
		case bytes.HasPrefix(b[i:], []byte("</")):
			j := bytes.IndexByte(b[i:], '>')
			if j < 0 || len(stack) == 0 {
				return nil, false
			}
			name := string(bytes.TrimRight(b[i+2:i+j], " \t\n"))
			if name != stack[len(stack)-1].name {
				return nil, false
			}
			i += j + 1
			end()
		default:
			j, self := tagEnd(b[i:])
			if j < 0 {
				return nil, false
			}
			tag := b[i+1 : i+j]
			if self {
				tag = tag[:len(tag)-1]
			}
			k := bytes.IndexAny(tag, " \t\n")
			if k < 0 {
				k = len(tag)
			}
			name := string(tag[:k])
			if !plainName(name) || !plainAttrs(tag[k:]) {
				return nil, false
			}
			i += j + 1
			stack = append(stack, &frame{name: name})
			if self {
				end()
			}
		}
	}
	if !closed {
		return nil, false
	}
	for k, v := range root {
		if strings.HasSuffix(k, "Result") {
			if m, ok := v.(map[string]any); ok {
				return m, true
			}
		}
	}
	delete(root, "responseMetadata")
	return root, true
}

// tagEnd finds the '>' closing the tag at b[0] (skipping quoted attribute
// values) and whether the tag closes itself.
func tagEnd(b []byte) (int, bool) {
	var quote byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			return -1, false
		case c == '>':
			return i, b[i-1] == '/'
		}
	}
	return -1, false
}

// plainName accepts the element names the sandbox writes: a letter, then
// letters, digits, '-', '_' or '.'.
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')) {
			return false
		}
	}
	return true
}

var xmlEntities = map[string]string{"lt": "<", "gt": ">", "amp": "&", "quot": `"`, "apos": "'"}

// unescapeXML decodes the predefined entities and character references.
func unescapeXML(t []byte) ([]byte, bool) {
	if bytes.IndexByte(t, '&') < 0 {
		return t, true
	}
	var out []byte
	for len(t) > 0 {
		i := bytes.IndexByte(t, '&')
		if i < 0 {
			out = append(out, t...)
			break
		}
		out = append(out, t[:i]...)
		t = t[i+1:]
		j := bytes.IndexByte(t, ';')
		if j < 1 || j > 10 {
			return nil, false
		}
		ent := string(t[:j])
		t = t[j+1:]
		if s, ok := xmlEntities[ent]; ok {
			out = append(out, s...)
			continue
		}
		if !strings.HasPrefix(ent, "#") {
			return nil, false
		}
		var n uint64
		var err error
		if strings.HasPrefix(ent, "#x") {
			n, err = strconv.ParseUint(ent[2:], 16, 32)
		} else {
			n, err = strconv.ParseUint(ent[1:], 10, 32)
		}
		if err != nil || n == 0 || n > utf8.MaxRune || (n < 0x20 && n != '\t' && n != '\n') || (n >= 0xD800 && n < 0xE000) {
			return nil, false
		}
		out = utf8.AppendRune(out, rune(n))
	}
	return out, true
}

// plainAttrs accepts ` name="value"` attributes whose values hold no
// entity or markup (xmlns declarations, as the sandbox writes them).
func plainAttrs(b []byte) bool {
	for {
		b = bytes.TrimLeft(b, " \t\n")
		if len(b) == 0 {
			return true
		}
		eq := bytes.IndexByte(b, '=')
		if eq < 1 {
			return false
		}
		for _, c := range b[:eq] {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '-' || c == '_') {
				return false
			}
		}
		if b[0] == ':' || eq+1 >= len(b) || (b[eq+1] != '"' && b[eq+1] != '\'') {
			return false
		}
		q := b[eq+1]
		rest := b[eq+2:]
		end := bytes.IndexByte(rest, q)
		if end < 0 || bytes.ContainsAny(rest[:end], "&<") {
			return false
		}
		b = rest[end+1:]
		if len(b) > 0 && b[0] != ' ' && b[0] != '\t' && b[0] != '\n' {
			return false
		}
	}
}
