package quicksight

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/sandbox/quicksight/render"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Viewer is whose view of the data a snapshot shows: a registered user (row-
// level security by user and group rules) or an anonymous user (row-level
// security by session tags).
type Viewer struct {
	User *User
	Tags map[string]string
}

// Filter keeps the rows whose column matches a parameter's values.
type Filter struct {
	Parameter string
	Column    string
	// Text describes the filter, e.g. "Region = EMEA".
	Text  string
	match func(Value) bool
}

// Visible returns the rows of d the viewer may see, narrowed by filters on
// columns d has.
func (d *Dataset) Visible(v Viewer, filters []Filter) []Row {
	allow := d.rls(v)
	type colFilter struct {
		col   int
		match func(Value) bool
	}
	var fs []colFilter
	for _, f := range filters {
		if c := d.Col(f.Column); c >= 0 {
			fs = append(fs, colFilter{c, f.match})
		}
	}
	out := make([]Row, 0, len(d.Rows))
rows:
	for _, r := range d.Rows {
		if !allow(r) {
			continue
		}
		for _, f := range fs {
			if !f.match(r[f.col]) {
				continue rows
			}
		}
		out = append(out, r)
	}
	return out
}

// rls returns the row-level security predicate for v.
func (d *Dataset) rls(v Viewer) func(Row) bool {
	none := func(Row) bool { return false }
	all := func(Row) bool { return true }
	if v.User == nil {
		return d.tagRLS(v.Tags)
	}
	if len(d.RLS) == 0 {
		return all
	}
	// A user sees the union of the rows their rules (and their groups') grant.
	allowed := map[int]map[string]bool{}
	for _, r := range d.RLS {
		if (r.User != "" && r.User != v.User.UserName) || (r.Group != "" && !v.User.InGroup(r.Group)) {
			continue
		}
		if r.AllRows {
			return all
		}
		c := d.Col(r.Column)
		if c < 0 {
			continue
		}
		if allowed[c] == nil {
			allowed[c] = map[string]bool{}
		}
		for _, val := range r.Values {
			allowed[c][val] = true
		}
	}
	if len(allowed) == 0 {
		return none
	}
	return func(row Row) bool {
		for c, vals := range allowed {
			if vals[row[c].Text] {
				return true
			}
		}
		return false
	}
}

// tagRLS filters rows for anonymous users: every tag rule must match, and a
// missing tag grants nothing. Datasets with user rules but no tag rules show
// anonymous users nothing.
func (d *Dataset) tagRLS(tags map[string]string) func(Row) bool {
	if len(d.Tags) == 0 {
		if len(d.RLS) > 0 {
			return func(Row) bool { return false }
		}
		return func(Row) bool { return true }
	}
	type rule struct {
		col  int
		vals map[string]bool
	}
	var rules []rule
	for _, t := range d.Tags {
		val, ok := tags[t.TagKey]
		if !ok {
			return func(Row) bool { return false }
		}
		if t.MatchAllValue != "" && val == t.MatchAllValue {
			continue
		}
		parts := []string{val}
		if t.MultiValueDelimiter != "" {
			parts = strings.Split(val, t.MultiValueDelimiter)
		}
		set := map[string]bool{}
		for _, p := range parts {
			set[strings.TrimSpace(p)] = true
		}
		rules = append(rules, rule{d.Col(t.Column), set})
	}
	return func(row Row) bool {
		for _, r := range rules {
			if r.col < 0 || !r.vals[row[r.col].Text] {
				return false
			}
		}
		return true
	}
}

// TagKeys lists the RLS tag keys declared by the dashboard's datasets.
func (d *Dashboard) TagKeys() map[string]bool {
	keys := map[string]bool{}
	for _, ds := range d.DatasetList {
		for _, t := range ds.Tags {
			keys[t.TagKey] = true
		}
	}
	return keys
}

// ColumnType returns the type of a column in the dashboard's datasets.
func (d *Dashboard) ColumnType(name string) string {
	for _, ds := range d.DatasetList {
		if c := ds.Col(name); c >= 0 {
			return ds.Columns[c].Type
		}
	}
	return ""
}

// aggregate computes one measure over rows; decimals is how it is shown.
func aggregate(d *Dataset, m world.Measure, rows []Row) (val float64, decimals int) {
	c := d.Col(m.Column)
	typ := d.Columns[c].Type
	decimals = 0
	if typ == world.ColumnDecimal {
		decimals = 2
	}
	var nums []float64
	distinct := map[string]bool{}
	for _, r := range rows {
		if r[c].Null {
			continue
		}
		nums = append(nums, r[c].Num)
		distinct[r[c].Text] = true
	}
	switch m.Aggregation {
	case "COUNT":
		return float64(len(nums)), 0
	case "DISTINCT_COUNT":
		return float64(len(distinct)), 0
	case "SUM":
		for _, n := range nums {
			val += n
		}
	case "AVERAGE":
		if len(nums) == 0 {
			return 0, 2
		}
		for _, n := range nums {
			val += n
		}
		return round(val/float64(len(nums)), 2), 2
	case "MIN", "MAX":
		for i, n := range nums {
			if i == 0 || (m.Aggregation == "MIN" && n < val) || (m.Aggregation == "MAX" && n > val) {
				val = n
			}
		}
	}
	return round(val, decimals), decimals
}

func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}

var aggNames = map[string]string{"SUM": "Sum", "AVERAGE": "Average", "MIN": "Min", "MAX": "Max",
	"COUNT": "Count", "DISTINCT_COUNT": "Count distinct"}

// MeasureLabel is a measure's column header: its label, or "column (Sum)".
func MeasureLabel(m world.Measure) string {
	if m.Label != "" {
		return m.Label
	}
	return m.Column + " (" + aggNames[m.Aggregation] + ")"
}

// FormatNumber writes v with thousands separators, e.g. 1,234,567.89.
func FormatNumber(v float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 && round(v, decimals) != 0 {
		b.WriteByte('-')
	}
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

// group splits rows by the text of the given columns, keys sorted.
func group(d *Dataset, cols []string, rows []Row) (keys [][]string, groups map[string][]Row) {
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = d.Col(c)
	}
	groups = map[string][]Row{}
	for _, r := range rows {
		parts := make([]string, len(idx))
		for i, c := range idx {
			parts[i] = r[c].Text
		}
		k := strings.Join(parts, "\x00")
		if _, ok := groups[k]; !ok {
			keys = append(keys, parts)
		}
		groups[k] = append(groups[k], r)
	}
	sort.Slice(keys, func(i, j int) bool {
		for c := range keys[i] {
			if keys[i][c] != keys[j][c] {
				return keys[i][c] < keys[j][c]
			}
		}
		return false
	})
	return keys, groups
}

// Compute renders a visual over the rows a viewer sees.
func Compute(v *world.QuickSightVisual, d *Dataset, rows []Row) render.Visual {
	out := render.Visual{ID: v.ID, Title: v.Title}
	switch v.Type {
	case world.VisualKPI:
		for _, m := range v.Measures {
			val, dec := aggregate(d, m, rows)
			out.KPI = append(out.KPI, render.Figure{Label: MeasureLabel(m), Value: FormatNumber(val, dec)})
		}
	case world.VisualBarChart:
		out.Bars = bars(v, d, rows)
	case world.VisualTable:
		out.Table = table(v, d, rows)
	case world.VisualPivotTable:
		out.Table = pivot(v, d, rows)
	}
	return out
}

func bars(v *world.QuickSightVisual, d *Dataset, rows []Row) *render.BarChart {
	m := v.Measures[0]
	keys, groups := group(d, v.Dimensions, rows)
	type bar struct {
		label string
		val   float64
		dec   int
	}
	list := make([]bar, 0, len(keys))
	for _, k := range keys {
		val, dec := aggregate(d, m, groups[strings.Join(k, "\x00")])
		list = append(list, bar{strings.Join(k, " / "), val, dec})
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].val > list[j].val })
	b := &render.BarChart{Measure: MeasureLabel(m)}
	for _, x := range list {
		b.Categories = append(b.Categories, x.label)
		b.Values = append(b.Values, x.val)
		b.Texts = append(b.Texts, FormatNumber(x.val, x.dec))
	}
	return b
}

func table(v *world.QuickSightVisual, d *Dataset, rows []Row) *render.Table {
	t := &render.Table{}
	if len(v.Fields) > 0 {
		idx := make([]int, len(v.Fields))
		for i, f := range v.Fields {
			idx[i] = d.Col(f)
			t.Header = append(t.Header, f)
		}
		for _, r := range rows {
			cells := make([]render.Cell, len(idx))
			for i, c := range idx {
				cells[i] = cell(d.Columns[c].Type, r[c])
			}
			t.Rows = append(t.Rows, cells)
		}
		return t
	}
	t.Header = append(t.Header, v.Dimensions...)
	for _, m := range v.Measures {
		t.Header = append(t.Header, MeasureLabel(m))
	}
	keys, groups := group(d, v.Dimensions, rows)
	if len(v.Dimensions) == 0 && len(rows) > 0 {
		keys, groups = [][]string{{}}, map[string][]Row{"": rows}
	}
	for _, k := range keys {
		cells := make([]render.Cell, 0, len(t.Header))
		for _, part := range k {
			cells = append(cells, render.Text(part))
		}
		g := groups[strings.Join(k, "\x00")]
		for _, m := range v.Measures {
			val, dec := aggregate(d, m, g)
			cells = append(cells, render.Number(val, dec))
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

func pivot(v *world.QuickSightVisual, d *Dataset, rows []Row) *render.Table {
	t := &render.Table{Header: append([]string(nil), v.Dimensions...)}
	rowKeys, rowGroups := group(d, v.Dimensions, rows)
	colKeys := [][]string{{}}
	if len(v.PivotColumns) > 0 {
		colKeys, _ = group(d, v.PivotColumns, rows)
	}
	for _, ck := range colKeys {
		name := strings.Join(ck, " / ")
		for _, m := range v.Measures {
			switch {
			case name == "":
				t.Header = append(t.Header, MeasureLabel(m))
			case len(v.Measures) == 1:
				t.Header = append(t.Header, name)
			default:
				t.Header = append(t.Header, name+" - "+MeasureLabel(m))
			}
		}
	}
	colIdx := make([]int, len(v.PivotColumns))
	for i, c := range v.PivotColumns {
		colIdx[i] = d.Col(c)
	}
	for _, rk := range rowKeys {
		cells := make([]render.Cell, 0, len(t.Header))
		for _, part := range rk {
			cells = append(cells, render.Text(part))
		}
		byCol := map[string][]Row{}
		for _, r := range rowGroups[strings.Join(rk, "\x00")] {
			parts := make([]string, len(colIdx))
			for i, c := range colIdx {
				parts[i] = r[c].Text
			}
			k := strings.Join(parts, "\x00")
			byCol[k] = append(byCol[k], r)
		}
		for _, ck := range colKeys {
			g := byCol[strings.Join(ck, "\x00")]
			for _, m := range v.Measures {
				if len(g) == 0 {
					cells = append(cells, render.Text(""))
					continue
				}
				val, dec := aggregate(d, m, g)
				cells = append(cells, render.Number(val, dec))
			}
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

func cell(typ string, v Value) render.Cell {
	if v.Null {
		return render.Text("")
	}
	switch typ {
	case world.ColumnInteger, world.ColumnDecimal:
		return render.Cell{Text: v.Text, Num: v.Num, IsNum: true}
	}
	return render.Text(v.Text)
}
