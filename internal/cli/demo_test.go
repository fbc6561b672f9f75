package cli

import (
	"strings"
	"testing"
)

func TestDemoPlaysTheWholeFlow(t *testing.T) {
	home(t)
	t.Chdir(t.TempDir())
	out, stderr, code := run(t, "demo")
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"alice@example.com signed in on the sandbox login page",
		"identity-enhanced session in 3 AWS calls",
		":assumed-role/tip-enhanced/tip-",
		"groups emea-sales, analysts",
		"0 AWS calls",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAILED") {
		t.Fatalf("a demo step failed:\n%s", out)
	}
}
