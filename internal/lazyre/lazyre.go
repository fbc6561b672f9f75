// Package lazyre compiles a regular expression on first use. Package-level
// regexps compiled with regexp.MustCompile run at program start-up, in every
// tipctl invocation, including the cached credential_process path that must
// start in a few milliseconds; some (counted repetitions such as {1,512})
// take a millisecond each to compile.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a regexp compiled on first use. The pattern must be valid: an
// invalid one panics on first use, as regexp.MustCompile would at start-up
// (the tests of each package exercise their patterns).
type Regexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

// New returns a lazily compiled regexp for expr.
func New(expr string) *Regexp { return &Regexp{expr: expr} }

// Re returns the compiled regexp.
func (r *Regexp) Re() *regexp.Regexp {
	r.once.Do(func() { r.re = regexp.MustCompile(r.expr) })
	return r.re
}

// MatchString reports whether s contains a match.
func (r *Regexp) MatchString(s string) bool { return r.Re().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.Re().FindStringSubmatch(s) }

// FindAllString is regexp.Regexp.FindAllString.
func (r *Regexp) FindAllString(s string, n int) []string { return r.Re().FindAllString(s, n) }

// ReplaceAllString is regexp.Regexp.ReplaceAllString.
func (r *Regexp) ReplaceAllString(src, repl string) string { return r.Re().ReplaceAllString(src, repl) }

// ReplaceAllStringFunc is regexp.Regexp.ReplaceAllStringFunc.
func (r *Regexp) ReplaceAllStringFunc(src string, f func(string) string) string {
	return r.Re().ReplaceAllStringFunc(src, f)
}

// String returns the pattern.
func (r *Regexp) String() string { return r.expr }
