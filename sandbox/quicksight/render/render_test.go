package render

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func sample(rows int) *Table {
	t := &Table{Header: []string{"country", "revenue"}}
	for i := 0; i < rows; i++ {
		t.Rows = append(t.Rows, []Cell{Text(fmt.Sprintf("Country %03d", i)), Number(float64(i)*10.5, 2)})
	}
	return t
}

// shown lists the strings a PDF draws with Tj (page streams uncompressed).
func shown(pdf []byte) string {
	var b strings.Builder
	for _, m := range regexp.MustCompile(`\(((?:\\.|[^\\)])*)\)\s*Tj`).FindAllSubmatch(pdf, -1) {
		b.Write(m[1])
		b.WriteByte('\n')
	}
	return b.String()
}

func TestPDFDrawsTitlesFiguresBarsAndTables(t *testing.T) {
	doc := &Document{Title: "Sales Overview", Subtitle: "Snapshot for alice", Notes: []string{"Parameters: Region = EMEA"},
		Pages: []Page{
			{Title: "Overview", Visuals: []Visual{
				{ID: "k", Title: "Total", KPI: []Figure{{Label: "Revenue", Value: "1,234.50"}}},
				{ID: "b", Title: "Revenue by product", Bars: &BarChart{Measure: "Revenue", Categories: []string{"Widget", "Gizmo"},
					Values: []float64{30, 10}, Texts: []string{"30.00", "10.00"}}},
			}},
			{Title: "Detail", Visuals: []Visual{{ID: "t", Title: "Long table", Table: sample(120)}}},
		}}
	pdf, err := PDF(doc, Options{Uncompressed: true})
	if err != nil {
		t.Fatal(err)
	}
	text := shown(pdf)
	for _, want := range []string{"Sales Overview", "Overview", "Detail", "Detail \\(continued\\)", "Snapshot for alice",
		"Parameters: Region = EMEA", "Revenue", "1,234.50", "Widget", "30.00", "Country 000", "Country 119", "1249.50"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF does not draw %q", want)
		}
	}
	pages := bytes.Count(pdf, []byte("/Type /Page\n"))
	if pages < 3 {
		t.Errorf("%d pages: the 120-row table should continue on further pages", pages)
	}
	// Bars are filled rectangles proportional to their values: 30 is 3x 10.
	var widths []float64
	for _, m := range regexp.MustCompile(`[\d.]+ [\d.]+ ([\d.]+) [\d.-]+ re f`).FindAllSubmatch(pdf, -1) {
		var w float64
		fmt.Sscan(string(m[1]), &w)
		widths = append(widths, w)
	}
	if len(widths) < 2 || widths[0] < 2.9*widths[1] || widths[0] > 3.1*widths[1] {
		t.Errorf("bar widths %v, want the first 3x the second", widths)
	}
	compressed, err := PDF(doc, Options{})
	if err != nil || len(compressed) >= len(pdf) || !bytes.HasPrefix(compressed, []byte("%PDF-")) {
		t.Errorf("compressed PDF: %d bytes (uncompressed %d), %v", len(compressed), len(pdf), err)
	}
}

func TestCSVQuotesAndKeepsRows(t *testing.T) {
	tbl := &Table{Header: []string{"name", "note"}, Rows: [][]Cell{{Text("Müller, GmbH"), Text(`say "hi"`)}, {Text("x"), Number(2, 0)}}}
	b, err := CSV(tbl)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][0] != "Müller, GmbH" || rows[1][1] != `say "hi"` || rows[2][1] != "2" {
		t.Fatalf("rows %q %v", rows, err)
	}
}

func TestExcelOneWorksheetPerVisual(t *testing.T) {
	b, err := Excel([]Sheet{{Name: "Revenue: by/country?", Table: sample(3)}, {Name: "Revenue: by/country?", Table: sample(1)},
		{Name: strings.Repeat("x", 40), Table: &Table{Header: []string{"a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := f.GetSheetList()
	if !slices.Equal(names, []string{"Revenue- by-country-", "Revenue- by-country- (2)", strings.Repeat("x", 31)}) {
		t.Fatalf("worksheets %q", names)
	}
	rows, _ := f.GetRows(names[0])
	if len(rows) != 4 || rows[0][0] != "country" || rows[3][1] != "21" {
		t.Fatalf("rows %q", rows)
	}
	typ, _ := f.GetCellType(names[0], "B3")
	if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Fatalf("revenue stored as %v, want a number", typ)
	}
}
