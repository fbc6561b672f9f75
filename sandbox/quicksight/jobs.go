package quicksight

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tipctl/tipctl/internal/lazyre"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/awsproto"
	"github.com/tipctl/tipctl/sandbox/env"
	"github.com/tipctl/tipctl/sandbox/quicksight/render"
	"github.com/tipctl/tipctl/sandbox/world"
)

// Snapshot job statuses.
const (
	JobQueued    = "QUEUED"
	JobRunning   = "RUNNING"
	JobCompleted = "COMPLETED"
	JobFailed    = "FAILED"
)

// Snapshot limits, as QuickSight documents them.
const (
	// MaxActiveJobs is how many jobs may be queued or running per account.
	MaxActiveJobs = 12
	// JobIDReuseAfter is how long after it ends a job's id stays taken.
	JobIDReuseAfter = 24 * time.Hour
	// DownloadTTL is how long a result URL of a job without an S3
	// destination stays valid.
	DownloadTTL     = 5 * time.Minute
	maxFileGroups   = 7
	maxSheetSelects = 5
	maxCSVFiles     = 5
	maxExcelVisuals = 5
	maxTags         = 50
)

// Job error types (SnapshotJobErrorInfo.ErrorType) the sandbox reports.
const (
	ErrBucketNotFound  = "S3_BUCKET_NOT_FOUND"
	ErrS3Unavailable   = "S3_UNAVAILABLE"
	ErrS3Upload        = "S3_UPLOAD_FAILED"
	ErrInternal        = "INTERNAL_FAILURE"
	ErrDashboardAccess = "DASHBOARD_ACCESS_DENIED"
)

// SnapshotConfiguration is the job configuration (wire shape).
type SnapshotConfiguration struct {
	FileGroups               []SnapshotFileGroup       `json:"FileGroups"`
	DestinationConfiguration *DestinationConfiguration `json:"DestinationConfiguration,omitempty"`
	Parameters               *Parameters               `json:"Parameters,omitempty"`
}

// SnapshotFileGroup holds one file configuration.
type SnapshotFileGroup struct {
	Files []SnapshotFile `json:"Files"`
}

// SnapshotFile is one requested file format and its sheet selections.
type SnapshotFile struct {
	FormatType      string           `json:"FormatType"`
	SheetSelections []SheetSelection `json:"SheetSelections"`
}

// SheetSelection selects visuals of a sheet.
type SheetSelection struct {
	SheetId        string   `json:"SheetId"`
	SelectionScope string   `json:"SelectionScope"`
	VisualIds      []string `json:"VisualIds,omitempty"`
}

// DestinationConfiguration is where files go.
type DestinationConfiguration struct {
	S3Destinations []S3Destination `json:"S3Destinations"`
}

// S3Destination is an S3 bucket destination.
type S3Destination struct {
	BucketConfiguration *BucketConfiguration `json:"BucketConfiguration"`
}

// BucketConfiguration names the bucket, prefix and region.
type BucketConfiguration struct {
	BucketName   string `json:"BucketName"`
	BucketPrefix string `json:"BucketPrefix"`
	BucketRegion string `json:"BucketRegion"`
}

// Parameters are dashboard parameter values.
type Parameters struct {
	StringParameters   []StringParameter   `json:"StringParameters,omitempty"`
	IntegerParameters  []IntegerParameter  `json:"IntegerParameters,omitempty"`
	DecimalParameters  []DecimalParameter  `json:"DecimalParameters,omitempty"`
	DateTimeParameters []DateTimeParameter `json:"DateTimeParameters,omitempty"`
}

// StringParameter is a string parameter.
type StringParameter struct {
	Name   string   `json:"Name"`
	Values []string `json:"Values"`
}

// IntegerParameter is an integer parameter.
type IntegerParameter struct {
	Name   string  `json:"Name"`
	Values []int64 `json:"Values"`
}

// DecimalParameter is a decimal parameter.
type DecimalParameter struct {
	Name   string    `json:"Name"`
	Values []float64 `json:"Values"`
}

// DateTimeParameter is a date-time parameter (epoch seconds on the wire).
type DateTimeParameter struct {
	Name   string        `json:"Name"`
	Values []json.Number `json:"Values"`
}

// AnonymousUser is an anonymous user with row-level security tags.
type AnonymousUser struct {
	RowLevelPermissionTags []SessionTag `json:"RowLevelPermissionTags,omitempty"`
}

// SessionTag is one RLS tag.
type SessionTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// ErrorInfo describes why a job or a file failed.
type ErrorInfo struct {
	ErrorType    string `json:"ErrorType"`
	ErrorMessage string `json:"ErrorMessage"`
}

// FileGroupResult is the result of one file group.
type FileGroupResult struct {
	Files     []SnapshotFile `json:"Files"`
	S3Results []S3Result     `json:"S3Results"`
}

// S3Result is one produced file.
type S3Result struct {
	S3DestinationConfiguration *S3Destination `json:"S3DestinationConfiguration,omitempty"`
	S3Uri                      string         `json:"S3Uri,omitempty"`
	ErrorInfo                  []ErrorInfo    `json:"ErrorInfo,omitempty"`
	// file names the kept bytes of a job without destination.
	file string
}

// Job is a snapshot job.
type Job struct {
	ID        string
	Arn       string
	Dashboard *Dashboard
	User      *User
	Anonymous *AnonymousUser
	CallerArn string
	Config    SnapshotConfiguration
	Created   time.Time
	outputs   []output
	filters   []Filter
	tags      map[string]string
	// datasets are the datasets when the job started: the job renders
	// them even if a write to the world replaces the state meanwhile.
	datasets map[string]*Dataset
	// Guarded by State.mu.
	status  string
	updated time.Time
	errInfo *ErrorInfo
	groups  []FileGroupResult
	files   map[string]*file
}

type file struct {
	data        []byte
	contentType string
}

// JobView is a consistent copy of a job's state.
type JobView struct {
	ID, Arn, Status  string
	Dashboard        *Dashboard
	User             *User
	AnonymousTagKeys []string
	Config           SnapshotConfiguration
	Created, Updated time.Time
	ErrorInfo        *ErrorInfo
	FileGroups       []FileGroupResult
}

// Terminal reports whether the job has ended.
func (v *JobView) Terminal() bool { return v.Status == JobCompleted || v.Status == JobFailed }

type visualRef struct {
	sheet  *world.QuickSightSheet
	visual *world.QuickSightVisual
}

// output is one file to produce.
type output struct {
	group   int
	format  string
	sheets  []*world.QuickSightSheet // PDF
	visuals []visualRef              // CSV (one) and Excel
	name    string
}

var jobIDRe = lazyre.New(`^[\w-]+$`)

// ValidJobID reports whether id is a valid SnapshotJobId.
func ValidJobID(id string) bool { return len(id) <= 512 && jobIDRe.MatchString(id) }

func invalid(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValueException", format, a...)
}

// plan checks a configuration against the dashboard and QuickSight's limits
// and lists the files to produce.
func (s *State) plan(d *Dashboard, cfg *SnapshotConfiguration) ([]output, *awsproto.Error) {
	if n := len(cfg.FileGroups); n < 1 || n > maxFileGroups {
		return nil, invalid("SnapshotConfiguration.FileGroups must hold 1 to %d file groups; it holds %d", maxFileGroups, n)
	}
	var outs []output
	pdfs, excels, csvs := 0, 0, 0
	for gi, g := range cfg.FileGroups {
		gp := fmt.Sprintf("SnapshotConfiguration.FileGroups[%d]", gi)
		if len(g.Files) != 1 {
			return nil, invalid("%s.Files must hold exactly 1 file configuration; it holds %d", gp, len(g.Files))
		}
		f := g.Files[0]
		fp := gp + ".Files[0]"
		if n := len(f.SheetSelections); n < 1 || n > maxSheetSelects {
			return nil, invalid("%s.SheetSelections must hold 1 to %d sheet selections; it holds %d", fp, maxSheetSelects, n)
		}
		switch f.FormatType {
		case "PDF":
			if pdfs++; pdfs > 1 {
				return nil, invalid("a snapshot job can produce at most 1 PDF; %s asks for another", fp)
			}
			if len(f.SheetSelections) != 1 {
				return nil, invalid("%s: a PDF takes exactly 1 sheet selection; it has %d", fp, len(f.SheetSelections))
			}
			out := output{group: gi, format: "PDF"}
			for si, sel := range f.SheetSelections {
				sp := fmt.Sprintf("%s.SheetSelections[%d]", fp, si)
				sheet := d.Sheet(sel.SheetId)
				if sheet == nil {
					return nil, invalid("%s: dashboard %s has no sheet %q", sp, d.ID, sel.SheetId)
				}
				if sel.SelectionScope != "ALL_VISUALS" {
					return nil, invalid("%s: a PDF needs SelectionScope ALL_VISUALS, not %q", sp, sel.SelectionScope)
				}
				if len(sel.VisualIds) > 0 {
					return nil, invalid("%s: a PDF exports whole sheets; leave VisualIds out", sp)
				}
				out.sheets = append(out.sheets, sheet)
			}
			out.name = fmt.Sprintf("%d-%s.pdf", gi+1, out.sheets[0].ID)
			outs = append(outs, out)
		case "CSV", "EXCEL":
			excel := f.FormatType == "EXCEL"
			if excel {
				if excels++; excels > 1 {
					return nil, invalid("a snapshot job can produce at most 1 Excel workbook; %s asks for another", fp)
				}
			}
			wb := output{group: gi, format: "EXCEL", name: fmt.Sprintf("%d-workbook.xlsx", gi+1)}
			for si, sel := range f.SheetSelections {
				sp := fmt.Sprintf("%s.SheetSelections[%d]", fp, si)
				sheet := d.Sheet(sel.SheetId)
				if sheet == nil {
					return nil, invalid("%s: dashboard %s has no sheet %q", sp, d.ID, sel.SheetId)
				}
				if sel.SelectionScope != "SELECTED_VISUALS" {
					return nil, invalid("%s: %s needs SelectionScope SELECTED_VISUALS with VisualIds, not %q", sp, f.FormatType, sel.SelectionScope)
				}
				if len(sel.VisualIds) == 0 {
					return nil, invalid("%s.VisualIds is required for %s", sp, f.FormatType)
				}
				if !excel && len(sel.VisualIds) != 1 {
					return nil, invalid("%s.VisualIds: a CSV holds exactly 1 visual; %d given", sp, len(sel.VisualIds))
				}
				for vi, id := range sel.VisualIds {
					v := d.Visual(sheet, id)
					if v == nil {
						return nil, invalid("%s.VisualIds[%d]: sheet %s has no visual %q", sp, vi, sheet.ID, id)
					}
					if v.Type != world.VisualTable && v.Type != world.VisualPivotTable {
						return nil, invalid("%s.VisualIds[%d]: visual %s is a %s; %s exports only table and pivot table visuals", sp, vi, id, v.Type, f.FormatType)
					}
					ref := visualRef{sheet, v}
					if excel {
						if len(wb.visuals) >= maxExcelVisuals {
							return nil, invalid("an Excel workbook holds at most %d visuals", maxExcelVisuals)
						}
						wb.visuals = append(wb.visuals, ref)
						continue
					}
					if csvs++; csvs > maxCSVFiles {
						return nil, invalid("a snapshot job can produce at most %d CSV files", maxCSVFiles)
					}
					outs = append(outs, output{group: gi, format: "CSV", visuals: []visualRef{ref},
						name: fmt.Sprintf("%d-%s-%s.csv", gi+1, sheet.ID, v.ID)})
				}
			}
			if excel {
				outs = append(outs, wb)
			}
		default:
			return nil, invalid("%s.FormatType %q must be CSV, PDF or EXCEL", fp, f.FormatType)
		}
	}
	if dc := cfg.DestinationConfiguration; dc != nil {
		if len(dc.S3Destinations) != 1 {
			return nil, invalid("DestinationConfiguration.S3Destinations must hold exactly 1 destination; it holds %d", len(dc.S3Destinations))
		}
		b := dc.S3Destinations[0].BucketConfiguration
		switch {
		case b == nil:
			return nil, invalid("DestinationConfiguration.S3Destinations[0].BucketConfiguration is required")
		case strings.TrimSpace(b.BucketName) == "" || strings.TrimSpace(b.BucketPrefix) == "" || strings.TrimSpace(b.BucketRegion) == "":
			return nil, invalid("BucketConfiguration needs BucketName, BucketPrefix and BucketRegion")
		case b.BucketRegion != s.Region:
			return nil, invalid("the destination bucket must be in the region of the call (%s), not %s", s.Region, b.BucketRegion)
		}
	}
	return outs, nil
}

// Filters turns job parameters into row filters on the dashboard's columns.
func (d *Dashboard) Filters(p *Parameters) ([]Filter, *awsproto.Error) {
	if p == nil {
		return nil, nil
	}
	seen := map[string]bool{}
	var out []Filter
	add := func(name, kind string, n int, texts []string, match func(Value) bool) *awsproto.Error {
		decl, ok := d.Parameter(name)
		if !ok {
			return invalid("dashboard %s has no parameter named %q", d.ID, name)
		}
		if seen[name] {
			return invalid("parameter %s is given twice", name)
		}
		seen[name] = true
		typ := d.ColumnType(decl.Column)
		want := map[string]string{world.ColumnString: "StringParameters", world.ColumnInteger: "IntegerParameters",
			world.ColumnDecimal: "DecimalParameters", world.ColumnDateTime: "DateTimeParameters"}[typ]
		if want != kind {
			return invalid("parameter %s filters the %s column %s; pass it in %s, not %s", name, typ, decl.Column, want, kind)
		}
		if n == 0 {
			return nil // no values: the parameter does not filter
		}
		out = append(out, Filter{Parameter: name, Column: decl.Column, Text: name + " = " + strings.Join(texts, ", "), match: match})
		return nil
	}
	for _, sp := range p.StringParameters {
		set := map[string]bool{}
		for _, v := range sp.Values {
			set[v] = true
		}
		if err := add(sp.Name, "StringParameters", len(sp.Values), sp.Values, func(v Value) bool { return set[v.Text] }); err != nil {
			return nil, err
		}
	}
	for _, ip := range p.IntegerParameters {
		set := map[float64]bool{}
		var texts []string
		for _, v := range ip.Values {
			set[float64(v)] = true
			texts = append(texts, strconv.FormatInt(v, 10))
		}
		if err := add(ip.Name, "IntegerParameters", len(ip.Values), texts, func(v Value) bool { return !v.Null && set[v.Num] }); err != nil {
			return nil, err
		}
	}
	for _, dp := range p.DecimalParameters {
		vals := dp.Values
		var texts []string
		for _, v := range vals {
			texts = append(texts, strconv.FormatFloat(v, 'f', -1, 64))
		}
		if err := add(dp.Name, "DecimalParameters", len(vals), texts, func(v Value) bool {
			for _, x := range vals {
				if !v.Null && math.Abs(v.Num-x) < 1e-9 {
					return true
				}
			}
			return false
		}); err != nil {
			return nil, err
		}
	}
	for _, tp := range p.DateTimeParameters {
		set := map[float64]bool{}
		var texts []string
		for _, n := range tp.Values {
			f, err := n.Float64()
			if err != nil {
				return nil, invalid("DateTimeParameters %s: %q is not a timestamp in epoch seconds", tp.Name, n.String())
			}
			set[math.Floor(f)] = true
			texts = append(texts, time.Unix(int64(f), 0).UTC().Format("2006-01-02"))
		}
		if err := add(tp.Name, "DateTimeParameters", len(tp.Values), texts, func(v Value) bool { return !v.Null && set[v.Num] }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AnonymousTags checks an anonymous user's RLS tags against the tag rules
// of the dashboard's datasets.
func (d *Dashboard) AnonymousTags(a *AnonymousUser) (map[string]string, *awsproto.Error) {
	if len(a.RowLevelPermissionTags) > maxTags {
		return nil, invalid("RowLevelPermissionTags holds at most %d tags", maxTags)
	}
	keys := d.TagKeys()
	tags := map[string]string{}
	for i, t := range a.RowLevelPermissionTags {
		p := fmt.Sprintf("UserConfiguration.AnonymousUsers[0].RowLevelPermissionTags[%d]", i)
		if len(t.Key) < 1 || len(t.Key) > 128 || len(t.Value) < 1 || len(t.Value) > 256 {
			return nil, invalid("%s: Key must be 1 to 128 characters and Value 1 to 256", p)
		}
		if !keys[t.Key] {
			return nil, invalid("%s: no dataset of dashboard %s has a row-level security tag rule for key %q", p, d.ID, t.Key)
		}
		if _, dup := tags[t.Key]; dup {
			return nil, invalid("%s: tag key %q is given twice", p, t.Key)
		}
		tags[t.Key] = t.Value
	}
	return tags, nil
}

// StartRequest is a validated caller's request for a job.
type StartRequest struct {
	Dashboard *Dashboard
	JobID     string
	// User is the registered user the job runs as; nil for anonymous jobs.
	User      *User
	Anonymous *AnonymousUser
	CallerArn string
	Config    SnapshotConfiguration
}

// Start checks the request and queues the job; it runs in the background.
func (s *State) Start(req StartRequest) (*Job, *awsproto.Error) {
	d := req.Dashboard
	outs, err := s.plan(d, &req.Config)
	if err != nil {
		return nil, err
	}
	filters, err := d.Filters(req.Config.Parameters)
	if err != nil {
		return nil, err
	}
	var tags map[string]string
	if req.User == nil {
		if req.Anonymous == nil {
			return nil, invalid("UserConfiguration.AnonymousUsers is required unless you call with identity-enhanced credentials")
		}
		if tags, err = d.AnonymousTags(req.Anonymous); err != nil {
			return nil, err
		}
	}
	now := s.now()
	job := &Job{ID: req.JobID, Arn: d.Arn + "/snapshot-job/" + req.JobID, Dashboard: d, User: req.User,
		Anonymous: req.Anonymous, CallerArn: req.CallerArn, Config: req.Config, Created: now,
		outputs: outs, filters: filters, tags: tags, status: JobQueued, updated: now}
	key := d.ID + "/" + req.JobID
	s.mu.Lock()
	if old := s.jobs[key]; old != nil {
		if old.status == JobQueued || old.status == JobRunning {
			s.mu.Unlock()
			return nil, awsproto.Errorf(http.StatusConflict, "ResourceExistsException",
				"Snapshot job with id %s is already running on dashboard %s", req.JobID, d.ID)
		}
		if now.Before(old.updated.Add(JobIDReuseAfter)) {
			s.mu.Unlock()
			return nil, awsproto.Errorf(http.StatusConflict, "ResourceExistsException",
				"Snapshot job id %s was used on dashboard %s less than 24 hours ago; it can be reused 24 hours after that job ended", req.JobID, d.ID)
		}
	}
	active := 0
	for _, j := range s.jobs {
		if j.status == JobQueued || j.status == JobRunning {
			active++
		}
	}
	if active >= MaxActiveJobs {
		s.mu.Unlock()
		return nil, awsproto.Errorf(http.StatusConflict, "LimitExceededException",
			"%d snapshot jobs are already running in account %s; wait for one to finish before you start another", active, s.AccountID)
	}
	s.jobs[key] = job
	job.datasets = s.Datasets
	s.mu.Unlock()
	go s.run(job)
	return job, nil
}

func (s *State) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now().UTC()
}

func (s *State) objects() env.ObjectStore {
	if s.Objects != nil {
		return s.Objects()
	}
	return nil
}

// run moves the job through QUEUED, RUNNING and COMPLETED or FAILED.
func (s *State) run(job *Job) {
	time.Sleep(s.Timing.Queued.D())
	s.mu.Lock()
	job.status, job.updated = JobRunning, s.now()
	s.mu.Unlock()
	start := time.Now()
	groups, files, einfo := s.produce(job)
	if rest := s.Timing.Running.D() - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	job.groups, job.files, job.errInfo, job.updated = groups, files, einfo, s.now()
	job.status = JobCompleted
	if einfo != nil {
		job.status = JobFailed
	}
}

// rendered is one produced file.
type rendered struct {
	out         output
	data        []byte
	contentType string
}

// Render produces the job's files as its viewer may see them.
func (s *State) Render(job *Job) ([]rendered, error) {
	viewer := Viewer{User: job.User, Tags: job.tags}
	cache := map[string][]Row{}
	visible := func(ds *Dataset) []Row {
		rows, ok := cache[ds.ID]
		if !ok {
			rows = ds.Visible(viewer, job.filters)
			cache[ds.ID] = rows
		}
		return rows
	}
	compute := func(v *world.QuickSightVisual) render.Visual {
		datasets := job.datasets
		if datasets == nil {
			datasets = s.Datasets
		}
		ds := datasets[v.Dataset]
		return Compute(v, ds, visible(ds))
	}
	var out []rendered
	for _, o := range job.outputs {
		var r rendered
		r.out = o
		var err error
		switch o.format {
		case "PDF":
			doc := s.document(job)
			for _, sh := range o.sheets {
				pg := render.Page{Title: sh.Name}
				for i := range sh.Visuals {
					pg.Visuals = append(pg.Visuals, compute(&sh.Visuals[i]))
				}
				doc.Pages = append(doc.Pages, pg)
			}
			r.contentType = "application/pdf"
			r.data, err = render.PDF(doc, render.Options{Created: job.Created})
		case "CSV":
			v := compute(o.visuals[0].visual)
			r.contentType = "text/csv"
			r.data, err = render.CSV(v.Table)
		case "EXCEL":
			var sheets []render.Sheet
			for _, ref := range o.visuals {
				v := compute(ref.visual)
				sheets = append(sheets, render.Sheet{Name: v.Title, Table: v.Table})
			}
			r.contentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
			r.data, err = render.Excel(sheets)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *State) document(job *Job) *render.Document {
	d := job.Dashboard
	doc := &render.Document{Title: d.Name}
	when := job.Created.UTC().Format("2006-01-02 15:04 UTC")
	if u := job.User; u != nil {
		doc.Subtitle = fmt.Sprintf("Snapshot for %s (%s), namespace %s - taken %s", u.UserName, u.Email, u.Namespace, when)
	} else {
		keys := make([]string, 0, len(job.tags))
		for k := range job.tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		doc.Subtitle = "Snapshot for an anonymous user - taken " + when
		if len(keys) > 0 {
			doc.Subtitle = fmt.Sprintf("Snapshot for an anonymous user (row-level security tags: %s) - taken %s", strings.Join(keys, ", "), when)
		}
	}
	notes := []string{fmt.Sprintf("Dashboard %s, version %d", d.ID, d.Version)}
	if len(job.filters) > 0 {
		var fs []string
		for _, f := range job.filters {
			fs = append(fs, f.Text)
		}
		notes = append(notes, "Parameters: "+strings.Join(fs, "; "))
	}
	doc.Notes = notes
	return doc
}

// produce renders the files and delivers them.
func (s *State) produce(job *Job) ([]FileGroupResult, map[string]*file, *ErrorInfo) {
	groups := make([]FileGroupResult, len(job.Config.FileGroups))
	for i, g := range job.Config.FileGroups {
		groups[i].Files = g.Files
		groups[i].S3Results = []S3Result{}
	}
	var dest *S3Destination
	if dc := job.Config.DestinationConfiguration; dc != nil {
		dest = &dc.S3Destinations[0]
	}
	fail := func(ei *ErrorInfo) ([]FileGroupResult, map[string]*file, *ErrorInfo) {
		for i := range groups {
			groups[i].S3Results = []S3Result{{S3DestinationConfiguration: dest, ErrorInfo: []ErrorInfo{*ei}}}
		}
		return groups, nil, ei
	}
	if job.User != nil && !job.Dashboard.CanView(job.User) {
		return fail(&ErrorInfo{ErrDashboardAccess, fmt.Sprintf("user %s cannot view dashboard %s", job.User.UserName, job.Dashboard.ID)})
	}
	files, err := s.Render(job)
	if err != nil {
		return fail(&ErrorInfo{ErrInternal, "rendering failed: " + err.Error()})
	}
	kept := map[string]*file{}
	var store env.ObjectStore
	var bucket, prefix string
	if dest != nil {
		bucket = dest.BucketConfiguration.BucketName
		prefix = strings.Trim(dest.BucketConfiguration.BucketPrefix, "/")
		if store = s.objects(); store == nil {
			return fail(&ErrorInfo{ErrS3Unavailable, "the sandbox has no S3 service to deliver the files to"})
		}
		if !store.BucketExists(bucket) {
			return fail(&ErrorInfo{ErrBucketNotFound, fmt.Sprintf("The destination bucket %s does not exist", bucket)})
		}
	}
	for _, f := range files {
		res := S3Result{S3DestinationConfiguration: dest}
		if store != nil {
			key := strings.TrimPrefix(fmt.Sprintf("%s/%s/%s/%s", prefix, job.Dashboard.ID, job.ID, f.out.name), "/")
			if err := store.PutObject(bucket, key, f.data, f.contentType); err != nil {
				return fail(&ErrorInfo{ErrS3Upload, fmt.Sprintf("could not write s3://%s/%s: %v", bucket, key, err)})
			}
			res.S3Uri = "s3://" + bucket + "/" + key
		} else {
			kept[f.out.name] = &file{data: f.data, contentType: f.contentType}
			res.file = f.out.name
		}
		groups[f.out.group].S3Results = append(groups[f.out.group].S3Results, res)
	}
	return groups, kept, nil
}

// Job returns a copy of a job's state.
func (s *State) Job(dashboardID, jobID string) (JobView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[dashboardID+"/"+jobID]
	if j == nil {
		return JobView{}, false
	}
	v := JobView{ID: j.ID, Arn: j.Arn, Status: j.status, Dashboard: j.Dashboard, User: j.User, Config: j.Config,
		Created: j.Created, Updated: j.updated, ErrorInfo: j.errInfo}
	if j.User == nil {
		v.AnonymousTagKeys = []string{}
		for _, t := range j.Anonymous.RowLevelPermissionTags {
			v.AnonymousTagKeys = append(v.AnonymousTagKeys, t.Key)
		}
	}
	for _, g := range j.groups {
		cp := FileGroupResult{Files: g.Files, S3Results: append([]S3Result(nil), g.S3Results...)}
		v.FileGroups = append(v.FileGroups, cp)
	}
	return v, true
}

// download is a time-limited URL to a kept file.
type download struct {
	dashboardID, jobID, name string
	expires                  time.Time
}

// ResolveDownloads gives the files of a job without S3 destination
// time-limited URLs under base (the sandbox endpoint).
func (s *State) ResolveDownloads(v *JobView, base string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, d := range s.downloads {
		if now.After(d.expires) {
			delete(s.downloads, t)
		}
	}
	for gi := range v.FileGroups {
		for ri := range v.FileGroups[gi].S3Results {
			r := &v.FileGroups[gi].S3Results[ri]
			if r.file == "" {
				continue
			}
			token := auth.RandomToken("", 24)
			s.downloads[token] = &download{v.Dashboard.ID, v.ID, r.file, now.Add(DownloadTTL)}
			r.S3Uri = fmt.Sprintf("%s/accounts/%s/snapshot-downloads/%s/%s", base, s.AccountID, token, r.file)
		}
	}
}

// Download returns a kept file by its URL token.
func (s *State) Download(token string) ([]byte, string, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.downloads[token]
	if d == nil || now.After(d.expires) {
		return nil, "", false
	}
	j := s.jobs[d.dashboardID+"/"+d.jobID]
	if j == nil || j.files[d.name] == nil {
		return nil, "", false
	}
	f := j.files[d.name]
	return bytes.Clone(f.data), f.contentType, true
}
