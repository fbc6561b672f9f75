package render

import (
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Sheet is one worksheet of a workbook: a visual's table.
type Sheet struct {
	// Name is the wanted worksheet name; it is cleaned and made unique.
	Name  string
	Table *Table
}

// Excel writes a workbook with one worksheet per sheet, in order: a bold
// header row, then the rows, numbers stored as numbers.
func Excel(sheets []Sheet) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E1E6EE"}}})
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	first := f.GetSheetList()[0]
	for i, s := range sheets {
		name := SheetName(s.Name, used)
		if i == 0 {
			if err := f.SetSheetName(first, name); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
		if err := writeSheet(f, name, s.Table, bold); err != nil {
			return nil, fmt.Errorf("worksheet %s: %w", name, err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeSheet(f *excelize.File, name string, t *Table, headerStyle int) error {
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for i, h := range t.Header {
		width := float64(len(h)) + 4
		for r := 0; r < len(t.Rows) && r < 200; r++ {
			if i < len(t.Rows[r]) {
				width = max(width, float64(len(t.Rows[r][i].Text))+2)
			}
		}
		if err := sw.SetColWidth(i+1, i+1, min(width, 60)); err != nil {
			return err
		}
	}
	head := make([]any, len(t.Header))
	for i, h := range t.Header {
		head[i] = h
	}
	if err := sw.SetRow("A1", head, excelize.RowOpts{StyleID: headerStyle}); err != nil {
		return err
	}
	for r, row := range t.Rows {
		vals := make([]any, len(row))
		for i, c := range row {
			if c.IsNum {
				vals[i] = c.Num
			} else {
				vals[i] = c.Text
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := sw.SetRow(cell, vals); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// SheetName makes a valid, unique worksheet name from want: at most 31
// characters, none of : \ / ? * [ ].
func SheetName(want string, used map[string]bool) string {
	clean := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '-'
		}
		return r
	}, strings.TrimSpace(want))
	clean = strings.Trim(clean, "'")
	if clean == "" {
		clean = "Sheet"
	}
	name := truncateRunes(clean, 31)
	for n := 2; used[strings.ToLower(name)]; n++ {
		suffix := fmt.Sprintf(" (%d)", n)
		name = truncateRunes(clean, 31-len(suffix)) + suffix
	}
	used[strings.ToLower(name)] = true
	return name
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}
