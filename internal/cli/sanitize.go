package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Terminal safety. tipctl prints strings it did not write: an IdP's
// error_description, claims such as email, AWS error messages, S3 keys,
// QuickSight names. An escape sequence in one of them could clear the
// screen, retitle the window, or forge lines of output, and a bidi
// override could make text read differently from what it is. Everything
// tipctl prints through the error printer, say, printJSON and the text
// printers (App.text) goes through Sanitize, which keeps newlines and tabs
// and escapes every other control character.

// Sanitize returns s with control characters escaped: C0 controls as \xNN
// (except newline and tab), DEL and C1 controls, bidi controls and the
// Unicode line/paragraph separators as \uNNNN, and bytes that are not
// UTF-8 as \xNN. A string without them is returned as is.
func Sanitize(s string) string {
	if isSafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 && r != '\n' && r != '\t':
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f {
			// Non-ASCII needs a closer look.
			return !strings.ContainsFunc(s, func(r rune) bool {
				return r < 0x20 && r != '\n' && r != '\t' || unsafeRune(r)
			}) && utf8.ValidString(s)
		}
	}
	return true
}

// unsafeRune: DEL, C1 controls, bidi controls, line/paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// safeWriter sanitizes everything written through it (one Write is one
// piece of text: fmt and tabwriter never split a character).
type safeWriter struct{ w io.Writer }

func (s safeWriter) Write(p []byte) (int, error) {
	t := Sanitize(string(p))
	if _, err := io.WriteString(s.w, t); err != nil {
		return 0, err
	}
	return len(p), nil
}

// text is stdout for the human-readable printers: sanitized.
func (a *App) text() io.Writer { return safeWriter{a.Stdout} }
