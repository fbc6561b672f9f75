package quicksight_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/tip/quicksight"
)

// bigModel is a dashboard with n table visuals on one sheet and a chart.
func bigModel(sheets, tables int) *quicksight.Dashboard {
	d := &quicksight.Dashboard{ID: "big", Name: "Big", Parameters: []quicksight.Parameter{
		{Name: "Year", Type: "INTEGER"}, {Name: "Rate", Type: "DECIMAL"}, {Name: "Day", Type: "DATETIME"}, {Name: "Region", Type: "STRING"}}}
	for s := 0; s < sheets; s++ {
		sh := quicksight.Sheet{ID: fmt.Sprintf("s%d", s+1), Name: fmt.Sprintf("Sheet %d", s+1)}
		sh.Visuals = append(sh.Visuals, quicksight.Visual{ID: fmt.Sprintf("chart%d", s+1), Type: "BAR_CHART"})
		if s == 0 {
			for i := 0; i < tables; i++ {
				sh.Visuals = append(sh.Visuals, quicksight.Visual{ID: fmt.Sprintf("t%d", i+1), Type: "TABLE", Title: fmt.Sprintf("Table %d", i+1), Exportable: true})
			}
		}
		d.Sheets = append(d.Sheets, sh)
	}
	return d
}

func TestParseFormats(t *testing.T) {
	got, err := quicksight.ParseFormats([]string{"excel,PDF", " csv ", "xlsx"})
	if err != nil || !reflect.DeepEqual(got, []string{"PDF", "CSV", "EXCEL"}) {
		t.Fatalf("%v %v", got, err)
	}
	_, err = quicksight.ParseFormats([]string{"pfd"})
	wantKind(t, err, quicksight.KindInput, `unknown format "pfd"`, `did you mean "pdf"`)
}

func TestPlanWithinLimits(t *testing.T) {
	// The default dashboard's three formats of one sheet fit one job: one
	// file group per file, 5 at most.
	jobs, notes, err := quicksight.Plan(salesModel(), quicksight.Selection{Sheets: []string{"By region"}, Formats: []string{"PDF", "CSV", "EXCEL"}})
	if err != nil || len(jobs) != 1 || len(notes) != 0 {
		t.Fatalf("%+v %v %v", jobs, notes, err)
	}
	c := jobs[0].Config()
	if pdf, csv, excel := c.Counts(); pdf != 1 || csv != 3 || excel != 1 || len(c.FileGroups) != 5 {
		t.Fatalf("counts %d %d %d, %d groups", pdf, csv, excel, len(c.FileGroups))
	}
	if _, err := quicksight.Check(salesModel(), c); err != nil {
		t.Fatalf("the plan fails its own check: %v", err)
	}
	// The PDF of an explicitly named sheet shows KPIs; CSV/Excel leave them out.
	_, notes, err = quicksight.Plan(salesModel(), quicksight.Selection{Formats: []string{"CSV"}})
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "3 other visual(s) are left out") {
		t.Fatalf("%v %v", notes, err)
	}
}

func TestPlanSplits(t *testing.T) {
	// 7 tables: 2 jobs of CSVs (5 + 2) and Excel workbooks (5 + 2).
	jobs, notes, err := quicksight.Plan(bigModel(1, 7), quicksight.Selection{Formats: []string{"CSV", "EXCEL", "PDF"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || len(jobs[0].CSV) != 5 || len(jobs[1].CSV) != 2 || len(jobs[0].Excel) != 5 || len(jobs[1].Excel) != 2 ||
		jobs[0].PDFSheet != "s1" || jobs[1].PDFSheet != "" {
		t.Fatalf("%+v", jobs)
	}
	if len(notes) != 2 || !strings.Contains(notes[1], "split into 2 snapshot jobs (7 CSV files but a job makes at most 5; 7 Excel visuals but a workbook holds at most 5)") ||
		!strings.Contains(notes[1], "job 2: 2 CSV (t6, t7), Excel workbook of 2 visual(s) (t6, t7)") {
		t.Fatalf("notes %q", notes)
	}
	for _, j := range jobs {
		if _, err := quicksight.Check(bigModel(1, 7), j.Config()); err != nil {
			t.Errorf("%s: %v", j, err)
		}
	}
	// 9 sheets as PDFs need 9 jobs: more than tipctl runs for one snapshot.
	_, _, err = quicksight.Plan(bigModel(9, 1), quicksight.Selection{})
	wantKind(t, err, quicksight.KindInput, "needs 9 jobs", "9 PDFs (one per sheet) but a job makes 1", "at most 8 jobs")
	// Ambiguous and misspelt names.
	d := bigModel(2, 1)
	d.Sheets[1].Visuals = append(d.Sheets[1].Visuals, quicksight.Visual{ID: "t1", Type: "TABLE", Exportable: true})
	_, _, err = quicksight.Plan(d, quicksight.Selection{Visuals: []string{"t1"}})
	wantKind(t, err, quicksight.KindInput, `visual "t1" is on several sheets: s1/t1, s2/t1`, "SHEET/VISUAL")
	if jobs, _, err := quicksight.Plan(d, quicksight.Selection{Visuals: []string{"Sheet 2/t1"}}); err != nil || jobs[0].CSV[0] != (quicksight.VisualRef{Sheet: "s2", Visual: "t1"}) {
		t.Errorf("%+v %v", jobs, err)
	}
}

func TestCheck(t *testing.T) {
	file := func(format string, sels ...quicksight.SheetSelection) quicksight.FileGroup {
		return quicksight.FileGroup{Files: []quicksight.File{{FormatType: format, SheetSelections: sels}}}
	}
	pdf := func(sheet string) quicksight.FileGroup {
		return file("PDF", quicksight.SheetSelection{SheetId: sheet, SelectionScope: "ALL_VISUALS"})
	}
	csv := func(v string) quicksight.FileGroup {
		return file("CSV", quicksight.SheetSelection{SheetId: "s1", SelectionScope: "SELECTED_VISUALS", VisualIds: []string{v}})
	}
	d := bigModel(2, 7)
	cases := []struct {
		groups []quicksight.FileGroup
		want   string
	}{
		{nil, "must hold 1 to 7 file groups"},
		{[]quicksight.FileGroup{pdf("s1"), pdf("s2")}, "at most 1 PDF; SnapshotConfiguration.FileGroups[1].Files[0] asks for another"},
		{[]quicksight.FileGroup{csv("t1"), csv("t2"), csv("t3"), csv("t4"), csv("t5"), csv("t6")}, "at most 5 CSV files"},
		{[]quicksight.FileGroup{file("EXCEL", quicksight.SheetSelection{SheetId: "s1", SelectionScope: "SELECTED_VISUALS", VisualIds: []string{"t1", "t2", "t3", "t4", "t5", "t6"}})}, "at most 5 visuals"},
		{[]quicksight.FileGroup{file("PDF", quicksight.SheetSelection{SheetId: "s1", SelectionScope: "ALL_VISUALS", VisualIds: []string{"t1"}})}, "a PDF shows whole sheets"},
		{[]quicksight.FileGroup{csv("chart1")}, "visual chart1 is a BAR_CHART"},
		{[]quicksight.FileGroup{csv("t9")}, `sheet s1 has no visual "t9"`},
		{[]quicksight.FileGroup{pdf("s3")}, `has no sheet "s3"`},
		{[]quicksight.FileGroup{file("CSV", quicksight.SheetSelection{SheetId: "s1", SelectionScope: "SELECTED_VISUALS", VisualIds: []string{"t1", "t2"}})}, "a CSV holds exactly 1 visual"},
		{[]quicksight.FileGroup{file("PNG", quicksight.SheetSelection{SheetId: "s1"})}, `"PNG" must be PDF, CSV or EXCEL`},
	}
	for _, tc := range cases {
		_, err := quicksight.Check(d, &quicksight.Config{FileGroups: tc.groups})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.groups, err, tc.want)
		}
	}
	// Lenient where the intent is clear.
	c := &quicksight.Config{FileGroups: []quicksight.FileGroup{file("pdf", quicksight.SheetSelection{SheetId: "s1"}),
		file("csv", quicksight.SheetSelection{SheetId: "s1", VisualIds: []string{"t1"}})}}
	notes, err := quicksight.Check(d, c)
	if err != nil || len(notes) != 4 || c.FileGroups[0].Files[0].SheetSelections[0].SelectionScope != "ALL_VISUALS" ||
		c.FileGroups[1].Files[0].FormatType != "CSV" || c.FileGroups[1].Files[0].SheetSelections[0].SelectionScope != "SELECTED_VISUALS" {
		t.Errorf("%v %v %+v", notes, err, c)
	}
}

func TestParseParams(t *testing.T) {
	p, err := quicksight.ParseParams(bigModel(1, 1), []string{"year=2025", "Year=2026", "Rate=0.5", "Day=2026-03-01", "Day=1767225600", "Region=EMEA=x"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.IntegerParameters[0].Values, []int64{2025, 2026}) || p.DecimalParameters[0].Values[0] != 0.5 ||
		!p.DateTimeParameters[0].Values[0].Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) ||
		!p.DateTimeParameters[0].Values[1].Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || p.StringParameters[0].Values[0] != "EMEA=x" {
		t.Fatalf("%+v", p)
	}
	for flag, want := range map[string]string{"Year=2025.5": "is an integer", "Rate=x": "decimal", "Day=yesterday": "is a date", "Nope=1": `no parameter "Nope"`} {
		_, err := quicksight.ParseParams(bigModel(1, 1), []string{flag})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", flag, err)
		}
	}
}
