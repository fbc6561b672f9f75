package quicksight

import (
	"context"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	qstypes "github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// DashboardSummary is one entry of ListDashboards.
type DashboardSummary struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Arn     string    `json:"arn"`
	Version int64     `json:"published_version"`
	Updated time.Time `json:"last_updated"`
}

// Dashboard is a dashboard with its sheets, visuals and parameters, read
// with DescribeDashboard and DescribeDashboardDefinition.
type Dashboard struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Arn        string      `json:"arn,omitempty"`
	Version    int64       `json:"version,omitempty"`
	Sheets     []Sheet     `json:"sheets"`
	Parameters []Parameter `json:"parameters"`
	// unchecked is set when the dashboard was made up from flags because no
	// credentials could read its definition.
	unchecked bool
}

// Sheet is a dashboard sheet.
type Sheet struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Visuals []Visual `json:"visuals"`
}

// Visual is a visual of a sheet. Type is the definition's visual kind in
// upper snake case (TABLE, PIVOT_TABLE, KPI, BAR_CHART…).
type Visual struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Title string `json:"title,omitempty"`
	// Exportable visuals (tables and pivot tables) can go to CSV and Excel.
	Exportable bool `json:"exportable"`
}

// Parameter is a dashboard parameter; Type is STRING, INTEGER, DECIMAL or
// DATETIME.
type Parameter struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Sheet returns the sheet with id, or nil.
func (d *Dashboard) Sheet(id string) *Sheet {
	for i := range d.Sheets {
		if d.Sheets[i].ID == id {
			return &d.Sheets[i]
		}
	}
	return nil
}

// Visual returns the visual with id on sheet, or nil.
func (s *Sheet) Visual(id string) *Visual {
	for i := range s.Visuals {
		if s.Visuals[i].ID == id {
			return &s.Visuals[i]
		}
	}
	return nil
}

// Parameter returns the parameter called name, or nil.
func (d *Dashboard) Parameter(name string) *Parameter {
	for i := range d.Parameters {
		if d.Parameters[i].Name == name {
			return &d.Parameters[i]
		}
	}
	return nil
}

// ListDashboards lists the account's dashboards (every page).
func ListDashboards(ctx context.Context, admin aws.Config, account string) ([]DashboardSummary, error) {
	out := []DashboardSummary{}
	p := qs.NewListDashboardsPaginator(qs.NewFromConfig(admin), &qs.ListDashboardsInput{AwsAccountId: aws.String(account)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, serviceError("quicksight:ListDashboards", err)
		}
		for _, d := range page.DashboardSummaryList {
			out = append(out, DashboardSummary{ID: aws.ToString(d.DashboardId), Name: aws.ToString(d.Name),
				Arn: aws.ToString(d.Arn), Version: aws.ToInt64(d.PublishedVersionNumber), Updated: aws.ToTime(d.LastUpdatedTime)})
		}
	}
	return out, nil
}

// DescribeDashboard reads a dashboard's published version and its
// definition: sheets, visuals and parameters.
func DescribeDashboard(ctx context.Context, admin aws.Config, account, id string) (*Dashboard, error) {
	c := qs.NewFromConfig(admin)
	desc, err := c.DescribeDashboard(ctx, &qs.DescribeDashboardInput{AwsAccountId: aws.String(account), DashboardId: aws.String(id)})
	if err != nil {
		return nil, dashboardError(id, "quicksight:DescribeDashboard", err)
	}
	def, err := c.DescribeDashboardDefinition(ctx, &qs.DescribeDashboardDefinitionInput{AwsAccountId: aws.String(account), DashboardId: aws.String(id)})
	if err != nil {
		return nil, dashboardError(id, "quicksight:DescribeDashboardDefinition", err)
	}
	d := &Dashboard{ID: id, Sheets: []Sheet{}, Parameters: []Parameter{}}
	if desc.Dashboard != nil {
		d.Name, d.Arn = aws.ToString(desc.Dashboard.Name), aws.ToString(desc.Dashboard.Arn)
		if v := desc.Dashboard.Version; v != nil {
			d.Version = aws.ToInt64(v.VersionNumber)
		}
	}
	if d.Name == "" {
		d.Name = aws.ToString(def.Name)
	}
	if def.Definition != nil {
		for _, sh := range def.Definition.Sheets {
			s := Sheet{ID: aws.ToString(sh.SheetId), Name: aws.ToString(sh.Name), Visuals: []Visual{}}
			if s.Name == "" {
				s.Name = aws.ToString(sh.Title)
			}
			for _, v := range sh.Visuals {
				if vis, ok := visualOf(v); ok {
					s.Visuals = append(s.Visuals, vis)
				}
			}
			d.Sheets = append(d.Sheets, s)
		}
		for _, p := range def.Definition.ParameterDeclarations {
			d.Parameters = append(d.Parameters, parameterOf(p))
		}
	}
	return d, nil
}

func dashboardError(id, op string, err error) error {
	if code, _, _, ok := apiError(err); ok && code == "ResourceNotFoundException" {
		return &Error{Kind: KindNotFound, Code: code, Err: err, Msg: "dashboard " + id + " not found",
			Fix: "list the dashboards with `tipctl quicksight dashboards`"}
	}
	return serviceError(op, err)
}

var dashboardIDRe = lazyre.New(`^[\w-]{1,512}$`)

// ResolveDashboard finds a dashboard by id or by name (case-insensitive),
// suggesting close ids and names when none matches.
func ResolveDashboard(ctx context.Context, admin aws.Config, account, idOrName string) (*Dashboard, error) {
	want := strings.TrimSpace(idOrName)
	if want == "" {
		return nil, errorf(KindInput, "pass --dashboard ID or NAME", "no dashboard given")
	}
	list, err := ListDashboards(ctx, admin, account)
	if err != nil {
		return nil, err
	}
	id := ""
	for _, d := range list {
		if d.ID == want {
			id = d.ID
			break
		}
	}
	if id == "" {
		var byName []string
		for _, d := range list {
			if strings.EqualFold(d.Name, want) {
				byName = append(byName, d.ID)
			}
		}
		switch len(byName) {
		case 1:
			id = byName[0]
		case 0:
			var names []string
			for _, d := range list {
				names = append(names, d.ID, d.Name)
			}
			return nil, &Error{Kind: KindNotFound, Msg: "no dashboard " + quoteList([]string{want}, "") + " in account " + account + didYouMean(want, names),
				Fix: "list the dashboards with `tipctl quicksight dashboards`"}
		default:
			return nil, errorf(KindInput, "pass the dashboard id instead", "%d dashboards are named %q: %s", len(byName), want, strings.Join(byName, ", "))
		}
	}
	return DescribeDashboard(ctx, admin, account, id)
}

// uncheckedDashboard stands in for a dashboard whose definition cannot be
// read: the given sheet ids, each holding the visuals named SHEET/VISUAL (or
// every visual when there is one sheet), all assumed exportable.
func uncheckedDashboard(id string, sheets, visuals []string) (*Dashboard, error) {
	if !dashboardIDRe.MatchString(id) {
		return nil, errorf(KindInput, "without administrator credentials pass the dashboard id (letters, digits, _ and -), not its name", "%q is not a dashboard id", id)
	}
	d := &Dashboard{ID: id, Name: id, unchecked: true}
	for _, s := range sheets {
		if d.Sheet(s) == nil {
			d.Sheets = append(d.Sheets, Sheet{ID: s, Name: s})
		}
	}
	for _, v := range visuals {
		sheet, vis, ok := strings.Cut(v, "/")
		if !ok {
			if len(d.Sheets) != 1 {
				return nil, errorf(KindInput, "write visuals as SHEET_ID/VISUAL_ID, or give exactly one --sheet", "without administrator credentials tipctl cannot tell which sheet holds visual %q", v)
			}
			sheet, vis = d.Sheets[0].ID, v
		}
		s := d.Sheet(sheet)
		if s == nil {
			d.Sheets = append(d.Sheets, Sheet{ID: sheet, Name: sheet})
			s = &d.Sheets[len(d.Sheets)-1]
		}
		if s.Visual(vis) == nil {
			s.Visuals = append(s.Visuals, Visual{ID: vis, Type: "UNKNOWN", Exportable: true})
		}
	}
	return d, nil
}

// visualOf reads the one set member of a definition's Visual union.
func visualOf(v qstypes.Visual) (Visual, bool) {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rv.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() || !strings.HasSuffix(rt.Field(i).Name, "Visual") {
			continue
		}
		kind := strings.TrimSuffix(rt.Field(i).Name, "Visual")
		out := Visual{Type: upperSnake(kind)}
		out.Exportable = out.Type == "TABLE" || out.Type == "PIVOT_TABLE"
		el := f.Elem()
		if id := el.FieldByName("VisualId"); id.IsValid() && id.Kind() == reflect.Pointer && !id.IsNil() {
			out.ID = id.Elem().String()
		}
		if t := el.FieldByName("Title"); t.IsValid() && t.Kind() == reflect.Pointer && !t.IsNil() {
			if title, ok := t.Interface().(*qstypes.VisualTitleLabelOptions); ok && title.FormatText != nil {
				out.Title = aws.ToString(title.FormatText.PlainText)
				if out.Title == "" {
					out.Title = aws.ToString(title.FormatText.RichText)
				}
			}
		}
		return out, out.ID != ""
	}
	return Visual{}, false
}

// upperSnake turns PivotTable into PIVOT_TABLE and KPI into KPI.
func upperSnake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}

func parameterOf(p qstypes.ParameterDeclaration) Parameter {
	switch {
	case p.StringParameterDeclaration != nil:
		return Parameter{Name: aws.ToString(p.StringParameterDeclaration.Name), Type: "STRING"}
	case p.IntegerParameterDeclaration != nil:
		return Parameter{Name: aws.ToString(p.IntegerParameterDeclaration.Name), Type: "INTEGER"}
	case p.DecimalParameterDeclaration != nil:
		return Parameter{Name: aws.ToString(p.DecimalParameterDeclaration.Name), Type: "DECIMAL"}
	case p.DateTimeParameterDeclaration != nil:
		return Parameter{Name: aws.ToString(p.DateTimeParameterDeclaration.Name), Type: "DATETIME"}
	}
	return Parameter{Type: "UNKNOWN"}
}
