package cli

import (
	"os"
	"path/filepath"
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
		"alice listed 2 objects under emea/",
		"apac/ refused",
		"alice wrote s3://analytics-data/users/alice/",
		"row-level security: EMEA only",
		"row-level security kept", "all in Europe",
		"Lake Formation kept 4 rows, EMEA only", "(margin_pct withheld)",
		"cites only what her groups may read: EMEA discount policy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAILED") {
		t.Fatalf("a demo step failed:\n%s", out)
	}
	// The snapshot files are real: a PDF, CSVs of alice's rows only, a workbook.
	pdfs, _ := filepath.Glob("tipctl-demo-output/*.pdf")
	xlsx, _ := filepath.Glob("tipctl-demo-output/*.xlsx")
	csv, err := os.ReadFile("tipctl-demo-output/sales-detail.csv")
	if len(pdfs) == 0 || len(xlsx) != 1 || err != nil {
		t.Fatalf("snapshot files: pdf %v xlsx %v csv %v", pdfs, xlsx, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(csv)), "\n")[1:] {
		if !strings.HasPrefix(line, "EMEA,") {
			t.Fatalf("alice's CSV holds a row outside EMEA: %q", line)
		}
	}
	if b, _ := os.ReadFile(pdfs[0]); !strings.HasPrefix(string(b), "%PDF-") {
		t.Fatal("the PDF is not a PDF")
	}
}
