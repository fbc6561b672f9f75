package render

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/go-pdf/fpdf"
)

// Options tune the PDF.
type Options struct {
	// Uncompressed leaves the page streams readable as plain text.
	Uncompressed bool
	// Created is the document's creation date (the current time when zero).
	Created time.Time
}

// A4 landscape geometry, in millimetres.
const (
	pageW    = 297.0
	pageH    = 210.0
	margin   = 12.0
	bottom   = pageH - 16
	contentW = pageW - 2*margin
)

type pdfWriter struct {
	p   *fpdf.Fpdf
	tr  func(string) string
	doc *Document
	y   float64
}

// PDF draws doc: every sheet starts a page headed by the dashboard and sheet
// titles; KPIs are boxes, bar charts are drawn bars with their values, and
// tables continue on further pages when they are long.
func PDF(doc *Document, opt Options) ([]byte, error) {
	p := fpdf.New("L", "mm", "A4", "")
	p.SetCompression(!opt.Uncompressed)
	if !opt.Created.IsZero() {
		p.SetCreationDate(opt.Created)
		p.SetModificationDate(opt.Created)
	}
	p.SetTitle(doc.Title, true)
	p.SetCreator("tipctl sandbox QuickSight", true)
	p.SetAutoPageBreak(false, 0)
	w := &pdfWriter{p: p, tr: p.UnicodeTranslatorFromDescriptor(""), doc: doc}
	p.SetFooterFunc(func() {
		p.SetXY(margin, pageH-11)
		p.SetFont("Helvetica", "", 8)
		p.SetTextColor(120, 120, 120)
		p.CellFormat(contentW, 5, w.tr(fmt.Sprintf("%s - page %d", doc.Title, p.PageNo())), "", 0, "R", false, 0, "")
	})
	if len(doc.Pages) == 0 {
		w.newPage("", false)
	}
	for _, pg := range doc.Pages {
		w.page(pg)
	}
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		return nil, fmt.Errorf("render PDF: %w", err)
	}
	return buf.Bytes(), nil
}

func (w *pdfWriter) newPage(sheet string, continued bool) {
	p := w.p
	p.AddPage()
	p.SetTextColor(20, 20, 20)
	p.SetXY(margin, margin)
	p.SetFont("Helvetica", "B", 18)
	p.CellFormat(contentW, 9, w.fit(w.doc.Title, contentW), "", 1, "L", false, 0, "")
	if sheet != "" {
		if continued {
			sheet += " (continued)"
		}
		p.SetX(margin)
		p.SetFont("Helvetica", "B", 13)
		p.CellFormat(contentW, 7, w.fit(sheet, contentW), "", 1, "L", false, 0, "")
	}
	p.SetFont("Helvetica", "", 9)
	p.SetTextColor(90, 90, 90)
	for _, line := range append([]string{w.doc.Subtitle}, w.doc.Notes...) {
		if line == "" {
			continue
		}
		p.SetX(margin)
		p.CellFormat(contentW, 5, w.fit(line, contentW), "", 1, "L", false, 0, "")
	}
	y := p.GetY() + 1.5
	p.SetDrawColor(180, 180, 180)
	p.Line(margin, y, pageW-margin, y)
	w.y = y + 4
	p.SetTextColor(20, 20, 20)
}

// ensure starts a new page when h more millimetres do not fit.
func (w *pdfWriter) ensure(h float64, sheet string) bool {
	if w.y+h <= bottom {
		return false
	}
	w.newPage(sheet, true)
	return true
}

func (w *pdfWriter) page(pg Page) {
	w.newPage(pg.Title, false)
	var kpis []Figure
	flush := func() {
		if len(kpis) > 0 {
			w.kpis(kpis, pg.Title)
			kpis = nil
		}
	}
	for _, v := range pg.Visuals {
		switch {
		case v.KPI != nil:
			for _, f := range v.KPI {
				if f.Label == "" {
					f.Label = v.Title
				}
				kpis = append(kpis, f)
			}
		case v.Bars != nil:
			flush()
			w.bars(v.Title, v.Bars, pg.Title)
		case v.Table != nil:
			flush()
			w.table(v.Title, v.Table, pg.Title)
		}
	}
	flush()
}

func (w *pdfWriter) kpis(figs []Figure, sheet string) {
	const boxW, boxH, gap = 64.0, 26.0, 5.0
	p := w.p
	x := margin
	w.ensure(boxH, sheet)
	for _, f := range figs {
		if x+boxW > pageW-margin+0.01 {
			x = margin
			w.y += boxH + gap
			w.ensure(boxH, sheet)
		}
		p.SetFillColor(238, 243, 248)
		p.SetDrawColor(170, 190, 210)
		p.Rect(x, w.y, boxW, boxH, "FD")
		p.SetXY(x+3, w.y+3)
		p.SetFont("Helvetica", "", 9)
		p.SetTextColor(80, 80, 80)
		p.CellFormat(boxW-6, 5, w.fit(f.Label, boxW-6), "", 0, "L", false, 0, "")
		p.SetXY(x+3, w.y+11)
		p.SetFont("Helvetica", "B", 17)
		p.SetTextColor(20, 40, 80)
		p.CellFormat(boxW-6, 10, w.fit(f.Value, boxW-6), "", 0, "L", false, 0, "")
		x += boxW + gap
	}
	p.SetTextColor(20, 20, 20)
	w.y += boxH + 7
}

func (w *pdfWriter) title(t string) {
	p := w.p
	p.SetXY(margin, w.y)
	p.SetFont("Helvetica", "B", 11)
	p.SetTextColor(20, 20, 20)
	p.CellFormat(contentW, 7, w.fit(t, contentW), "", 1, "L", false, 0, "")
	w.y += 8
}

func (w *pdfWriter) bars(title string, b *BarChart, sheet string) {
	const labelW, valueW, barH = 48.0, 34.0, 6.5
	p := w.p
	w.ensure(8+barH*math.Min(float64(len(b.Categories)), 3), sheet)
	w.title(title)
	maxV := 0.0
	for _, v := range b.Values {
		maxV = math.Max(maxV, v)
	}
	area := contentW - labelW - valueW
	top := w.y
	for i, c := range b.Categories {
		if w.ensure(barH, sheet) {
			w.title(title + " (continued)")
			top = w.y
		}
		p.SetXY(margin, w.y)
		p.SetFont("Helvetica", "", 9)
		p.SetTextColor(40, 40, 40)
		p.CellFormat(labelW-2, barH, w.fit(c, labelW-2), "", 0, "R", false, 0, "")
		length := 0.0
		if maxV > 0 && i < len(b.Values) && b.Values[i] > 0 {
			length = b.Values[i] / maxV * area
		}
		p.SetFillColor(66, 120, 180)
		if length > 0 {
			p.Rect(margin+labelW, w.y+1, length, barH-2, "F")
		}
		if i < len(b.Texts) {
			p.SetXY(margin+labelW+length+2, w.y)
			p.CellFormat(valueW, barH, w.fit(b.Texts[i], valueW), "", 0, "L", false, 0, "")
		}
		w.y += barH
	}
	p.SetDrawColor(100, 100, 100)
	p.Line(margin+labelW, top, margin+labelW, w.y)
	if b.Measure != "" {
		p.SetXY(margin+labelW, w.y+1)
		p.SetFont("Helvetica", "I", 8)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(area, 4, w.fit(b.Measure, area), "", 0, "L", false, 0, "")
		w.y += 5
	}
	w.y += 6
}

func (w *pdfWriter) table(title string, t *Table, sheet string) {
	const headH, rowH = 6.5, 5.5
	p := w.p
	w.ensure(8+headH+rowH*2, sheet)
	w.title(title)
	widths := w.columnWidths(t)
	header := func() {
		p.SetFont("Helvetica", "B", 8.5)
		p.SetFillColor(225, 230, 238)
		p.SetDrawColor(190, 190, 190)
		p.SetTextColor(20, 20, 20)
		x := margin
		for i, h := range t.Header {
			p.SetXY(x, w.y)
			p.CellFormat(widths[i], headH, w.fit(h, widths[i]-2), "1", 0, "C", true, 0, "")
			x += widths[i]
		}
		w.y += headH
	}
	header()
	p.SetFont("Helvetica", "", 8.5)
	for r, row := range t.Rows {
		if w.ensure(rowH, sheet) {
			w.title(title + " (continued)")
			header()
			p.SetFont("Helvetica", "", 8.5)
		}
		fill := r%2 == 1
		p.SetFillColor(247, 248, 250)
		x := margin
		for i := range t.Header {
			var c Cell
			if i < len(row) {
				c = row[i]
			}
			align := "L"
			if c.IsNum {
				align = "R"
			}
			p.SetXY(x, w.y)
			p.CellFormat(widths[i], rowH, w.fit(c.Text, widths[i]-2), "1", 0, align, fill, 0, "")
			x += widths[i]
		}
		w.y += rowH
	}
	if len(t.Rows) == 0 {
		p.SetXY(margin, w.y)
		p.SetFont("Helvetica", "I", 8.5)
		p.CellFormat(contentW, rowH, "No data", "", 0, "L", false, 0, "")
		w.y += rowH
	}
	w.y += 6
}

// columnWidths sizes columns to their content, scaled to the page width.
func (w *pdfWriter) columnWidths(t *Table) []float64 {
	p := w.p
	n := len(t.Header)
	widths := make([]float64, n)
	p.SetFont("Helvetica", "B", 8.5)
	for i, h := range t.Header {
		widths[i] = p.GetStringWidth(w.tr(h)) + 4
	}
	p.SetFont("Helvetica", "", 8.5)
	for r, row := range t.Rows {
		if r >= 200 {
			break // a sample is enough
		}
		for i := 0; i < n && i < len(row); i++ {
			widths[i] = math.Max(widths[i], p.GetStringWidth(w.tr(row[i].Text))+4)
		}
	}
	total := 0.0
	for i := range widths {
		widths[i] = math.Max(widths[i], 18)
		total += widths[i]
	}
	if total > contentW {
		for i := range widths {
			widths[i] *= contentW / total
		}
	}
	return widths
}

// fit translates s to the PDF code page and shortens it to width w.
func (w *pdfWriter) fit(s string, width float64) string {
	t := w.tr(s)
	if w.p.GetStringWidth(t) <= width {
		return t
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		t = w.tr(string(r) + "...")
		if w.p.GetStringWidth(t) <= width {
			return t
		}
	}
	return t
}
