package quicksight

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// File formats of a snapshot.
const (
	FormatPDF   = "PDF"
	FormatCSV   = "CSV"
	FormatExcel = "EXCEL"
)

// QuickSight's per-job limits.
const (
	// MaxPDFs: one PDF per job, of one sheet.
	MaxPDFs = 1
	// MaxCSVFiles: CSV files per job, one visual each.
	MaxCSVFiles = 5
	// MaxExcelVisuals: visuals in the one Excel workbook of a job.
	MaxExcelVisuals = 5
	// MaxFileGroups per job.
	MaxFileGroups = 7
	// MaxSheetSelections per file configuration.
	MaxSheetSelections = 5
	// MaxJobs is how many jobs tipctl splits one snapshot into at most
	// (QuickSight runs at most 12 per account at once).
	MaxJobs = 8
)

// ParseFormats reads formats such as "pdf,csv" "excel" "xlsx", in any case,
// each item possibly comma-separated. The result is in PDF, CSV, EXCEL order.
func ParseFormats(items []string) ([]string, error) {
	have := map[string]bool{}
	for _, item := range items {
		for _, f := range strings.Split(item, ",") {
			f = strings.ToLower(strings.TrimSpace(f))
			switch f {
			case "":
			case "pdf":
				have[FormatPDF] = true
			case "csv":
				have[FormatCSV] = true
			case "excel", "xlsx", "xls":
				have[FormatExcel] = true
			default:
				return nil, errorf(KindInput, "use pdf, csv or excel (comma-separated)", "unknown format %q%s", f,
					didYouMean(f, []string{"pdf", "csv", "excel"}))
			}
		}
	}
	var out []string
	for _, f := range []string{FormatPDF, FormatCSV, FormatExcel} {
		if have[f] {
			out = append(out, f)
		}
	}
	return out, nil
}

// Selection is what to snapshot, as a person says it.
type Selection struct {
	// Sheets are sheet ids or names; none means every sheet.
	Sheets []string
	// Visuals are visual ids or titles, or SHEET/VISUAL; they select what
	// goes to CSV and Excel. None means every table and pivot table of the
	// selected sheets.
	Visuals []string
	// Formats are FormatPDF, FormatCSV, FormatExcel; none means PDF, or CSV
	// when Visuals are given.
	Formats []string
}

// VisualRef is a visual on a sheet.
type VisualRef struct {
	Sheet  string `json:"sheet"`
	Visual string `json:"visual"`
}

// JobPlan is one snapshot job's files.
type JobPlan struct {
	// PDFSheet is the sheet the job's PDF shows ("" for none).
	PDFSheet string
	CSV      []VisualRef
	Excel    []VisualRef
}

func (j JobPlan) String() string {
	var parts []string
	if j.PDFSheet != "" {
		parts = append(parts, "PDF of sheet "+j.PDFSheet)
	}
	if len(j.CSV) > 0 {
		parts = append(parts, fmt.Sprintf("%d CSV (%s)", len(j.CSV), refList(j.CSV)))
	}
	if len(j.Excel) > 0 {
		parts = append(parts, fmt.Sprintf("Excel workbook of %d visual(s) (%s)", len(j.Excel), refList(j.Excel)))
	}
	return strings.Join(parts, ", ")
}

func refList(refs []VisualRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.Visual
	}
	return strings.Join(s, ", ")
}

// Config returns the job's configuration: one file group for the PDF, one
// per CSV, one for the Excel workbook (at most 7, QuickSight's limit).
func (j JobPlan) Config() *Config {
	c := &Config{}
	if j.PDFSheet != "" {
		c.FileGroups = append(c.FileGroups, FileGroup{Files: []File{{FormatType: FormatPDF,
			SheetSelections: []SheetSelection{{SheetId: j.PDFSheet, SelectionScope: "ALL_VISUALS"}}}}})
	}
	for _, v := range j.CSV {
		c.FileGroups = append(c.FileGroups, FileGroup{Files: []File{{FormatType: FormatCSV,
			SheetSelections: []SheetSelection{{SheetId: v.Sheet, SelectionScope: "SELECTED_VISUALS", VisualIds: []string{v.Visual}}}}}})
	}
	if len(j.Excel) > 0 {
		f := File{FormatType: FormatExcel}
		for _, v := range j.Excel {
			// Excel visuals are grouped by sheet, sheets in first-seen order.
			i := -1
			for k, s := range f.SheetSelections {
				if s.SheetId == v.Sheet {
					i = k
				}
			}
			if i < 0 {
				f.SheetSelections = append(f.SheetSelections, SheetSelection{SheetId: v.Sheet, SelectionScope: "SELECTED_VISUALS"})
				i = len(f.SheetSelections) - 1
			}
			f.SheetSelections[i].VisualIds = append(f.SheetSelections[i].VisualIds, v.Visual)
		}
		c.FileGroups = append(c.FileGroups, FileGroup{Files: []File{f}})
	}
	return c
}

// Plan turns a selection into snapshot jobs that respect QuickSight's
// per-job limits (1 PDF of one sheet, up to 5 CSV files of one visual each,
// 1 Excel workbook of up to 5 visuals). When one job cannot hold it all, the
// snapshot is split into several jobs (at most MaxJobs); notes say why.
func Plan(d *Dashboard, sel Selection) ([]JobPlan, []string, error) {
	if len(d.Sheets) == 0 {
		return nil, nil, errorf(KindInput, "", "dashboard %s has no sheets", d.ID)
	}
	var notes []string
	var sheets []*Sheet
	seen := map[string]bool{}
	for _, s := range sel.Sheets {
		sh, err := findSheet(d, s)
		if err != nil {
			return nil, nil, err
		}
		if !seen[sh.ID] {
			seen[sh.ID] = true
			sheets = append(sheets, sh)
		}
	}
	var visuals []VisualRef
	seenV := map[VisualRef]bool{}
	for _, v := range sel.Visuals {
		sh, vis, err := findVisual(d, v)
		if err != nil {
			return nil, nil, err
		}
		ref := VisualRef{sh.ID, vis.ID}
		if !seenV[ref] {
			seenV[ref] = true
			visuals = append(visuals, ref)
		}
	}
	formats := sel.Formats
	if len(formats) == 0 {
		formats = []string{FormatPDF}
		if len(visuals) > 0 {
			formats = []string{FormatCSV}
		}
	}
	want := map[string]bool{}
	for _, f := range formats {
		want[f] = true
	}
	if !want[FormatPDF] && !want[FormatCSV] && !want[FormatExcel] {
		return nil, nil, errorf(KindInput, "use pdf, csv or excel", "no known format among %s", strings.Join(formats, ", "))
	}

	// PDF: one per sheet; the sheets named, else those holding the named
	// visuals, else all.
	var pdfSheets []string
	if want[FormatPDF] {
		switch {
		case len(sheets) > 0:
			for _, s := range sheets {
				pdfSheets = append(pdfSheets, s.ID)
			}
		case len(visuals) > 0:
			for _, v := range visuals {
				if !contains(pdfSheets, v.Sheet) {
					pdfSheets = append(pdfSheets, v.Sheet)
				}
			}
		default:
			for _, s := range d.Sheets {
				pdfSheets = append(pdfSheets, s.ID)
			}
		}
	}

	// CSV and Excel: the named visuals, else every exportable visual of the
	// selected sheets.
	var export []VisualRef
	if want[FormatCSV] || want[FormatExcel] {
		if len(visuals) > 0 {
			for _, ref := range visuals {
				v := d.Sheet(ref.Sheet).Visual(ref.Visual)
				if !v.Exportable {
					return nil, nil, errorf(KindInput, "CSV and Excel export only table and pivot table visuals"+exportableHint(d),
						"visual %s on sheet %s is a %s, which QuickSight cannot export to CSV or Excel", v.ID, ref.Sheet, v.Type)
				}
			}
			export = visuals
		} else {
			scope := sheets
			if len(scope) == 0 {
				for i := range d.Sheets {
					scope = append(scope, &d.Sheets[i])
				}
			}
			skipped := 0
			for _, s := range scope {
				for _, v := range s.Visuals {
					if v.Exportable {
						export = append(export, VisualRef{s.ID, v.ID})
					} else {
						skipped++
					}
				}
			}
			if len(export) == 0 {
				return nil, nil, errorf(KindInput, "choose sheets with tables or pivot tables"+exportableHint(d)+", or use --format pdf",
					"the selected sheets have no table or pivot table visuals, the only ones QuickSight exports to CSV and Excel")
			}
			if skipped > 0 {
				notes = append(notes, fmt.Sprintf("CSV and Excel hold only tables and pivot tables: %d other visual(s) are left out of them (the PDF shows every visual)", skipped))
			}
		}
	}
	var csv, excel []VisualRef
	if want[FormatCSV] {
		csv = export
	}
	if want[FormatExcel] {
		excel = export
	}
	n := max(len(pdfSheets), ceilDiv(len(csv), MaxCSVFiles), ceilDiv(len(excel), MaxExcelVisuals), 1)
	jobs := make([]JobPlan, n)
	for i := range jobs {
		if i < len(pdfSheets) {
			jobs[i].PDFSheet = pdfSheets[i]
		}
		jobs[i].CSV = chunk(csv, i, MaxCSVFiles)
		jobs[i].Excel = chunk(excel, i, MaxExcelVisuals)
	}
	if n > 1 {
		var why []string
		if len(pdfSheets) > MaxPDFs {
			why = append(why, fmt.Sprintf("%d PDFs (one per sheet) but a job makes 1", len(pdfSheets)))
		}
		if len(csv) > MaxCSVFiles {
			why = append(why, fmt.Sprintf("%d CSV files but a job makes at most %d", len(csv), MaxCSVFiles))
		}
		if len(excel) > MaxExcelVisuals {
			why = append(why, fmt.Sprintf("%d Excel visuals but a workbook holds at most %d", len(excel), MaxExcelVisuals))
		}
		var list []string
		for i, j := range jobs {
			list = append(list, fmt.Sprintf("job %d: %s", i+1, j))
		}
		if n > MaxJobs {
			return nil, nil, errorf(KindInput, fmt.Sprintf("select fewer sheets or visuals (tipctl runs at most %d jobs for one snapshot)", MaxJobs),
				"this snapshot needs %d jobs (%s): %s", n, strings.Join(why, "; "), strings.Join(list, "; "))
		}
		notes = append(notes, fmt.Sprintf("split into %d snapshot jobs (%s): %s", n, strings.Join(why, "; "), strings.Join(list, "; ")))
	}
	return jobs, notes, nil
}

func exportableHint(d *Dashboard) string {
	var ids []string
	for _, s := range d.Sheets {
		for _, v := range s.Visuals {
			if v.Exportable {
				ids = append(ids, s.ID+"/"+v.ID)
			}
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return " (this dashboard's: " + strings.Join(ids, ", ") + ")"
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func chunk(refs []VisualRef, i, size int) []VisualRef {
	lo := i * size
	if lo >= len(refs) {
		return nil
	}
	return refs[lo:min(lo+size, len(refs))]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// findSheet finds a sheet by id, else by name (case-insensitive).
func findSheet(d *Dashboard, s string) (*Sheet, error) {
	s = strings.TrimSpace(s)
	if sh := d.Sheet(s); sh != nil {
		return sh, nil
	}
	var match []*Sheet
	for i := range d.Sheets {
		if strings.EqualFold(d.Sheets[i].Name, s) {
			match = append(match, &d.Sheets[i])
		}
	}
	if len(match) == 1 {
		return match[0], nil
	}
	if len(match) > 1 {
		return nil, errorf(KindInput, "pass the sheet id", "%d sheets of dashboard %s are named %q", len(match), d.ID, s)
	}
	var names []string
	for _, sh := range d.Sheets {
		names = append(names, sh.ID)
		if sh.Name != sh.ID {
			names = append(names, sh.Name)
		}
	}
	return nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("dashboard %s has no sheet %q%s", d.ID, s, didYouMean(s, names)),
		Fix: "list sheets and visuals with `tipctl quicksight dashboards`"}
}

// findVisual finds a visual by SHEET/VISUAL, id, or title (case-insensitive).
func findVisual(d *Dashboard, v string) (*Sheet, *Visual, error) {
	v = strings.TrimSpace(v)
	if sheet, vis, ok := strings.Cut(v, "/"); ok {
		if sh, err := findSheet(d, sheet); err == nil {
			if got := visualIn(sh, vis); got != nil {
				return sh, got, nil
			}
			return nil, nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("sheet %s of dashboard %s has no visual %q%s", sh.ID, d.ID, vis, didYouMean(vis, visualNames(sh))),
				Fix: "list sheets and visuals with `tipctl quicksight dashboards`"}
		}
	}
	type hit struct {
		s *Sheet
		v *Visual
	}
	var byID, byTitle []hit
	for i := range d.Sheets {
		sh := &d.Sheets[i]
		for j := range sh.Visuals {
			x := &sh.Visuals[j]
			if x.ID == v {
				byID = append(byID, hit{sh, x})
			} else if x.Title != "" && strings.EqualFold(x.Title, v) {
				byTitle = append(byTitle, hit{sh, x})
			}
		}
	}
	for _, hits := range [][]hit{byID, byTitle} {
		switch len(hits) {
		case 0:
			continue
		case 1:
			return hits[0].s, hits[0].v, nil
		}
		var where []string
		for _, h := range hits {
			where = append(where, h.s.ID+"/"+h.v.ID)
		}
		return nil, nil, errorf(KindInput, "write it as SHEET/VISUAL", "visual %q is on several sheets: %s", v, strings.Join(where, ", "))
	}
	var names []string
	for i := range d.Sheets {
		names = append(names, visualNames(&d.Sheets[i])...)
	}
	return nil, nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("dashboard %s has no visual %q%s", d.ID, v, didYouMean(v, names)),
		Fix: "list sheets and visuals with `tipctl quicksight dashboards`"}
}

func visualIn(sh *Sheet, v string) *Visual {
	if x := sh.Visual(v); x != nil {
		return x
	}
	for i := range sh.Visuals {
		if sh.Visuals[i].Title != "" && strings.EqualFold(sh.Visuals[i].Title, v) {
			return &sh.Visuals[i]
		}
	}
	return nil
}

func visualNames(sh *Sheet) []string {
	var names []string
	for _, v := range sh.Visuals {
		names = append(names, v.ID)
		if v.Title != "" {
			names = append(names, v.Title)
		}
	}
	return names
}

// Check validates a configuration (e.g. from --cli-input-json) against
// QuickSight's limits and, unless d was made up from flags, against the
// dashboard's sheets and visuals. It fills in a missing SelectionScope and
// upper-cases FormatType, and says so in notes.
func Check(d *Dashboard, c *Config) (notes []string, err error) {
	if n := len(c.FileGroups); n < 1 || n > MaxFileGroups {
		return nil, errorf(KindInput, "", "SnapshotConfiguration.FileGroups must hold 1 to %d file groups; it holds %d", MaxFileGroups, n)
	}
	pdfs, csvs, excels := 0, 0, 0
	for gi := range c.FileGroups {
		g := &c.FileGroups[gi]
		gp := fmt.Sprintf("SnapshotConfiguration.FileGroups[%d]", gi)
		if len(g.Files) != 1 {
			return nil, errorf(KindInput, "put each file in its own file group", "%s.Files must hold exactly 1 file; it holds %d", gp, len(g.Files))
		}
		f := &g.Files[0]
		fp := gp + ".Files[0]"
		if up := strings.ToUpper(strings.TrimSpace(f.FormatType)); up != f.FormatType {
			if up == "XLSX" {
				up = FormatExcel
			}
			notes = append(notes, fmt.Sprintf("%s.FormatType %q read as %s", fp, f.FormatType, up))
			f.FormatType = up
		}
		if n := len(f.SheetSelections); n < 1 || n > MaxSheetSelections {
			return nil, errorf(KindInput, "", "%s.SheetSelections must hold 1 to %d sheet selections; it holds %d", fp, MaxSheetSelections, n)
		}
		switch f.FormatType {
		case FormatPDF:
			if pdfs++; pdfs > MaxPDFs {
				return nil, errorf(KindInput, "take the other sheets in another job", "a snapshot job makes at most 1 PDF; %s asks for another", fp)
			}
			if len(f.SheetSelections) != 1 {
				return nil, errorf(KindInput, "", "%s: a PDF shows exactly 1 sheet; %d are selected", fp, len(f.SheetSelections))
			}
		case FormatCSV, FormatExcel:
			if f.FormatType == FormatExcel {
				if excels++; excels > 1 {
					return nil, errorf(KindInput, "", "a snapshot job makes at most 1 Excel workbook; %s asks for another", fp)
				}
			}
		default:
			return nil, errorf(KindInput, "", "%s.FormatType %q must be PDF, CSV or EXCEL", fp, f.FormatType)
		}
		wbVisuals := 0
		for si := range f.SheetSelections {
			s := &f.SheetSelections[si]
			sp := fmt.Sprintf("%s.SheetSelections[%d]", fp, si)
			if s.SelectionScope == "" {
				s.SelectionScope = "SELECTED_VISUALS"
				if f.FormatType == FormatPDF {
					s.SelectionScope = "ALL_VISUALS"
				}
				notes = append(notes, fmt.Sprintf("%s.SelectionScope set to %s", sp, s.SelectionScope))
			}
			var sheet *Sheet
			if !d.unchecked {
				if d.Sheet(s.SheetId) == nil {
					_, err := findSheet(d, s.SheetId)
					return nil, prefixErr(sp+".SheetId: ", err)
				}
				sheet = d.Sheet(s.SheetId)
			}
			if f.FormatType == FormatPDF {
				if s.SelectionScope != "ALL_VISUALS" || len(s.VisualIds) > 0 {
					return nil, errorf(KindInput, "use SelectionScope ALL_VISUALS without VisualIds", "%s: a PDF shows whole sheets", sp)
				}
				continue
			}
			if s.SelectionScope != "SELECTED_VISUALS" || len(s.VisualIds) == 0 {
				return nil, errorf(KindInput, "use SelectionScope SELECTED_VISUALS with VisualIds", "%s: %s needs the visuals to export", sp, f.FormatType)
			}
			if f.FormatType == FormatCSV {
				if len(s.VisualIds) != 1 {
					return nil, errorf(KindInput, "use one sheet selection per CSV visual", "%s.VisualIds: a CSV holds exactly 1 visual; %d are given", sp, len(s.VisualIds))
				}
				if csvs++; csvs > MaxCSVFiles {
					return nil, errorf(KindInput, "take the other visuals in another job", "a snapshot job makes at most %d CSV files", MaxCSVFiles)
				}
			} else {
				if wbVisuals += len(s.VisualIds); wbVisuals > MaxExcelVisuals {
					return nil, errorf(KindInput, "take the other visuals in another job", "an Excel workbook holds at most %d visuals", MaxExcelVisuals)
				}
			}
			if sheet == nil {
				continue
			}
			for vi, id := range s.VisualIds {
				v := sheet.Visual(id)
				if v == nil {
					return nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("%s.VisualIds[%d]: sheet %s has no visual %q%s", sp, vi, sheet.ID, id, didYouMean(id, visualNames(sheet))),
						Fix: "list sheets and visuals with `tipctl quicksight dashboards`"}
				}
				if !v.Exportable {
					return nil, errorf(KindInput, "CSV and Excel export only table and pivot table visuals"+exportableHint(d),
						"%s.VisualIds[%d]: visual %s is a %s", sp, vi, id, v.Type)
				}
			}
		}
	}
	return notes, nil
}

func prefixErr(prefix string, err error) error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Msg = prefix + c.Msg
		return &c
	}
	return err
}

// ParseParams turns Name=Value flags into parameters typed by the
// dashboard's declarations; repeating a name gives it several values.
// Dates are 2006-01-02, RFC 3339, or Unix seconds.
func ParseParams(d *Dashboard, flags []string) (*Parameters, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	type entry struct {
		typ    string
		values []string
	}
	var order []string
	byName := map[string]*entry{}
	for _, f := range flags {
		name, val, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, errorf(KindInput, "write --param Name=Value", "parameter %q is not Name=Value", f)
		}
		typ := "STRING"
		if !d.unchecked {
			p := d.Parameter(name)
			if p == nil {
				for i := range d.Parameters {
					if strings.EqualFold(d.Parameters[i].Name, name) {
						p = &d.Parameters[i]
					}
				}
			}
			if p == nil {
				var names []string
				for _, p := range d.Parameters {
					names = append(names, p.Name)
				}
				msg := fmt.Sprintf("dashboard %s has no parameter %q", d.ID, name)
				if len(names) == 0 {
					msg = fmt.Sprintf("dashboard %s declares no parameters", d.ID)
				}
				return nil, &Error{Kind: KindNotFound, Msg: msg + didYouMean(name, names), Fix: "list the parameters with `tipctl quicksight dashboards`"}
			}
			name, typ = p.Name, p.Type
		}
		e := byName[name]
		if e == nil {
			e = &entry{typ: typ}
			byName[name] = e
			order = append(order, name)
		}
		e.values = append(e.values, val)
	}
	out := &Parameters{}
	for _, name := range order {
		e := byName[name]
		switch e.typ {
		case "INTEGER":
			p := IntegerParameter{Name: name}
			for _, v := range e.values {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return nil, errorf(KindInput, "", "parameter %s is an integer; %q is not", name, v)
				}
				p.Values = append(p.Values, n)
			}
			out.IntegerParameters = append(out.IntegerParameters, p)
		case "DECIMAL":
			p := DecimalParameter{Name: name}
			for _, v := range e.values {
				n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
					return nil, errorf(KindInput, "", "parameter %s is a decimal number; %q is not", name, v)
				}
				p.Values = append(p.Values, n)
			}
			out.DecimalParameters = append(out.DecimalParameters, p)
		case "DATETIME":
			p := DateTimeParameter{Name: name}
			for _, v := range e.values {
				t, err := parseDate(v)
				if err != nil {
					return nil, errorf(KindInput, "write 2006-01-02, an RFC 3339 time or Unix seconds", "parameter %s is a date; %q is not", name, v)
				}
				p.Values = append(p.Values, t)
			}
			out.DateTimeParameters = append(out.DateTimeParameters, p)
		default:
			out.StringParameters = append(out.StringParameters, StringParameter{Name: name, Values: e.values})
		}
	}
	return out, nil
}

// parseDate reads 2006-01-02, 2006-01-02T15:04:05, RFC 3339 or Unix seconds.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return checkYear(t.UTC())
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return epochTime(f)
	}
	return time.Time{}, fmt.Errorf("not a date")
}

func epochTime(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < -62135596800 || f > 253402300799 {
		return time.Time{}, fmt.Errorf("out of range")
	}
	sec, frac := math.Modf(f)
	return checkYear(time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC())
}

func checkYear(t time.Time) (time.Time, error) {
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("year out of range")
	}
	return t, nil
}
