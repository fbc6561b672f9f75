// Package render turns computed dashboard visuals into the files a
// QuickSight snapshot job delivers: a PDF of whole sheets (KPIs, bar charts
// and tables actually drawn), one CSV per table visual, and an Excel
// workbook with one worksheet per table visual. It knows nothing about
// datasets or security: callers hand it the figures each viewer may see.
package render

import (
	"bytes"
	"encoding/csv"
	"strconv"
)

// Document is a PDF snapshot: a dashboard with one or more sheets.
type Document struct {
	// Title is the dashboard name.
	Title string
	// Subtitle says for whom and when the snapshot was taken.
	Subtitle string
	// Notes are extra lines under the title, e.g. the parameters applied.
	Notes []string
	Pages []Page
}

// Page is one dashboard sheet; it starts a new PDF page.
type Page struct {
	Title   string
	Visuals []Visual
}

// Visual is one visual with exactly one of KPI, Bars or Table set.
type Visual struct {
	ID    string
	Title string
	KPI   []Figure
	Bars  *BarChart
	Table *Table
}

// Figure is one KPI value.
type Figure struct {
	Label string
	Value string
}

// BarChart is a horizontal bar chart of one measure.
type BarChart struct {
	// Measure names the values, e.g. "Revenue".
	Measure    string
	Categories []string
	Values     []float64
	// Texts are the formatted values printed next to the bars.
	Texts []string
}

// Table is a grid with a header row.
type Table struct {
	Header []string
	Rows   [][]Cell
}

// Cell is a table cell: text, and the number it shows when IsNum.
type Cell struct {
	Text  string
	Num   float64
	IsNum bool
}

// Text makes a text cell.
func Text(s string) Cell { return Cell{Text: s} }

// Number makes a numeric cell shown with the given decimals.
func Number(v float64, decimals int) Cell {
	return Cell{Text: strconv.FormatFloat(v, 'f', decimals, 64), Num: v, IsNum: true}
}

// CSV writes a table as RFC 4180 CSV: the header, then one line per row.
func CSV(t *Table) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(t.Header); err != nil {
		return nil, err
	}
	line := make([]string, len(t.Header))
	for _, r := range t.Rows {
		line = line[:0]
		for _, c := range r {
			line = append(line, c.Text)
		}
		if err := w.Write(line); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
