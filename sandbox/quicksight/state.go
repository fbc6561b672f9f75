// Package quicksight emulates the parts of Amazon QuickSight that trusted
// identity propagation reaches: users and groups in namespaces, datasets with
// row-level security, published dashboards, GetIdentityContext, and
// dashboard snapshot jobs that render PDF, CSV and Excel files into S3 as the
// viewing user may see them.
//
// state.go, data.go and jobs.go hold the state (models); handlers.go holds
// the restJson1 wire handlers; render/ draws the files.
package quicksight

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/world"
)

// User is a QuickSight user.
type User struct {
	world.QuickSightUser
	Arn         string
	PrincipalID string
	Groups      []*Group
}

// InGroup reports whether u belongs to the named group.
func (u *User) InGroup(name string) bool {
	for _, g := range u.Groups {
		if g.Name == name {
			return true
		}
	}
	return false
}

// Group is a QuickSight group.
type Group struct {
	Name        string
	Namespace   string
	Description string
	Arn         string
	PrincipalID string
}

// Namespace holds the users and groups of one namespace.
type Namespace struct {
	Name    string
	Users   []*User
	Groups  []*Group
	byName  map[string]*User
	byEmail map[string]*User
	groups  map[string]*Group
}

// Column is a dataset column.
type Column = world.QuickSightColumn

// Value is one dataset cell: its text and, for numbers and dates, its value
// (dates as Unix seconds).
type Value struct {
	Text string
	Num  float64
	Null bool
}

// Row is one dataset row.
type Row []Value

// Dataset is a dataset with its rows parsed.
type Dataset struct {
	ID      string
	Name    string
	Arn     string
	Columns []Column
	Rows    []Row
	RLS     []world.RLSRule
	Tags    []world.RLSTagRule
	index   map[string]int
}

// Col returns the index of a column, or -1.
func (d *Dataset) Col(name string) int {
	if i, ok := d.index[name]; ok {
		return i
	}
	return -1
}

// Dashboard is a published dashboard.
type Dashboard struct {
	world.QuickSightDashboard
	Arn       string
	Namespace string // the namespace its permissions name users and groups in
	Created   time.Time
	Published time.Time
	// DatasetList are the dashboard's datasets, in declaration order.
	DatasetList []*Dataset
}

// Sheet returns the sheet with id, or nil.
func (d *Dashboard) Sheet(id string) *world.QuickSightSheet {
	for i := range d.Sheets {
		if d.Sheets[i].ID == id {
			return &d.Sheets[i]
		}
	}
	return nil
}

// Visual returns the visual with id on sheet, or nil.
func (d *Dashboard) Visual(sheet *world.QuickSightSheet, id string) *world.QuickSightVisual {
	for i := range sheet.Visuals {
		if sheet.Visuals[i].ID == id {
			return &sheet.Visuals[i]
		}
	}
	return nil
}

// Parameter returns the declared parameter called name.
func (d *Dashboard) Parameter(name string) (world.DashboardParameter, bool) {
	for _, p := range d.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return world.DashboardParameter{}, false
}

// CanView reports whether u may view the dashboard: an owner or viewer
// permission names u, one of u's groups, or u's namespace.
func (d *Dashboard) CanView(u *User) bool {
	for _, p := range d.Permissions() {
		if p.Covers(u) {
			return true
		}
	}
	return false
}

// IsOwner reports whether an owner permission covers u.
func (d *Dashboard) IsOwner(u *User) bool {
	for _, p := range d.Permissions() {
		if p.Owner && p.Covers(u) {
			return true
		}
	}
	return false
}

// VersionArn is the ARN of a dashboard version.
func (d *Dashboard) VersionArn(n int) string { return d.Arn + "/version/" + strconv.Itoa(n) }

// State is the QuickSight account. The directory, datasets and dashboards
// are read-only after New; snapshot jobs are guarded by mu.
type State struct {
	AccountID        string
	Region           string
	DefaultNamespace string
	Namespaces       map[string]*Namespace
	Datasets         map[string]*Dataset
	Dashboards       []*Dashboard
	Timing           world.SnapshotJobTiming
	// Clock is the sandbox clock (time.Now when nil).
	Clock func() time.Time
	// Objects returns the S3 store snapshot files are written to; nil while
	// the sandbox has no S3 service.
	Objects func() env.ObjectStore

	dashboards map[string]*Dashboard
	users      map[string]*User // by ARN

	mu        sync.Mutex
	jobs      map[string]*Job // dashboard id + "/" + job id
	downloads map[string]*download
}

// NewState builds the state from a validated world.
func NewState(w *world.World) (*State, error) {
	q := &w.QuickSight
	s := &State{AccountID: w.AccountID, Region: w.Region, DefaultNamespace: q.Namespace, Timing: q.SnapshotJobs,
		Namespaces: map[string]*Namespace{}, Datasets: map[string]*Dataset{}, dashboards: map[string]*Dashboard{},
		users: map[string]*User{}, jobs: map[string]*Job{}, downloads: map[string]*download{}}
	if s.DefaultNamespace == "" {
		s.DefaultNamespace = "default"
	}
	s.namespace(s.DefaultNamespace)
	for _, g := range q.Groups {
		ns := s.namespace(g.Namespace)
		grp := &Group{Name: g.Name, Namespace: g.Namespace, Description: g.Description,
			Arn:         s.arn("group/%s/%s", g.Namespace, g.Name),
			PrincipalID: "group/d-" + world.StableHex(10, "qs-dir", s.AccountID) + "/" + world.StableUUID("qs-group", g.Namespace, g.Name)}
		ns.Groups = append(ns.Groups, grp)
		ns.groups[g.Name] = grp
	}
	for _, wu := range q.Users {
		ns := s.namespace(wu.Namespace)
		u := &User{QuickSightUser: wu, Arn: world.QuickSightUserArn(s.Region, s.AccountID, wu.Namespace, wu.UserName)}
		switch wu.IdentityType {
		case "IAM":
			u.PrincipalID = "federated/iam/AROA" + strings.ToUpper(world.StableHex(17, "qs-iam", wu.IAMArn, wu.UserName))
		case "IAM_IDENTITY_CENTER":
			u.PrincipalID = "federated/identitycenter/" + world.StableUUID("qs-idc", wu.Email)
		default:
			u.PrincipalID = "federated/quicksight/" + world.StableUUID("qs-user", wu.Namespace, wu.UserName)
		}
		for _, g := range wu.Groups {
			if grp := ns.groups[g]; grp != nil {
				u.Groups = append(u.Groups, grp)
			}
		}
		ns.Users = append(ns.Users, u)
		ns.byName[wu.UserName] = u
		ns.byEmail[strings.ToLower(wu.Email)] = u
		s.users[u.Arn] = u
	}
	for _, wd := range q.Datasets {
		d, err := s.dataset(wd)
		if err != nil {
			return nil, err
		}
		s.Datasets[d.ID] = d
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, wd := range q.Dashboards {
		d := &Dashboard{QuickSightDashboard: wd, Arn: s.arn("dashboard/%s", wd.ID), Namespace: s.DefaultNamespace,
			Created: created, Published: created.Add(time.Duration(wd.Version) * 24 * time.Hour)}
		for _, id := range wd.Datasets {
			ds := s.Datasets[id]
			if ds == nil {
				return nil, fmt.Errorf("quicksight: dashboard %s: no dataset %s", wd.ID, id)
			}
			d.DatasetList = append(d.DatasetList, ds)
		}
		s.Dashboards = append(s.Dashboards, d)
		s.dashboards[d.ID] = d
	}
	return s, nil
}

func (s *State) arn(format string, a ...any) string {
	return fmt.Sprintf("arn:aws:quicksight:%s:%s:", s.Region, s.AccountID) + fmt.Sprintf(format, a...)
}

func (s *State) namespace(name string) *Namespace {
	ns := s.Namespaces[name]
	if ns == nil {
		ns = &Namespace{Name: name, byName: map[string]*User{}, byEmail: map[string]*User{}, groups: map[string]*Group{}}
		s.Namespaces[name] = ns
	}
	return ns
}

func (s *State) dataset(wd world.QuickSightDataset) (*Dataset, error) {
	d := &Dataset{ID: wd.ID, Name: wd.Name, Arn: s.arn("dataset/%s", wd.ID), Columns: wd.Columns,
		RLS: wd.RowLevelSecurity, Tags: wd.RLSTags, index: map[string]int{}}
	for i, c := range d.Columns {
		d.index[c.Name] = i
	}
	raw := wd.Rows
	if wd.Generator != nil {
		raw = wd.Generator.Generate()
	}
	d.Rows = make([]Row, 0, len(raw))
	for i, r := range raw {
		if len(r) != len(d.Columns) {
			return nil, fmt.Errorf("quicksight: dataset %s row %d has %d values for %d columns", d.ID, i, len(r), len(d.Columns))
		}
		row := make(Row, len(r))
		for j, text := range r {
			v, err := ParseValue(d.Columns[j].Type, text)
			if err != nil {
				return nil, fmt.Errorf("quicksight: dataset %s row %d column %s: %v", d.ID, i, d.Columns[j].Name, err)
			}
			row[j] = v
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// ParseValue parses a cell of a column type; "" is null.
func ParseValue(typ, text string) (Value, error) {
	if text == "" {
		return Value{Null: true}, nil
	}
	if err := world.CheckValue(typ, text); err != nil {
		return Value{}, err
	}
	v := Value{Text: text}
	switch typ {
	case world.ColumnInteger, world.ColumnDecimal:
		v.Num, _ = strconv.ParseFloat(text, 64)
	case world.ColumnDateTime:
		t, _ := world.ParseDate(text)
		v.Num = float64(t.Unix())
	}
	return v, nil
}

// Dashboard returns the dashboard with id, or nil.
func (s *State) Dashboard(id string) *Dashboard { return s.dashboards[id] }

// UserByName finds a user by namespace and user name.
func (s *State) UserByName(namespace, name string) *User {
	if ns := s.Namespaces[namespace]; ns != nil {
		return ns.byName[name]
	}
	return nil
}

// UserByEmail finds a user by namespace and email (case-insensitive).
func (s *State) UserByEmail(namespace, email string) *User {
	if ns := s.Namespaces[namespace]; ns != nil {
		return ns.byEmail[strings.ToLower(email)]
	}
	return nil
}

// UserByArn finds a user by ARN.
func (s *State) UserByArn(arn string) *User { return s.users[arn] }

// UserForEmail finds the user with email in the default namespace first,
// then in the others (sorted by name); Identity Center sessions map this way.
func (s *State) UserForEmail(email string) *User {
	if u := s.UserByEmail(s.DefaultNamespace, email); u != nil {
		return u
	}
	names := make([]string, 0, len(s.Namespaces))
	for n := range s.Namespaces {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if u := s.UserByEmail(n, email); u != nil {
			return u
		}
	}
	return nil
}
