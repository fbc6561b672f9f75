package lazyre

import "testing"

func TestLazy(t *testing.T) {
	r := New(`^a(\d+)$`)
	if r.re != nil {
		t.Fatal("compiled before use")
	}
	if !r.MatchString("a12") || r.MatchString("b") || r.FindStringSubmatch("a7")[1] != "7" {
		t.Fatal("wrong matches")
	}
	if r.ReplaceAllString("a1", "x") != "x" || r.String() != `^a(\d+)$` {
		t.Fatal("replace/string")
	}
}
