// Package awsini edits the AWS shared config file (~/.aws/config) line by
// line: it changes the keys of one profile and leaves every other byte as
// it was: other sections, comments, blank lines, odd spacing and line
// endings. It reads the file the way botocore's parser does (full-line
// comments with # or ;, keys with = or :, indented continuation lines,
// [default] and [profile NAME] headers), shows a unified diff of a change,
// and writes atomically, keeping the file's mode.
package awsini

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// File is a parsed config file. The zero value is an empty file.
type File struct {
	lines []string // each with its terminator ("\n", "\r\n"), the last maybe without
}

// line kinds.
const (
	kBlank = iota
	kComment
	kHeader
	kKey
	kCont  // continuation of the previous key's value
	kOther // text a parser would reject; kept as is
)

type lineInfo struct {
	kind   int
	indent string // leading whitespace
	header string // kHeader: text between [ and ]
	key    string // kKey: lower-cased key
	value  string // kKey: trimmed value on the key line
}

// Parse reads data. It never fails: lines it does not understand are kept
// as they are and ignored.
func Parse(data []byte) *File {
	f := &File{}
	s := string(data)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			f.lines = append(f.lines, s)
			break
		}
		f.lines = append(f.lines, s[:i+1])
		s = s[i+1:]
	}
	return f
}

// Bytes returns the file's content.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for _, l := range f.lines {
		b.WriteString(l)
	}
	return b.Bytes()
}

// newline is the line ending for inserted lines: the file's own.
func (f *File) newline() string {
	crlf, lf := 0, 0
	for _, l := range f.lines {
		switch {
		case strings.HasSuffix(l, "\r\n"):
			crlf++
		case strings.HasSuffix(l, "\n"):
			lf++
		}
	}
	if crlf > lf {
		return "\r\n"
	}
	return "\n"
}

func body(l string) string { return strings.TrimRight(l, "\r\n") }

func leading(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

// classify walks the file like configparser: a non-blank line indented
// deeper than the current key is part of that key's value.
func (f *File) classify() []lineInfo {
	out := make([]lineInfo, len(f.lines))
	keyIndent := -1 // indent of the current key, -1 when none
	for i, raw := range f.lines {
		l := body(raw)
		t := strings.TrimSpace(l)
		info := lineInfo{indent: leading(l)}
		switch {
		case t == "":
			info.kind = kBlank
		case t[0] == '#' || t[0] == ';':
			info.kind = kComment
		case keyIndent >= 0 && len(info.indent) > keyIndent:
			info.kind = kCont
		case t[0] == '[' && strings.LastIndexByte(t, ']') > 1:
			info.kind = kHeader
			info.header = t[1:strings.LastIndexByte(t, ']')]
			keyIndent = -1
		default:
			d := strings.IndexAny(t, "=:")
			if d <= 0 {
				info.kind = kOther
				keyIndent = -1
				break
			}
			info.kind = kKey
			info.key = strings.ToLower(strings.TrimSpace(t[:d]))
			info.value = strings.TrimSpace(t[d+1:])
			keyIndent = len(info.indent)
		}
		out[i] = info
	}
	return out
}

// SectionProfile returns the profile a section header names: "default"
// for [default] and [profile default], NAME for [profile NAME], and ok
// false for other sections ([sso-session x], [services x], ...).
func SectionProfile(header string) (name string, ok bool) {
	h := strings.TrimSpace(header)
	if h == "default" {
		return "default", true
	}
	if !strings.HasPrefix(h, "profile") {
		return "", false
	}
	parts := splitWords(h)
	if len(parts) == 2 && parts[0] == "profile" && parts[1] != "" {
		return parts[1], true
	}
	return "", false
}

// splitWords splits like a minimal shlex: whitespace separated words,
// single or double quotes group. It returns nil on unbalanced quotes.
func splitWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote, open := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
		open = quote != 0
	}
	if open {
		return nil
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// Section is one [section] of the file.
type Section struct {
	// Header is the text between the brackets, as written.
	Header string
	// Profile is the profile name for [default] and [profile NAME]
	// sections, else "".
	Profile string
	// Start is the index of the header line; End is one past the
	// section's last line.
	Start, End int
}

// Sections lists the sections in file order.
func (f *File) Sections() []Section {
	info := f.classify()
	return sections(info)
}

func sections(info []lineInfo) []Section {
	var out []Section
	for i, in := range info {
		if in.kind != kHeader {
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].End = i
		}
		p, _ := SectionProfile(in.header)
		out = append(out, Section{Header: in.header, Profile: p, Start: i, End: len(info)})
	}
	return out
}

// Profiles returns the profile names in file order, each once.
func (f *File) Profiles() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range f.Sections() {
		if s.Profile != "" && !seen[s.Profile] {
			seen[s.Profile] = true
			out = append(out, s.Profile)
		}
	}
	return out
}

// find returns the section of profile name, preferring [profile default]
// over [default] as botocore does, else the first one.
func find(secs []Section, name string) (Section, bool) {
	var found *Section
	for i := range secs {
		s := &secs[i]
		if s.Profile != name {
			continue
		}
		if found == nil || (name == "default" && strings.TrimSpace(found.Header) == "default" && strings.TrimSpace(s.Header) != "default") {
			found = s
		}
	}
	if found == nil {
		return Section{}, false
	}
	return *found, true
}

// Profile returns the keys of profile name (lower-cased) with their values
// on the key line; ok is false when the profile is absent.
func (f *File) Profile(name string) (map[string]string, bool) {
	info := f.classify()
	s, ok := find(sections(info), name)
	if !ok {
		return nil, false
	}
	kv := map[string]string{}
	for i := s.Start + 1; i < s.End; i++ {
		if info[i].kind == kKey {
			if _, dup := kv[info[i].key]; !dup {
				kv[info[i].key] = info[i].value
			}
		}
	}
	return kv, true
}

// Get returns one key of a profile.
func (f *File) Get(profile, key string) (string, bool) {
	kv, ok := f.Profile(profile)
	if !ok {
		return "", false
	}
	v, ok := kv[strings.ToLower(key)]
	return v, ok
}

// KV is one key and its value.
type KV struct{ Key, Value string }

// Errors from Set.
var (
	ErrProfileName = errors.New("invalid AWS profile name")
	ErrKey         = errors.New("invalid key")
	ErrValue       = errors.New("invalid value")
)

var (
	profileNameRe = lazyre.New(`^[A-Za-z0-9_.+@/-]{1,128}$`)
	keyRe         = lazyre.New(`^[a-z0-9_]{1,64}$`)
)

// ValidProfileName reports whether tipctl may write a profile of that name:
// letters, digits and _.+@/- (no spaces, brackets or quotes).
func ValidProfileName(name string) error {
	if !profileNameRe.MatchString(name) {
		return fmt.Errorf("%w %q: use letters, digits and _.+@/- only", ErrProfileName, name)
	}
	return nil
}

func validValue(v string) error {
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %q holds a control character or line break", ErrValue, v)
		}
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("%w: %q has leading or trailing spaces", ErrValue, v)
	}
	return nil
}

// SetProfile sets keys of profile name, creating the profile at the end of
// the file when it is absent. Existing keys are rewritten in place with
// their original spelling and spacing; new keys go after the section's
// last key. Nothing outside that section changes (appending a section may
// add a missing final line break and one blank separator line). It
// returns whether the content changed.
func (f *File) SetProfile(name string, kvs ...KV) (bool, error) {
	if err := ValidProfileName(name); err != nil {
		return false, err
	}
	for _, kv := range kvs {
		if !keyRe.MatchString(kv.Key) {
			return false, fmt.Errorf("%w %q", ErrKey, kv.Key)
		}
		if err := validValue(kv.Value); err != nil {
			return false, err
		}
	}
	before := string(f.Bytes())
	for _, kv := range kvs {
		f.set(name, kv)
	}
	return string(f.Bytes()) != before, nil
}

// DeleteKey removes a key (and its continuation lines) from a profile and
// reports whether it was there.
func (f *File) DeleteKey(profile, key string) bool {
	info := f.classify()
	s, ok := find(sections(info), profile)
	if !ok {
		return false
	}
	key = strings.ToLower(key)
	for i := s.Start + 1; i < s.End; i++ {
		if info[i].kind == kKey && info[i].key == key {
			end := valueEnd(info, i, s.End)
			f.lines = append(f.lines[:i:i], f.lines[end:]...)
			return true
		}
	}
	return false
}

// valueEnd returns one past the last continuation line of the key at i.
func valueEnd(info []lineInfo, i, limit int) int {
	end := i + 1
	for j := i + 1; j < limit; j++ {
		switch info[j].kind {
		case kCont:
			end = j + 1
		case kBlank, kComment:
		default:
			return end
		}
	}
	return end
}

func (f *File) set(name string, kv KV) {
	info := f.classify()
	nl := f.newline()
	s, ok := find(sections(info), name)
	if !ok {
		f.appendSection(name, kv, nl)
		return
	}
	for i := s.Start + 1; i < s.End; i++ {
		if info[i].kind != kKey || info[i].key != kv.Key {
			continue
		}
		if info[i].value == kv.Value {
			return
		}
		l := f.lines[i]
		term := l[len(body(l)):]
		b := body(l)
		d := strings.IndexAny(b, "=:")
		prefix := b[:d+1]
		// Keep the spacing after the delimiter ("key = v" or "key=v").
		rest := b[d+1:]
		space := leading(rest)
		end := valueEnd(info, i, s.End)
		// Drop continuation lines of the old value; keep comments and blank
		// lines among them.
		var kept []string
		for j := i + 1; j < end; j++ {
			if info[j].kind != kCont {
				kept = append(kept, f.lines[j])
			}
		}
		repl := append([]string{prefix + space + kv.Value + term}, kept...)
		f.lines = append(f.lines[:i:i], append(repl, f.lines[end:]...)...)
		return
	}
	// Insert after the section's last line that is not blank or a comment.
	at := s.Start + 1
	for i := s.Start + 1; i < s.End; i++ {
		if info[i].kind != kBlank && info[i].kind != kComment {
			at = i + 1
		}
	}
	// The new key must not swallow the next header as a continuation line:
	// indent it like that header (no indent in any sane file).
	indent := ""
	if s.End < len(info) {
		indent = info[s.End].indent
	}
	if at > 0 && !strings.HasSuffix(f.lines[at-1], "\n") {
		f.lines[at-1] += nl
	}
	line := indent + kv.Key + " = " + kv.Value + nl
	f.lines = append(f.lines[:at:at], append([]string{line}, f.lines[at:]...)...)
}

func (f *File) appendSection(name string, kv KV, nl string) {
	if n := len(f.lines); n > 0 {
		if !strings.HasSuffix(f.lines[n-1], "\n") {
			f.lines[n-1] += nl
		}
		if strings.TrimSpace(f.lines[n-1]) != "" {
			f.lines = append(f.lines, nl)
		}
	}
	header := "[profile " + name + "]"
	if name == "default" {
		header = "[default]"
	}
	f.lines = append(f.lines, header+nl, kv.Key+" = "+kv.Value+nl)
}

// Section returns the keys of the first section whose header is exactly
// header (spaces around it ignored), e.g. "sso-session corp", or a bare
// profile name in the shared credentials file.
func (f *File) Section(header string) (map[string]string, bool) {
	info := f.classify()
	for _, s := range sections(info) {
		if strings.TrimSpace(s.Header) != header {
			continue
		}
		kv := map[string]string{}
		for i := s.Start + 1; i < s.End; i++ {
			if info[i].kind == kKey {
				if _, dup := kv[info[i].key]; !dup {
					kv[info[i].key] = info[i].value
				}
			}
		}
		return kv, true
	}
	return nil, false
}
