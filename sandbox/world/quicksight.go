package world

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
)

// QuickSight declares the QuickSight account: users and groups in
// namespaces, datasets with row-level security, and dashboards whose sheets
// hold visuals bound to dataset columns.
type QuickSight struct {
	// Namespace is the default namespace of users and groups ("default").
	Namespace  string                `yaml:"namespace,omitempty"`
	Users      []QuickSightUser      `yaml:"users,omitempty"`
	Groups     []QuickSightGroup     `yaml:"groups,omitempty"`
	Datasets   []QuickSightDataset   `yaml:"datasets,omitempty"`
	Dashboards []QuickSightDashboard `yaml:"dashboards,omitempty"`
	// SnapshotRole names the IAM role (in iam.roles) meant for snapshot jobs
	// with identity-enhanced sessions; /_sandbox/info advertises its ARN.
	SnapshotRole string `yaml:"snapshot_role,omitempty"`
	// SnapshotJobs sets how long snapshot jobs stay QUEUED and RUNNING.
	SnapshotJobs SnapshotJobTiming `yaml:"snapshot_jobs,omitempty"`
}

// SnapshotJobTiming is the simulated duration of a snapshot job's phases.
type SnapshotJobTiming struct {
	// Queued is the time a job waits in QUEUED (default 100ms).
	Queued Duration `yaml:"queued,omitempty"`
	// Running is the minimum time a job spends RUNNING (default 300ms).
	Running Duration `yaml:"running,omitempty"`
}

// QuickSight identity types and user roles.
var (
	QuickSightIdentityTypes = []string{"IAM", "QUICKSIGHT", "IAM_IDENTITY_CENTER"}
	QuickSightRoles         = []string{"READER", "AUTHOR", "ADMIN", "READER_PRO", "AUTHOR_PRO", "ADMIN_PRO", "RESTRICTED_READER", "RESTRICTED_AUTHOR"}
)

// QuickSightUser is a user registered in a QuickSight namespace.
type QuickSightUser struct {
	// UserName is the QuickSight user name; IAM-federated users are usually
	// named ROLE/SESSION.
	UserName  string `yaml:"user_name"`
	Email     string `yaml:"email"`
	Namespace string `yaml:"namespace,omitempty"`
	// IdentityType is IAM, QUICKSIGHT or IAM_IDENTITY_CENTER.
	IdentityType string `yaml:"identity_type"`
	// Role is READER, AUTHOR or ADMIN (or a _PRO / RESTRICTED_ variant).
	Role string `yaml:"role"`
	// IAMArn is the IAM user or role an IAM-federated user signs in with.
	IAMArn string `yaml:"iam_arn,omitempty"`
	// Groups are QuickSight group names in the user's namespace.
	Groups []string `yaml:"groups,omitempty"`
	// Inactive users exist but cannot get an identity context.
	Inactive bool `yaml:"inactive,omitempty"`
}

// QuickSightGroup is a QuickSight group.
type QuickSightGroup struct {
	Name        string `yaml:"name"`
	Namespace   string `yaml:"namespace,omitempty"`
	Description string `yaml:"description,omitempty"`
}

// Dataset column types.
const (
	ColumnString   = "STRING"
	ColumnInteger  = "INTEGER"
	ColumnDecimal  = "DECIMAL"
	ColumnDateTime = "DATETIME"
)

// QuickSightDataset is a dataset: columns and rows, given inline or made by a
// deterministic generator, with its row-level security.
type QuickSightDataset struct {
	ID      string             `yaml:"id"`
	Name    string             `yaml:"name,omitempty"`
	Columns []QuickSightColumn `yaml:"columns,omitempty"`
	// Rows are inline rows, one string per column (DATETIME as 2006-01-02).
	Rows [][]string `yaml:"rows,omitempty"`
	// Generator makes the rows (and columns) instead of Rows.
	Generator *DatasetGenerator `yaml:"generator,omitempty"`
	// RowLevelSecurity grants users and groups rows. When it is not empty,
	// registered users see only the rows their rules grant.
	RowLevelSecurity []RLSRule `yaml:"row_level_security,omitempty"`
	// RLSTags map anonymous users' session tags (snapshot jobs' and embed
	// URLs' RowLevelPermissionTags) to columns.
	RLSTags []RLSTagRule `yaml:"rls_tags,omitempty"`
}

// QuickSightColumn is a dataset column.
type QuickSightColumn struct {
	Name string `yaml:"name"`
	// Type is STRING, INTEGER, DECIMAL or DATETIME (default STRING).
	Type string `yaml:"type,omitempty"`
}

// DatasetGenerator makes deterministic rows.
type DatasetGenerator struct {
	// Kind is the generator; "sales" makes region, country, product, month,
	// revenue and units.
	Kind string `yaml:"kind"`
	Seed int64  `yaml:"seed"`
	Rows int    `yaml:"rows"`
}

// RLSRule grants a user or a group the rows whose Column holds one of
// Values, or every row with AllRows.
type RLSRule struct {
	User    string   `yaml:"user,omitempty"`
	Group   string   `yaml:"group,omitempty"`
	Column  string   `yaml:"column,omitempty"`
	Values  []string `yaml:"values,omitempty"`
	AllRows bool     `yaml:"all_rows,omitempty"`
}

// RLSTagRule is a dataset's RowLevelPermissionTagRule.
type RLSTagRule struct {
	TagKey string `yaml:"tag_key"`
	Column string `yaml:"column"`
	// MatchAllValue, when passed as the tag's value, grants every row.
	MatchAllValue string `yaml:"match_all_value,omitempty"`
	// MultiValueDelimiter splits one tag value into several.
	MultiValueDelimiter string `yaml:"multi_value_delimiter,omitempty"`
}

// QuickSightDashboard is a published dashboard.
type QuickSightDashboard struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Version is the published version number (default 1); versions 1..N exist.
	Version int `yaml:"version,omitempty"`
	// Datasets are the dataset ids the dashboard uses; the first is the
	// default of visuals that name none.
	Datasets   []string             `yaml:"datasets"`
	Sheets     []QuickSightSheet    `yaml:"sheets"`
	Parameters []DashboardParameter `yaml:"parameters,omitempty"`
	// Viewers and Owners are the dashboard's permissions: "user:NAME",
	// "group:NAME" (in the default namespace) or "namespace:NAME" (every
	// user of it). Owners may also view, describe and change the
	// permissions; a READER user cannot be an owner. When both are empty
	// and Unshared is false, every user of the namespace may view it.
	Viewers []string `yaml:"viewers,omitempty"`
	Owners  []string `yaml:"owners,omitempty"`
	// Unshared is set when the last owner or viewer was removed: nobody
	// may view the dashboard.
	Unshared bool `yaml:"unshared,omitempty"`
}

// QuickSightSheet is a dashboard sheet.
type QuickSightSheet struct {
	ID      string             `yaml:"id"`
	Name    string             `yaml:"name"`
	Visuals []QuickSightVisual `yaml:"visuals"`
}

// Visual types.
const (
	VisualKPI        = "KPI"
	VisualBarChart   = "BAR_CHART"
	VisualTable      = "TABLE"
	VisualPivotTable = "PIVOT_TABLE"
)

// Aggregations of measures.
var Aggregations = []string{"SUM", "AVERAGE", "MIN", "MAX", "COUNT", "DISTINCT_COUNT"}

// QuickSightVisual is a visual bound to dataset columns.
//
//	KPI:         measures (one value each)
//	BAR_CHART:   dimensions (the category) and measures
//	TABLE:       dimensions and measures (aggregated), or fields (raw rows)
//	PIVOT_TABLE: dimensions (rows), pivot_columns and measures
type QuickSightVisual struct {
	ID    string `yaml:"id"`
	Type  string `yaml:"type"`
	Title string `yaml:"title,omitempty"`
	// Dataset defaults to the dashboard's first dataset.
	Dataset      string    `yaml:"dataset,omitempty"`
	Dimensions   []string  `yaml:"dimensions,omitempty"`
	PivotColumns []string  `yaml:"pivot_columns,omitempty"`
	Measures     []Measure `yaml:"measures,omitempty"`
	Fields       []string  `yaml:"fields,omitempty"`
}

// Measure aggregates a column.
type Measure struct {
	Column      string `yaml:"column"`
	Aggregation string `yaml:"aggregation"`
	Label       string `yaml:"label,omitempty"`
}

// DashboardParameter filters the dashboard's datasets: rows whose Column
// holds one of the parameter's values. Its type follows the column's.
type DashboardParameter struct {
	Name   string `yaml:"name"`
	Column string `yaml:"column"`
}

// QuickSightUserArn is the ARN of a QuickSight user.
func QuickSightUserArn(region, account, namespace, userName string) string {
	return fmt.Sprintf("arn:aws:quicksight:%s:%s:user/%s/%s", region, account, namespace, userName)
}

// Column returns the named column.
func (d *QuickSightDataset) Column(name string) (QuickSightColumn, bool) {
	for _, c := range d.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return QuickSightColumn{}, false
}

// Sales generator vocabulary.
var (
	salesCountries = map[string][]string{
		"EMEA": {"Germany", "France", "United Kingdom", "Spain"},
		"APAC": {"Japan", "Australia", "Singapore", "India"},
		"AMER": {"United States", "Canada", "Brazil", "Mexico"},
	}
	salesRegions  = []string{"EMEA", "APAC", "AMER"}
	salesProducts = []string{"Widget", "Gadget", "Gizmo", "Doohickey"}
	salesPrices   = []float64{19.99, 49.5, 129, 7.25}
)

// SalesColumns are the columns of the "sales" generator.
var SalesColumns = []QuickSightColumn{
	{"region", ColumnString}, {"country", ColumnString}, {"product", ColumnString},
	{"month", ColumnString}, {"revenue", ColumnDecimal}, {"units", ColumnInteger},
}

// Generate returns the generator's rows; the same seed gives the same rows.
func (g *DatasetGenerator) Generate() [][]string {
	r := rand.New(rand.NewPCG(uint64(g.Seed), 0x5a1e5))
	rows := make([][]string, 0, g.Rows)
	for i := 0; i < g.Rows; i++ {
		region := salesRegions[i%len(salesRegions)]
		countries := salesCountries[region]
		country := countries[r.IntN(len(countries))]
		p := r.IntN(len(salesProducts))
		month := fmt.Sprintf("2025-%02d", 1+r.IntN(12))
		units := 1 + r.IntN(60)
		revenue := math.Round(salesPrices[p]*float64(units)*(0.85+0.3*r.Float64())*100) / 100
		rows = append(rows, []string{region, country, salesProducts[p], month,
			strconv.FormatFloat(revenue, 'f', 2, 64), strconv.Itoa(units)})
	}
	return rows
}

var (
	qsNamespaceRe = lazyre.New(`^[a-zA-Z0-9._-]{1,64}$`)
	qsIDRe        = lazyre.New(`^[\w-]+$`)
	qsParamRe     = lazyre.New(`^[a-zA-Z0-9]+$`)
)

// completeQuickSight fills the section's defaults.
func (q *QuickSight) complete() {
	if q.Namespace == "" {
		q.Namespace = "default"
	}
	for i := range q.Users {
		if q.Users[i].Namespace == "" {
			q.Users[i].Namespace = q.Namespace
		}
	}
	for i := range q.Groups {
		if q.Groups[i].Namespace == "" {
			q.Groups[i].Namespace = q.Namespace
		}
	}
	for i := range q.Datasets {
		d := &q.Datasets[i]
		if d.Name == "" {
			d.Name = d.ID
		}
		if d.Generator != nil && len(d.Columns) == 0 && d.Generator.Kind == "sales" {
			d.Columns = append([]QuickSightColumn(nil), SalesColumns...)
		}
		for j := range d.Columns {
			if d.Columns[j].Type == "" {
				d.Columns[j].Type = ColumnString
			}
		}
	}
	for i := range q.Dashboards {
		db := &q.Dashboards[i]
		if db.Version == 0 {
			db.Version = 1
		}
		for s := range db.Sheets {
			for v := range db.Sheets[s].Visuals {
				vis := &db.Sheets[s].Visuals[v]
				if vis.Dataset == "" && len(db.Datasets) > 0 {
					vis.Dataset = db.Datasets[0]
				}
				if vis.Title == "" {
					vis.Title = vis.ID
				}
			}
		}
	}
	if q.SnapshotJobs.Queued == 0 {
		q.SnapshotJobs.Queued = Duration(100 * time.Millisecond)
	}
	if q.SnapshotJobs.Running == 0 {
		q.SnapshotJobs.Running = Duration(300 * time.Millisecond)
	}
}

func (w *World) validateQuickSight(c *checker) {
	q := &w.QuickSight
	q.complete()
	if !qsNamespaceRe.MatchString(q.Namespace) {
		c.add("quicksight.namespace", "%q is not a namespace name (letters, digits, . _ -)", q.Namespace)
	}
	groups := map[string]bool{} // namespace/name
	for i, g := range q.Groups {
		p := fmt.Sprintf("quicksight.groups[%d]", i)
		if !qsNamespaceRe.MatchString(g.Namespace) {
			c.add(p+".namespace", "%q is not a namespace name", g.Namespace)
		}
		if c.required(p+".name", g.Name) {
			c.unique(groups, p+".name", g.Namespace+"/"+g.Name)
		}
	}
	users, emails := map[string]bool{}, map[string]bool{}
	for i, u := range q.Users {
		p := fmt.Sprintf("quicksight.users[%d]", i)
		if !qsNamespaceRe.MatchString(u.Namespace) {
			c.add(p+".namespace", "%q is not a namespace name", u.Namespace)
		}
		if c.required(p+".user_name", u.UserName) {
			c.unique(users, p+".user_name", u.Namespace+"/"+u.UserName)
		}
		if c.required(p+".email", u.Email) {
			if !strings.Contains(u.Email, "@") {
				c.add(p+".email", "%q is not an email address", u.Email)
			}
			c.unique(emails, p+".email", u.Namespace+"/"+strings.ToLower(u.Email))
		}
		if !contains(QuickSightIdentityTypes, u.IdentityType) {
			c.add(p+".identity_type", "%q must be one of %s", u.IdentityType, strings.Join(QuickSightIdentityTypes, ", "))
		}
		if !contains(QuickSightRoles, u.Role) {
			c.add(p+".role", "%q must be one of %s", u.Role, strings.Join(QuickSightRoles, ", "))
		}
		if u.IAMArn != "" && !arnRe.MatchString(u.IAMArn) {
			c.add(p+".iam_arn", "%q is not an ARN", u.IAMArn)
		}
		for j, g := range u.Groups {
			if !groups[u.Namespace+"/"+g] {
				c.add(fmt.Sprintf("%s.groups[%d]", p, j), "no QuickSight group %q in namespace %q", g, u.Namespace)
			}
		}
	}
	datasets := map[string]*QuickSightDataset{}
	for i := range q.Datasets {
		d := &q.Datasets[i]
		p := fmt.Sprintf("quicksight.datasets[%d]", i)
		if c.required(p+".id", d.ID) {
			if !validQSID(d.ID) {
				c.add(p+".id", "%q may hold only letters, digits, _ and -", d.ID)
			}
			if datasets[d.ID] != nil {
				c.add(p+".id", "%q is declared twice", d.ID)
			}
			datasets[d.ID] = d
		}
		w.validateDataset(c, p, d, groups, users)
	}
	dashboards := map[string]bool{}
	for i := range q.Dashboards {
		w.validateDashboard(c, fmt.Sprintf("quicksight.dashboards[%d]", i), &q.Dashboards[i], dashboards, datasets, groups, users)
	}
	if q.SnapshotRole != "" {
		found := false
		for _, r := range w.IAM.Roles {
			found = found || r.Name == q.SnapshotRole
		}
		if !found {
			c.add("quicksight.snapshot_role", "no role in iam.roles is named %q", q.SnapshotRole)
		}
	}
}

func (w *World) validateDataset(c *checker, p string, d *QuickSightDataset, groups, users map[string]bool) {
	ns := w.QuickSight.Namespace
	cols := map[string]bool{}
	for j, col := range d.Columns {
		cp := fmt.Sprintf("%s.columns[%d]", p, j)
		if c.required(cp+".name", col.Name) {
			c.unique(cols, cp+".name", col.Name)
		}
		if !contains([]string{ColumnString, ColumnInteger, ColumnDecimal, ColumnDateTime}, col.Type) {
			c.add(cp+".type", "%q must be STRING, INTEGER, DECIMAL or DATETIME", col.Type)
		}
	}
	switch {
	case d.Generator != nil && len(d.Rows) > 0:
		c.add(p+".rows", "give rows or a generator, not both")
	case d.Generator != nil:
		g := d.Generator
		if g.Kind != "sales" {
			c.add(p+".generator.kind", "%q is not a generator; use sales", g.Kind)
		} else if len(d.Columns) != len(SalesColumns) {
			c.add(p+".columns", "the sales generator makes its own columns; leave columns out")
		}
		if g.Rows < 1 || g.Rows > 100000 {
			c.add(p+".generator.rows", "%d must be between 1 and 100000", g.Rows)
		}
	default:
		if len(d.Columns) == 0 {
			c.add(p+".columns", "needs at least one column (or a generator)")
		}
		for j, row := range d.Rows {
			rp := fmt.Sprintf("%s.rows[%d]", p, j)
			if len(row) != len(d.Columns) {
				c.add(rp, "has %d values for %d columns", len(row), len(d.Columns))
				continue
			}
			for k, v := range row {
				if err := CheckValue(d.Columns[k].Type, v); err != nil {
					c.add(fmt.Sprintf("%s[%d]", rp, k), "column %s: %v", d.Columns[k].Name, err)
				}
			}
		}
	}
	for j, r := range d.RowLevelSecurity {
		rp := fmt.Sprintf("%s.row_level_security[%d]", p, j)
		switch {
		case (r.User == "") == (r.Group == ""):
			c.add(rp, "give exactly one of user or group")
		case r.User != "" && !users[ns+"/"+r.User]:
			c.add(rp+".user", "no QuickSight user %q in namespace %q", r.User, ns)
		case r.Group != "" && !groups[ns+"/"+r.Group]:
			c.add(rp+".group", "no QuickSight group %q in namespace %q", r.Group, ns)
		}
		if r.AllRows {
			if r.Column != "" || len(r.Values) > 0 {
				c.add(rp+".all_rows", "all_rows grants every row; leave column and values out")
			}
			continue
		}
		if c.required(rp+".column", r.Column) && !cols[r.Column] {
			c.add(rp+".column", "dataset %s has no column %q", d.ID, r.Column)
		}
		if len(r.Values) == 0 {
			c.add(rp+".values", "needs at least one value (or all_rows: true)")
		}
	}
	keys := map[string]bool{}
	for j, t := range d.RLSTags {
		tp := fmt.Sprintf("%s.rls_tags[%d]", p, j)
		if c.required(tp+".tag_key", t.TagKey) {
			c.unique(keys, tp+".tag_key", t.TagKey)
		}
		if c.required(tp+".column", t.Column) && !cols[t.Column] {
			c.add(tp+".column", "dataset %s has no column %q", d.ID, t.Column)
		}
	}
}

func (w *World) validateDashboard(c *checker, p string, db *QuickSightDashboard, seen map[string]bool, datasets map[string]*QuickSightDataset, groups, users map[string]bool) {
	ns := w.QuickSight.Namespace
	if c.required(p+".id", db.ID) {
		if !validQSID(db.ID) {
			c.add(p+".id", "%q may hold only letters, digits, _ and -", db.ID)
		}
		c.unique(seen, p+".id", db.ID)
	}
	c.required(p+".name", db.Name)
	if db.Version < 1 {
		c.add(p+".version", "%d must be 1 or more", db.Version)
	}
	if len(db.Datasets) == 0 {
		c.add(p+".datasets", "needs at least one dataset")
	}
	for j, id := range db.Datasets {
		if datasets[id] == nil {
			c.add(fmt.Sprintf("%s.datasets[%d]", p, j), "no dataset has id %q", id)
		}
	}
	if len(db.Sheets) == 0 || len(db.Sheets) > 20 {
		c.add(p+".sheets", "needs 1 to 20 sheets")
	}
	sheets, visuals := map[string]bool{}, map[string]bool{}
	for j, s := range db.Sheets {
		sp := fmt.Sprintf("%s.sheets[%d]", p, j)
		if c.required(sp+".id", s.ID) {
			if !validQSID(s.ID) {
				c.add(sp+".id", "%q may hold only letters, digits, _ and -", s.ID)
			}
			c.unique(sheets, sp+".id", s.ID)
		}
		c.required(sp+".name", s.Name)
		for k := range s.Visuals {
			validateVisual(c, fmt.Sprintf("%s.visuals[%d]", sp, k), &s.Visuals[k], visuals, db, datasets)
		}
	}
	params := map[string]bool{}
	for j, prm := range db.Parameters {
		pp := fmt.Sprintf("%s.parameters[%d]", p, j)
		if c.required(pp+".name", prm.Name) {
			if !qsParamRe.MatchString(prm.Name) {
				c.add(pp+".name", "%q may hold only letters and digits", prm.Name)
			}
			c.unique(params, pp+".name", prm.Name)
		}
		if !c.required(pp+".column", prm.Column) {
			continue
		}
		found := false
		for _, id := range db.Datasets {
			if d := datasets[id]; d != nil {
				_, ok := d.Column(prm.Column)
				found = found || ok
			}
		}
		if !found {
			c.add(pp+".column", "no dataset of the dashboard has a column %q", prm.Column)
		}
	}
	readers := map[string]bool{}
	for _, u := range w.QuickSight.Users {
		if u.Namespace == ns && u.Role == "READER" {
			readers[u.UserName] = true
		}
	}
	for _, list := range []struct {
		field   string
		entries []string
	}{{"viewers", db.Viewers}, {"owners", db.Owners}} {
		for j, v := range list.entries {
			vp := fmt.Sprintf("%s.%s[%d]", p, list.field, j)
			kind, name, _ := strings.Cut(v, ":")
			switch {
			case kind == "user" && users[ns+"/"+name], kind == "group" && groups[ns+"/"+name], kind == "namespace" && name == ns:
				if list.field == "owners" && kind == "user" && readers[name] {
					c.add(vp, "%q is a READER; only AUTHOR and ADMIN users can own a dashboard", name)
				}
			case kind == "user" || kind == "group":
				c.add(vp, "no QuickSight %s %q in namespace %q", kind, name, ns)
			case kind == "namespace":
				c.add(vp, "dashboards are shared in namespace %q, not %q", ns, name)
			default:
				c.add(vp, "%q must be user:NAME, group:NAME or namespace:NAME", v)
			}
		}
	}
}

func validateVisual(c *checker, p string, v *QuickSightVisual, seen map[string]bool, db *QuickSightDashboard, datasets map[string]*QuickSightDataset) {
	if c.required(p+".id", v.ID) {
		if !validQSID(v.ID) {
			c.add(p+".id", "%q may hold only letters, digits, _ and -", v.ID)
		}
		c.unique(seen, p+".id", v.ID)
	}
	if !contains(db.Datasets, v.Dataset) {
		c.add(p+".dataset", "%q is not one of the dashboard's datasets", v.Dataset)
		return
	}
	d := datasets[v.Dataset]
	if d == nil {
		return
	}
	col := func(path, name string) {
		if _, ok := d.Column(name); !ok {
			c.add(path, "dataset %s has no column %q", d.ID, name)
		}
	}
	for i, n := range v.Dimensions {
		col(fmt.Sprintf("%s.dimensions[%d]", p, i), n)
	}
	for i, n := range v.PivotColumns {
		col(fmt.Sprintf("%s.pivot_columns[%d]", p, i), n)
	}
	for i, n := range v.Fields {
		col(fmt.Sprintf("%s.fields[%d]", p, i), n)
	}
	for i, m := range v.Measures {
		mp := fmt.Sprintf("%s.measures[%d]", p, i)
		if !contains(Aggregations, m.Aggregation) {
			c.add(mp+".aggregation", "%q must be one of %s", m.Aggregation, strings.Join(Aggregations, ", "))
		}
		cdef, ok := d.Column(m.Column)
		if !ok {
			c.add(mp+".column", "dataset %s has no column %q", d.ID, m.Column)
			continue
		}
		numeric := cdef.Type == ColumnInteger || cdef.Type == ColumnDecimal
		if !numeric && m.Aggregation != "COUNT" && m.Aggregation != "DISTINCT_COUNT" {
			c.add(mp+".aggregation", "%s needs a numeric column; %s is %s", m.Aggregation, m.Column, cdef.Type)
		}
	}
	none := func(field string, n int) {
		if n > 0 {
			c.add(p+"."+field, "a %s visual has no %s", v.Type, field)
		}
	}
	switch v.Type {
	case VisualKPI:
		if len(v.Measures) == 0 {
			c.add(p+".measures", "a KPI needs at least one measure")
		}
		none("dimensions", len(v.Dimensions))
		none("pivot_columns", len(v.PivotColumns))
		none("fields", len(v.Fields))
	case VisualBarChart:
		if len(v.Dimensions) != 1 {
			c.add(p+".dimensions", "a bar chart needs exactly one dimension (its category)")
		}
		if len(v.Measures) == 0 {
			c.add(p+".measures", "a bar chart needs at least one measure")
		}
		none("pivot_columns", len(v.PivotColumns))
		none("fields", len(v.Fields))
	case VisualTable:
		switch {
		case len(v.Fields) > 0 && (len(v.Dimensions) > 0 || len(v.Measures) > 0):
			c.add(p+".fields", "a table lists raw fields or aggregates dimensions and measures, not both")
		case len(v.Fields) == 0 && len(v.Dimensions)+len(v.Measures) == 0:
			c.add(p, "a table needs fields, or dimensions and measures")
		}
		none("pivot_columns", len(v.PivotColumns))
	case VisualPivotTable:
		if len(v.Dimensions) == 0 {
			c.add(p+".dimensions", "a pivot table needs at least one row dimension")
		}
		if len(v.Measures) == 0 {
			c.add(p+".measures", "a pivot table needs at least one measure")
		}
		none("fields", len(v.Fields))
	default:
		c.add(p+".type", "%q must be KPI, BAR_CHART, TABLE or PIVOT_TABLE", v.Type)
	}
}

// CheckValue reports whether v is a valid value of a column type.
func CheckValue(typ, v string) error {
	if v == "" {
		return nil // null
	}
	switch typ {
	case ColumnInteger:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
	case ColumnDecimal:
		if f, err := strconv.ParseFloat(v, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%q is not a decimal number", v)
		}
	case ColumnDateTime:
		if _, err := ParseDate(v); err != nil {
			return fmt.Errorf("%q is not a date (2006-01-02 or RFC 3339)", v)
		}
	}
	return nil
}

// ParseDate parses a DATETIME value: a date or an RFC 3339 time.
func ParseDate(v string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}

func validQSID(s string) bool { return len(s) <= 512 && qsIDRe.MatchString(s) }
