package sqlengine

import (
	"database/sql/driver"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"modernc.org/sqlite"
)

// Redshift's POSIX regular expressions (~, ~*, !~, !~*, REGEXP_COUNT,
// REGEXP_INSTR, REGEXP_REPLACE, REGEXP_SUBSTR), run with Go's RE2 engine:
// linear in the text, so no pattern can make a query run away. Patterns
// RE2 lacks (backreferences, lookaround) fail with Redshift's message.
// LOWER and UPPER fold every Unicode letter, as Redshift does (the
// engine's own fold only ASCII).
func init() {
	scalar := func(name string, n int32, f func([]driver.Value) (driver.Value, error)) {
		sqlite.MustRegisterFunction(name, &sqlite.FunctionImpl{NArgs: n, Deterministic: true,
			Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) { return f(args) }})
	}
	fold := func(f func(string) string) func([]driver.Value) (driver.Value, error) {
		return func(a []driver.Value) (driver.Value, error) {
			if a[0] == nil {
				return nil, nil
			}
			if b, ok := a[0].([]byte); ok {
				return b, nil
			}
			return f(asText(a[0])), nil
		}
	}
	scalar("lower", 1, fold(strings.ToLower))
	scalar("upper", 1, fold(strings.ToUpper))
	match := func(icase, negate bool) func([]driver.Value) (driver.Value, error) {
		return func(a []driver.Value) (driver.Value, error) {
			if a[0] == nil || a[1] == nil {
				return nil, nil
			}
			re, err := compile(asText(a[1]), icase)
			if err != nil {
				return nil, err
			}
			return b2i(re.MatchString(asText(a[0])) != negate), nil
		}
	}
	scalar("rs_regexp_match", 2, match(false, false))
	scalar("rs_regexp_imatch", 2, match(true, false))
	scalar("rs_regexp_nomatch", 2, match(false, true))
	scalar("rs_regexp_inomatch", 2, match(true, true))
	{
		n := int32(-1) // two or three arguments, checked in regexpArgs
		scalar("regexp_count", n, func(a []driver.Value) (driver.Value, error) {
			s, re, ok, err := regexpArgs(a)
			if !ok {
				return nil, err
			}
			return int64(len(re.FindAllStringIndex(s, -1))), nil
		})
		scalar("regexp_instr", n, func(a []driver.Value) (driver.Value, error) {
			s, re, ok, err := regexpArgs(a)
			if !ok {
				return nil, err
			}
			loc := re.FindStringIndex(s)
			if loc == nil {
				return int64(0), nil
			}
			return int64(utf8.RuneCountInString(s[:loc[0]]) + 1), nil
		})
		scalar("regexp_substr", n, func(a []driver.Value) (driver.Value, error) {
			s, re, ok, err := regexpArgs(a)
			if !ok {
				return nil, err
			}
			return re.FindString(s), nil
		})
	}
	scalar("regexp_replace", -1, func(a []driver.Value) (driver.Value, error) {
		if len(a) != 2 && len(a) != 3 {
			return nil, fail("function regexp_replace takes 2 or 3 arguments")
		}
		s, re, ok, err := regexpArgs(a[:2])
		if !ok {
			return nil, err
		}
		if len(a) == 2 {
			return re.ReplaceAllString(s, ""), nil
		}
		if a[2] == nil {
			return nil, nil
		}
		// Redshift writes a group as \1; Go as ${1}.
		repl := strings.ReplaceAll(asText(a[2]), "$", "$$")
		repl = groupRef.ReplaceAllString(repl, "$${$1}")
		return re.ReplaceAllString(s, repl), nil
	})
}

var groupRef = regexp.MustCompile(`\\([0-9])`)

// regexpArgs reads (source, pattern[, position]); ok is false for NULL
// or an error. position (1-based) starts the search further in.
func regexpArgs(a []driver.Value) (string, *regexp.Regexp, bool, error) {
	if len(a) != 2 && len(a) != 3 {
		return "", nil, false, fail("the REGEXP functions take 2 or 3 arguments")
	}
	if a[0] == nil || a[1] == nil {
		return "", nil, false, nil
	}
	re, err := compile(asText(a[1]), false)
	if err != nil {
		return "", nil, false, err
	}
	s := asText(a[0])
	if len(a) > 2 {
		p, ok := a[2].(int64)
		if !ok || p < 1 {
			return "", nil, false, fail("argument 3 of the REGEXP function must be a positive integer")
		}
		r := []rune(s)
		s = string(r[min(int(p-1), len(r)):])
	}
	return s, re, true, nil
}

// maxPattern bounds a pattern's text; patterns are cached, a bounded few.
const (
	maxPattern  = 4096
	maxPatterns = 256
)

var patterns struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}

func compile(p string, icase bool) (*regexp.Regexp, error) {
	if len(p) > maxPattern {
		return nil, fail("invalid regular expression: longer than %d bytes", maxPattern)
	}
	key := p
	if icase {
		key = "(?i)" + p
	}
	patterns.Lock()
	defer patterns.Unlock()
	if re, ok := patterns.m[key]; ok {
		return re, nil
	}
	re, err := regexp.Compile(key)
	if err != nil {
		return nil, fail("invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	if patterns.m == nil || len(patterns.m) >= maxPatterns {
		patterns.m = map[string]*regexp.Regexp{}
	}
	patterns.m[key] = re
	return re, nil
}
