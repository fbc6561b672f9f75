package quicksight

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	qstypes "github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

// Job statuses.
const (
	StatusQueued    = "QUEUED"
	StatusRunning   = "RUNNING"
	StatusCompleted = "COMPLETED"
	StatusFailed    = "FAILED"
)

// Poll intervals: the first poll waits DefaultPollMin, each next one 1.5
// times longer, up to DefaultPollMax.
const (
	DefaultPollMin = 200 * time.Millisecond
	DefaultPollMax = 5 * time.Second
	// maxRefreshes bounds how often one snapshot refreshes its credentials.
	maxRefreshes = 5
)

// SnapshotRequest is one snapshot: which dashboard, what to take, as whom,
// and where the files go.
type SnapshotRequest struct {
	// AWS is the base configuration of the QuickSight calls: region,
	// endpoint, HTTP client, retries. Its credentials are not used.
	AWS aws.Config
	// Session supplies the identity-enhanced credentials of the person the
	// snapshot is for: IdentityCredentials (a QuickSight user), or an
	// Identity Center session wrapped with NewCredentials. When it has an
	// Invalidate method (as *Credentials and *aws.CredentialsCache do),
	// credentials QuickSight reports as expired are refreshed and the
	// snapshot resumes.
	Session aws.CredentialsProvider
	// Admin, when set, reads the dashboard's definition: names are resolved
	// and sheets, visuals, parameters and limits are checked before any job
	// starts. It also reads results written to S3.
	Admin *aws.Config
	// S3, when set, reads the results written to S3 (default: Admin, else
	// the session).
	S3 *aws.Config
	// AccountID is the QuickSight account.
	AccountID string
	// Dashboard is the dashboard id or (with Admin) its name.
	Dashboard string
	// Selection says which sheets, visuals and formats; ignored when Input
	// holds file groups.
	Selection Selection
	// Params are Name=Value dashboard parameters (a repeated name has
	// several values).
	Params []string
	// Input is a --cli-input-json document; its file groups, destination,
	// parameters and job id apply unless the fields above override them.
	Input *JobInput
	// JobID names the job (jobs JobID-1…N when split); default
	// tipctl-<UTC time>-<random>.
	JobID string
	// Bucket and Prefix send the files to S3 (in the call's region); without
	// them QuickSight returns download URLs.
	Bucket, Prefix string
	// OutDir receives the files; default tipctl-snapshots/<dashboard>/<job id>.
	OutDir string
	// NoWait returns once the jobs have started.
	NoWait bool
	// Progress receives status lines as the jobs run (nil: none).
	Progress io.Writer
	// Notes receives explanations: how the snapshot was split, what was
	// left out or changed (nil: none; they are also in the result).
	Notes io.Writer
	// PollMin and PollMax bound the polling interval (DefaultPollMin,
	// DefaultPollMax when zero).
	PollMin, PollMax time.Duration
	// OnPoll, when set, is called after each status poll.
	OnPoll func(jobID, status string)
}

// SnapshotResult is what a snapshot produced.
type SnapshotResult struct {
	Dashboard     string      `json:"dashboard"`
	DashboardName string      `json:"dashboard_name,omitempty"`
	OutDir        string      `json:"out_dir,omitempty"`
	Jobs          []JobResult `json:"jobs"`
	// Files are the paths of every downloaded file, in job order.
	Files []string `json:"files"`
	Notes []string `json:"notes,omitempty"`
	// Refreshes counts credential refreshes after QuickSight reported the
	// credentials as expired.
	Refreshes int `json:"credential_refreshes"`
}

// JobResult is one snapshot job.
type JobResult struct {
	JobID    string        `json:"job_id"`
	Arn      string        `json:"arn,omitempty"`
	Status   string        `json:"status"`
	Plan     string        `json:"plan,omitempty"`
	Files    []FileResult  `json:"files,omitempty"`
	Error    *JobError     `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// FileResult is one downloaded file.
type FileResult struct {
	Path    string   `json:"path"`
	Format  string   `json:"format"`
	Sheet   string   `json:"sheet,omitempty"`
	Visuals []string `json:"visuals,omitempty"`
	Source  string   `json:"source"`
	Bytes   int64    `json:"bytes"`
}

// JobError is a job's or a file's ErrorInfo.
type JobError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func (e *JobError) String() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// runner carries one snapshot or status request.
type runner struct {
	AWS       aws.Config
	Session   aws.CredentialsProvider
	Admin, S3 *aws.Config
	account   string
	progress  io.Writer
	notes     io.Writer
	onPoll    func(jobID, status string)
	pollMin   time.Duration
	pollMax   time.Duration
	qc        *qs.Client
	refreshes atomic.Int64
	mu        sync.Mutex
	noteList  []string
	flushed   bool
}

func newRunner(base aws.Config, session aws.CredentialsProvider, admin, s3cfg *aws.Config, account string) *runner {
	r := &runner{AWS: base, Session: session, Admin: admin, S3: s3cfg, account: account,
		pollMin: DefaultPollMin, pollMax: DefaultPollMax}
	cfg := base.Copy()
	cfg.Credentials = session
	r.qc = qs.NewFromConfig(cfg)
	return r
}

func (r *runner) say(format string, a ...any) {
	if r.progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.progress, "tipctl: "+format+"\n", a...)
}

// note records an explanation; notes are written out once the request has
// passed every local check (flushNotes), so a refused request shows only
// its error.
func (r *runner) note(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteList = append(r.noteList, msg)
	if r.notes != nil && r.flushed {
		fmt.Fprintln(r.notes, "tipctl: "+msg)
	}
}

func (r *runner) flushNotes() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notes != nil && !r.flushed {
		for _, n := range r.noteList {
			fmt.Fprintln(r.notes, "tipctl: "+n)
		}
	}
	r.flushed = true
}

// call runs f; when QuickSight says the credentials have expired, it
// refreshes them and runs f again.
func (r *runner) call(ctx context.Context, what string, f func() error) error {
	for {
		err := f()
		if err == nil || !isExpired(err) {
			return err
		}
		inv, ok := r.Session.(invalidator)
		if !ok || r.refreshes.Load() >= maxRefreshes {
			return err
		}
		r.refreshes.Add(1)
		inv.Invalidate()
		if _, rerr := r.Session.Retrieve(ctx); rerr != nil {
			return fmt.Errorf("the credentials expired while %s and could not be refreshed: %w", what, rerr)
		}
		r.say("the credentials expired while %s; refreshed them, resuming", what)
	}
}

// Snapshot takes a dashboard snapshot end to end: it checks the selection
// against the dashboard (with Admin), plans jobs within QuickSight's
// limits, starts them with the session's identity-enhanced credentials,
// polls with backoff (refreshing expired credentials), and downloads every
// file into OutDir. A failed job is an *Error of KindJobFailed, returned
// with the result of the jobs that completed.
func Snapshot(ctx context.Context, req SnapshotRequest) (*SnapshotResult, error) {
	if req.Session == nil {
		return nil, errorf(KindInput, "", "no identity-enhanced session to take the snapshot with")
	}
	if req.AccountID == "" {
		return nil, errorf(KindInput, "", "no QuickSight account id")
	}
	r := newRunner(req.AWS, req.Session, req.Admin, req.S3, req.AccountID)
	r.progress, r.notes, r.onPoll = req.Progress, req.Notes, req.OnPoll
	if req.PollMin > 0 {
		r.pollMin = req.PollMin
	}
	if req.PollMax > 0 {
		r.pollMax = max(req.PollMax, r.pollMin)
	}
	in := req.Input
	if in != nil && in.AwsAccountId != "" && in.AwsAccountId != req.AccountID {
		return nil, errorf(KindInput, "fix AwsAccountId or leave it out", "--cli-input-json names account %s, but the credentials are for account %s", in.AwsAccountId, req.AccountID)
	}
	dashboard := req.Dashboard
	if in != nil {
		if dashboard == "" {
			dashboard = in.DashboardId
		} else if in.DashboardId != "" && in.DashboardId != dashboard {
			r.note("--dashboard %s replaces DashboardId %s of --cli-input-json", dashboard, in.DashboardId)
		}
	}
	if dashboard == "" {
		return nil, errorf(KindInput, "pass --dashboard ID or NAME", "no dashboard given")
	}
	// The session first: a wrong user or role fails here, before any job.
	if _, err := req.Session.Retrieve(ctx); err != nil {
		return nil, err
	}
	var d *Dashboard
	var err error
	if req.Admin != nil {
		d, err = ResolveDashboard(ctx, *req.Admin, req.AccountID, dashboard)
	} else {
		sheets := req.Selection.Sheets
		if in != nil && in.SnapshotConfiguration != nil {
			sheets = nil
		} else if len(sheets) == 0 {
			for _, v := range req.Selection.Visuals {
				if s, _, ok := strings.Cut(v, "/"); ok {
					sheets = append(sheets, s)
				}
			}
			if len(sheets) == 0 {
				return nil, errorf(KindInput, "pass --sheet SHEET_ID (tipctl quicksight dashboards lists them, given administrator credentials)",
					"without administrator credentials tipctl cannot read the sheets of dashboard %s", dashboard)
			}
		}
		d, err = uncheckedDashboard(dashboard, sheets, req.Selection.Visuals)
		if err == nil {
			r.note("no administrator credentials: the dashboard's sheets, visuals and parameters are not checked before the job starts")
		}
	}
	if err != nil {
		return nil, err
	}

	var cfgs []*Config
	var plans []string
	if in != nil && in.SnapshotConfiguration != nil && len(in.SnapshotConfiguration.FileGroups) > 0 {
		if len(req.Selection.Sheets)+len(req.Selection.Visuals)+len(req.Selection.Formats) > 0 {
			return nil, errorf(KindInput, "use either --cli-input-json's FileGroups or --sheet/--visual/--format", "both --cli-input-json and flags select the files")
		}
		cfg := cloneConfig(in.SnapshotConfiguration)
		notes, err := Check(d, cfg)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			r.note("%s", n)
		}
		cfgs, plans = []*Config{cfg}, []string{describeConfig(cfg)}
	} else {
		jobs, notes, err := Plan(d, req.Selection)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			r.note("%s", n)
		}
		for _, j := range jobs {
			cfgs = append(cfgs, j.Config())
			plans = append(plans, j.String())
		}
	}
	params, err := ParseParams(d, req.Params)
	if err != nil {
		return nil, err
	}
	for _, c := range cfgs {
		if params != nil {
			if !c.Parameters.Empty() {
				r.note("--param replaces the Parameters of --cli-input-json")
			}
			c.Parameters = params
		}
		if req.Bucket != "" {
			prefix := strings.Trim(req.Prefix, "/")
			if prefix == "" {
				prefix = "tipctl-snapshots"
			}
			c.DestinationConfiguration = &Destination{S3Destinations: []S3Destination{{BucketConfiguration: &BucketConfiguration{
				BucketName: req.Bucket, BucketPrefix: prefix, BucketRegion: req.AWS.Region}}}}
		}
	}
	if in != nil && in.UserConfiguration != nil {
		r.note("UserConfiguration of --cli-input-json left out: with identity-enhanced credentials the job runs as the QuickSight user they carry (row-level security included), not as an anonymous user")
	}

	base := req.JobID
	if base == "" && in != nil {
		base = in.SnapshotJobId
	}
	if base == "" {
		base = NewJobID()
	}
	if !dashboardIDRe.MatchString(base) || len(base) > 500 {
		return nil, errorf(KindInput, "", "job id %q may hold only letters, digits, _ and - (up to 500)", base)
	}
	ids := []string{base}
	if len(cfgs) > 1 {
		ids = ids[:0]
		for i := range cfgs {
			ids = append(ids, fmt.Sprintf("%s-%d", base, i+1))
		}
	}
	res := &SnapshotResult{Dashboard: d.ID, DashboardName: d.Name, Files: []string{}}
	if !req.NoWait {
		res.OutDir = req.OutDir
		if res.OutDir == "" {
			res.OutDir = filepath.Join("tipctl-snapshots", safeName(d.ID), safeName(base))
		}
	}
	r.flushNotes()
	for i, c := range cfgs {
		jr := JobResult{JobID: ids[i], Plan: plans[i], Status: StatusQueued}
		arn, err := r.start(ctx, d.ID, ids[i], c)
		if err != nil {
			if i > 0 {
				err = prefixErr(fmt.Sprintf("job %d of %d: ", i+1, len(cfgs)), err)
			}
			res.Notes, res.Refreshes = r.noteList, int(r.refreshes.Load())
			return res, err
		}
		jr.Arn = arn
		r.say("started job %s on dashboard %s: %s", ids[i], d.ID, plans[i])
		res.Jobs = append(res.Jobs, jr)
	}
	if req.NoWait {
		res.Notes, res.Refreshes = r.noteList, int(r.refreshes.Load())
		return res, nil
	}

	var wg sync.WaitGroup
	errs := make([]error, len(cfgs))
	dl := r.newDownloader(res.OutDir, d.ID)
	for i := range cfgs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			jr := &res.Jobs[i]
			start := time.Now()
			status, err := r.wait(ctx, d.ID, jr.JobID)
			jr.Duration = time.Since(start)
			if err != nil {
				errs[i] = err
				return
			}
			jr.Status = status
			st, err := r.result(ctx, d.ID, jr.JobID, cfgs[i])
			if err != nil {
				errs[i] = err
				return
			}
			jr.Error = st.Error
			if status != StatusCompleted {
				return
			}
			files, err := dl.fetchAll(ctx, st.Results)
			jr.Files = files
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for _, j := range res.Jobs {
		for _, f := range j.Files {
			res.Files = append(res.Files, f.Path)
		}
	}
	res.Notes, res.Refreshes = r.noteList, int(r.refreshes.Load())
	for _, e := range errs {
		if e != nil {
			return res, e
		}
	}
	for _, j := range res.Jobs {
		if j.Status == StatusFailed {
			msg := "snapshot job " + j.JobID + " FAILED"
			if j.Error != nil {
				msg += ": " + j.Error.String()
			}
			return res, &Error{Kind: KindJobFailed, Msg: msg, Fix: failedFix(j.Error)}
		}
	}
	return res, nil
}

func failedFix(e *JobError) string {
	if e == nil {
		return ""
	}
	switch e.Type {
	case "S3_BUCKET_NOT_FOUND":
		return "check --bucket (it must exist in the region of the call)"
	case "DASHBOARD_ACCESS_DENIED":
		return "share the dashboard with the user or one of their groups"
	case "S3_UPLOAD_FAILED", "S3_ACCESS_DENIED":
		return "QuickSight must be allowed to write to the bucket"
	}
	return ""
}

// NewJobID makes a job id: tipctl-<UTC time>-<8 random hex digits>.
func NewJobID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "tipctl-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func cloneConfig(c *Config) *Config {
	out := &Config{DestinationConfiguration: c.DestinationConfiguration, Parameters: c.Parameters}
	for _, g := range c.FileGroups {
		var fg FileGroup
		for _, f := range g.Files {
			nf := File{FormatType: f.FormatType}
			for _, s := range f.SheetSelections {
				s.VisualIds = append([]string(nil), s.VisualIds...)
				nf.SheetSelections = append(nf.SheetSelections, s)
			}
			fg.Files = append(fg.Files, nf)
		}
		out.FileGroups = append(out.FileGroups, fg)
	}
	return out
}

func describeConfig(c *Config) string {
	pdf, csv, excel := c.Counts()
	var parts []string
	if pdf > 0 {
		parts = append(parts, fmt.Sprintf("%d PDF", pdf))
	}
	if csv > 0 {
		parts = append(parts, fmt.Sprintf("%d CSV", csv))
	}
	if excel > 0 {
		parts = append(parts, fmt.Sprintf("%d Excel workbook", excel))
	}
	return strings.Join(parts, ", ")
}

func (r *runner) start(ctx context.Context, dashboard, jobID string, c *Config) (string, error) {
	in := &qs.StartDashboardSnapshotJobInput{AwsAccountId: aws.String(r.account), DashboardId: aws.String(dashboard),
		SnapshotJobId: aws.String(jobID), SnapshotConfiguration: c.SDK()}
	var arn string
	err := r.call(ctx, "starting job "+jobID, func() error {
		out, err := r.qc.StartDashboardSnapshotJob(ctx, in)
		if err == nil {
			arn = aws.ToString(out.Arn)
		}
		return err
	})
	if err == nil {
		return arn, nil
	}
	code, msg, _, ok := apiError(err)
	if !ok {
		return "", serviceError("quicksight:StartDashboardSnapshotJob", err)
	}
	e := &Error{Code: code, Err: err}
	switch code {
	case "ResourceNotFoundException":
		e.Kind, e.Msg, e.Fix = KindNotFound, "dashboard "+dashboard+" not found: "+msg, "list the dashboards with `tipctl quicksight dashboards`"
	case "AccessDeniedException":
		e.Kind, e.Msg = KindAccess, "QuickSight refused to start the snapshot job: "+msg
		if strings.Contains(msg, "no access to dashboard") {
			e.Fix = "share the dashboard with the user or one of their groups"
		}
	case "InvalidParameterValueException":
		e.Kind, e.Msg = KindInput, "QuickSight refused the job: "+msg
	case "ResourceExistsException":
		e.Kind, e.Msg, e.Fix = KindInput, msg, "choose another --job-id, or leave it out and tipctl makes one"
	case "LimitExceededException":
		e.Kind, e.Msg, e.Fix = KindAWS, msg, "wait for running snapshot jobs to finish"
	default:
		return "", serviceError("quicksight:StartDashboardSnapshotJob", err)
	}
	return "", e
}

// wait polls a job with backoff until it ends and returns its status.
func (r *runner) wait(ctx context.Context, dashboard, jobID string) (string, error) {
	delay := r.pollMin
	start := time.Now()
	last := ""
	in := &qs.DescribeDashboardSnapshotJobInput{AwsAccountId: aws.String(r.account), DashboardId: aws.String(dashboard),
		SnapshotJobId: aws.String(jobID)}
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("waiting for snapshot job %s (last status %s): %w", jobID, orDash(last), ctx.Err())
		case <-t.C:
		}
		var status string
		err := r.call(ctx, "polling job "+jobID, func() error {
			out, err := r.qc.DescribeDashboardSnapshotJob(ctx, in)
			if err == nil {
				status = string(out.JobStatus)
			}
			return err
		})
		if err != nil {
			return "", serviceError("quicksight:DescribeDashboardSnapshotJob "+jobID, err)
		}
		if r.onPoll != nil {
			r.onPoll(jobID, status)
		}
		if status != last {
			r.say("job %s: %s (%.1fs)", jobID, status, time.Since(start).Seconds())
			last = status
		}
		if status == StatusCompleted || status == StatusFailed {
			return status, nil
		}
		delay = min(delay*3/2, r.pollMax)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ResultFile is one file of a finished job: where it is and what it holds.
type ResultFile struct {
	// URI is s3://bucket/key, or a download URL when the job had no S3
	// destination.
	URI     string    `json:"uri,omitempty"`
	Format  string    `json:"format"`
	Sheet   string    `json:"sheet,omitempty"`
	Visuals []string  `json:"visuals,omitempty"`
	Error   *JobError `json:"error,omitempty"`
}

type jobOutcome struct {
	Error   *JobError
	Results []ResultFile
}

// result reads a finished job's result.
func (r *runner) result(ctx context.Context, dashboard, jobID string, cfg *Config) (*jobOutcome, error) {
	var out *qs.DescribeDashboardSnapshotJobResultOutput
	err := r.call(ctx, "reading the result of job "+jobID, func() error {
		var err error
		out, err = r.qc.DescribeDashboardSnapshotJobResult(ctx, &qs.DescribeDashboardSnapshotJobResultInput{
			AwsAccountId: aws.String(r.account), DashboardId: aws.String(dashboard), SnapshotJobId: aws.String(jobID)})
		return err
	})
	if err != nil {
		return nil, serviceError("quicksight:DescribeDashboardSnapshotJobResult "+jobID, err)
	}
	o := &jobOutcome{}
	if e := out.ErrorInfo; e != nil {
		o.Error = &JobError{Type: aws.ToString(e.ErrorType), Message: aws.ToString(e.ErrorMessage)}
	}
	var groups []qstypes.SnapshotJobResultFileGroup
	if res := out.Result; res != nil {
		for _, u := range res.RegisteredUsers {
			groups = append(groups, u.FileGroups...)
		}
		for _, u := range res.AnonymousUsers {
			groups = append(groups, u.FileGroups...)
		}
	}
	o.Results = resultFiles(cfg, groups)
	if o.Error == nil {
		for _, f := range o.Results {
			if f.Error != nil {
				o.Error = f.Error
				break
			}
		}
	}
	return o, nil
}

// resultFiles pairs each S3 result with the file configuration it came from.
func resultFiles(cfg *Config, groups []qstypes.SnapshotJobResultFileGroup) []ResultFile {
	var out []ResultFile
	for gi, g := range groups {
		var file *File
		if len(g.Files) > 0 {
			f := fileFromSDK(g.Files[0])
			file = &f
		} else if cfg != nil && gi < len(cfg.FileGroups) && len(cfg.FileGroups[gi].Files) > 0 {
			file = &cfg.FileGroups[gi].Files[0]
		}
		for ri, s := range g.S3Results {
			rf := ResultFile{URI: aws.ToString(s.S3Uri)}
			if file != nil {
				rf.Format = file.FormatType
				switch {
				case file.FormatType == FormatCSV && ri < len(file.SheetSelections):
					rf.Sheet, rf.Visuals = file.SheetSelections[ri].SheetId, file.SheetSelections[ri].VisualIds
				case len(file.SheetSelections) > 0:
					rf.Sheet = file.SheetSelections[0].SheetId
					for _, sel := range file.SheetSelections {
						rf.Visuals = append(rf.Visuals, sel.VisualIds...)
					}
				}
			}
			for _, e := range s.ErrorInfo {
				rf.Error = &JobError{Type: aws.ToString(e.ErrorType), Message: aws.ToString(e.ErrorMessage)}
			}
			out = append(out, rf)
		}
	}
	return out
}

// StatusRequest asks for one job's status (and files).
type StatusRequest struct {
	AWS       aws.Config
	Session   aws.CredentialsProvider
	Admin, S3 *aws.Config
	AccountID string
	// Dashboard is the id, or (with Admin) the name.
	Dashboard string
	JobID     string
	// Download fetches the files of a completed job into OutDir (default
	// tipctl-snapshots/<dashboard>/<job id>).
	Download bool
	OutDir   string
	Progress io.Writer
}

// JobStatus is a job's state and, once it has ended, its result.
type JobStatus struct {
	JobID     string       `json:"job_id"`
	Arn       string       `json:"arn,omitempty"`
	Dashboard string       `json:"dashboard"`
	Status    string       `json:"status"`
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	Plan      string       `json:"plan,omitempty"`
	Error     *JobError    `json:"error,omitempty"`
	Results   []ResultFile `json:"results,omitempty"`
	OutDir    string       `json:"out_dir,omitempty"`
	Files     []FileResult `json:"files,omitempty"`
}

// Status describes a job with the credentials of the person who started
// it (QuickSight shows a user's jobs only to that user).
func Status(ctx context.Context, req StatusRequest) (*JobStatus, error) {
	if req.Session == nil {
		return nil, errorf(KindInput, "", "no identity-enhanced session to read the job with")
	}
	r := newRunner(req.AWS, req.Session, req.Admin, req.S3, req.AccountID)
	r.progress = req.Progress
	dashboard := req.Dashboard
	if req.Admin != nil {
		d, err := ResolveDashboard(ctx, *req.Admin, req.AccountID, dashboard)
		if err != nil {
			return nil, err
		}
		dashboard = d.ID
	}
	var out *qs.DescribeDashboardSnapshotJobOutput
	err := r.call(ctx, "reading job "+req.JobID, func() error {
		var err error
		out, err = r.qc.DescribeDashboardSnapshotJob(ctx, &qs.DescribeDashboardSnapshotJobInput{AwsAccountId: aws.String(req.AccountID),
			DashboardId: aws.String(dashboard), SnapshotJobId: aws.String(req.JobID)})
		return err
	})
	if err != nil {
		if code, msg, _, ok := apiError(err); ok && code == "ResourceNotFoundException" {
			return nil, &Error{Kind: KindNotFound, Code: code, Err: err, Msg: msg,
				Fix: "check the job id and the dashboard (QuickSight keeps jobs for a limited time)"}
		}
		return nil, serviceError("quicksight:DescribeDashboardSnapshotJob", err)
	}
	cfg := configFromSDK(out.SnapshotConfiguration)
	st := &JobStatus{JobID: req.JobID, Arn: aws.ToString(out.Arn), Dashboard: dashboard, Status: string(out.JobStatus),
		Created: aws.ToTime(out.CreatedTime), Updated: aws.ToTime(out.LastUpdatedTime), Plan: describeConfig(cfg)}
	if st.Status != StatusCompleted && st.Status != StatusFailed {
		return st, nil
	}
	o, err := r.result(ctx, dashboard, req.JobID, cfg)
	if err != nil {
		return nil, err
	}
	st.Error, st.Results = o.Error, o.Results
	if req.Download && st.Status == StatusCompleted {
		st.OutDir = req.OutDir
		if st.OutDir == "" {
			st.OutDir = filepath.Join("tipctl-snapshots", safeName(dashboard), safeName(req.JobID))
		}
		files, err := r.newDownloader(st.OutDir, dashboard).fetchAll(ctx, st.Results)
		st.Files = files
		if err != nil {
			return st, err
		}
	}
	return st, nil
}
