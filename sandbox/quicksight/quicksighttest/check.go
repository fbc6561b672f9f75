// Package quicksighttest checks snapshot files against a sandbox world: the
// expected figures come from the world's data and row-level security, never
// from the code under test. Tests of tip/quicksight and of the CLI use it;
// it lives beside the emulator, so that tip/ never imports sandbox/ outside tests.
package quicksighttest

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/tipctl/tipctl/sandbox/world"
)

// VisibleRows returns the header and the rows of the world's first
// QuickSight dataset that the user with email may see under its row-level
// security rules (user and group rules; all_rows).
func VisibleRows(t testing.TB, w *world.World, email string) (header []string, rows [][]string) {
	t.Helper()
	q := w.QuickSight
	var groups []string
	name := ""
	for _, u := range q.Users {
		if strings.EqualFold(u.Email, email) {
			groups, name = u.Groups, u.UserName
		}
	}
	if name == "" {
		t.Fatalf("no QuickSight user %s in the world", email)
	}
	ds := q.Datasets[0]
	col := map[string]int{}
	for i, c := range ds.Columns {
		header = append(header, c.Name)
		col[c.Name] = i
	}
	allowed := map[int]map[string]bool{}
	everything := len(ds.RowLevelSecurity) == 0
	for _, r := range ds.RowLevelSecurity {
		if (r.User != "" && r.User != name) || (r.Group != "" && !slices.Contains(groups, r.Group)) {
			continue
		}
		if r.AllRows {
			everything = true
			continue
		}
		c := col[r.Column]
		if allowed[c] == nil {
			allowed[c] = map[string]bool{}
		}
		for _, v := range r.Values {
			allowed[c][v] = true
		}
	}
	for _, r := range AllRows(w) {
		ok := everything
		for c, vals := range allowed {
			ok = ok || vals[r[c]]
		}
		if ok {
			rows = append(rows, r)
		}
	}
	return header, rows
}

// AllRows are every row of the world's first QuickSight dataset.
func AllRows(w *world.World) [][]string {
	ds := w.QuickSight.Datasets[0]
	if ds.Generator != nil {
		return ds.Generator.Generate()
	}
	return ds.Rows
}

// Sum adds a numeric column.
func Sum(t testing.TB, header []string, rows [][]string, name string) float64 {
	t.Helper()
	c := slices.Index(header, name)
	if c < 0 {
		t.Fatalf("no column %s", name)
	}
	sum := 0.0
	for _, r := range rows {
		f, err := strconv.ParseFloat(r[c], 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += f
	}
	return sum
}

// Thousands writes v with grouped thousands and the given decimals, as
// dashboards show figures (1,234,567.89).
func Thousands(v float64, decimals int) string {
	p := math.Pow(10, float64(decimals))
	s := strconv.FormatFloat(math.Round(v*p)/p, 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, ch := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

// PDFText extracts a PDF's text with pdftotext (poppler-utils); it skips
// the test, saying how to install it, when pdftotext is absent.
func PDFText(t testing.TB, path string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed; install it with `apt-get install -y poppler-utils` to check the PDF's text")
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", path, err)
	}
	return string(out)
}

// CheckFiles opens the files of a snapshot of the default world's
// dashboard taken for the user with email, by their names: overview.pdf
// has the dashboard's title and the user's own revenue and units (not
// everyone's); sales-detail.csv holds exactly the rows row-level security
// lets the user see; sales-overview.xlsx opens with excelize and has one
// worksheet per exported visual, each showing only the user's regions.
// It returns how many files it checked.
func CheckFiles(t testing.TB, w *world.World, email string, files []string) int {
	t.Helper()
	header, rows := VisibleRows(t, w, email)
	if len(rows) == 0 {
		t.Fatalf("%s sees no rows in the world; the test data is wrong", email)
	}
	regions := map[string]bool{}
	for _, r := range rows {
		regions[r[slices.Index(header, "region")]] = true
	}
	checked := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Base(p) {
		case "sales-detail.csv":
			checked++
			recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if !reflect.DeepEqual(recs[0], header) {
				t.Errorf("CSV header %v, want %v", recs[0], header)
			}
			if !reflect.DeepEqual(recs[1:], rows) {
				t.Errorf("%s has %d rows; want the %d rows %s may see", p, len(recs)-1, len(rows), email)
			}
		case "overview.pdf":
			checked++
			if !bytes.HasPrefix(b, []byte("%PDF-")) {
				t.Fatalf("%s is not a PDF", p)
			}
			text := PDFText(t, p)
			revenue := Thousands(Sum(t, header, rows, "revenue"), 2)
			units := Thousands(Sum(t, header, rows, "units"), 0)
			for _, want := range []string{"Sales Overview", revenue, units, email} {
				if !strings.Contains(text, want) {
					t.Errorf("the overview PDF lacks %q:\n%s", want, text)
				}
			}
			if _, all := VisibleRows(t, w, "carol@example.com"); len(all) != len(rows) {
				if everyone := Thousands(Sum(t, header, all, "revenue"), 2); strings.Contains(text, everyone) {
					t.Errorf("the PDF shows everyone's revenue (%s), not %s's", everyone, email)
				}
			}
		case "sales-overview.xlsx":
			checked++
			f, err := excelize.OpenReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("excelize cannot open %s: %v", p, err)
			}
			want := []string{"Revenue by country", "Revenue by country and product", "Sales detail"}
			if got := f.GetSheetList(); !reflect.DeepEqual(got, want) {
				t.Errorf("worksheets %v, want %v", got, want)
			}
			detail, err := f.GetRows("Sales detail")
			if err != nil || len(detail) != len(rows)+1 {
				t.Errorf("worksheet Sales detail has %d rows, want %d: %v", len(detail), len(rows)+1, err)
			}
			countries, _ := f.GetRows("Revenue by country")
			if len(countries) < 2 {
				t.Errorf("worksheet Revenue by country is empty")
			}
			for _, r := range countries[1:] {
				if !regions[r[0]] {
					t.Errorf("the workbook shows region %s to %s", r[0], email)
				}
			}
			f.Close()
		}
	}
	return checked
}
