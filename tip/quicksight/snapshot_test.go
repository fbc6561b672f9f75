package quicksight_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tipctl/tipctl/sandbox/quicksight/quicksighttest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/quicksight"
)

// TestSnapshotAsQuickSightUser: alice's snapshot through GetIdentityContext
// with the administrator keys: PDF, CSV and Excel of every sheet, split into
// the jobs QuickSight's limits need, each file opened and checked.
func TestSnapshotAsQuickSightUser(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	session := aliceSession(t, sb, admin)
	out := t.TempDir()
	var notes, progress bytes.Buffer
	res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{
		AWS: admin, Session: session, Admin: &admin, AccountID: account,
		Dashboard: "Sales Overview", // by name
		Selection: quicksight.Selection{Formats: []string{quicksight.FormatPDF, quicksight.FormatCSV, quicksight.FormatExcel}},
		OutDir:    out, Notes: &notes, Progress: &progress, PollMin: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("snapshot: %v\nnotes: %s", err, notes.String())
	}
	// Two sheets make two PDFs, and a job makes one: two jobs, explained.
	if len(res.Jobs) != 2 || !strings.Contains(notes.String(), "split into 2 snapshot jobs") || !strings.Contains(notes.String(), "2 PDFs") {
		t.Fatalf("jobs %+v, notes %q", res.Jobs, notes.String())
	}
	for _, j := range res.Jobs {
		if j.Status != quicksight.StatusCompleted || j.Error != nil {
			t.Errorf("job %s: %s %v", j.JobID, j.Status, j.Error)
		}
	}
	want := []string{"by-region.pdf", "country-table.csv", "overview.pdf", "product-pivot.csv", "sales-detail.csv", "sales-overview.xlsx"}
	if got := fileNames(res.Files); !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for _, f := range res.Files {
		if filepath.Dir(f) != out {
			t.Errorf("%s is not in %s", f, out)
		}
	}
	if !strings.Contains(progress.String(), "COMPLETED") || !strings.Contains(progress.String(), "saved ") {
		t.Errorf("progress %q", progress.String())
	}
	checkAliceFiles(t, sb.Env.World, res.Files)

	// One identity context, one role session, for both jobs.
	if n := sb.Env.Stats.Get("quicksight:GetIdentityContext"); n != 1 {
		t.Errorf("%d GetIdentityContext calls, want 1", n)
	}
	if n := sb.Env.Stats.Get("quicksight:StartDashboardSnapshotJob"); n != 2 {
		t.Errorf("%d jobs started, want 2", n)
	}
	// The files are private to the user who took them.
	if fi, err := os.Stat(res.Files[0]); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("file mode %v %v", fi.Mode(), err)
	}
}

func checkAliceFiles(t *testing.T, w *world.World, files []string) {
	t.Helper()
	quicksighttest.CheckFiles(t, w, "alice@example.com", files)
}

// TestSnapshotToBucket: files written to S3 are read back (with the
// administrator credentials, as alice's role has no s3:GetObject).
func TestSnapshotToBucket(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	out := t.TempDir()
	res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{
		AWS: admin, Session: aliceSession(t, sb, admin), Admin: &admin, AccountID: account, Dashboard: "sales-overview",
		Selection: quicksight.Selection{Visuals: []string{"Sales detail"}}, // by title; CSV by default
		Bucket:    "quicksight-snapshots", Prefix: "/daily/", JobID: "daily-1", OutDir: out, PollMin: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 || len(res.Jobs[0].Files) != 1 {
		t.Fatalf("%+v", res)
	}
	f := res.Jobs[0].Files[0]
	if !strings.HasPrefix(f.Source, "s3://quicksight-snapshots/daily/sales-overview/daily-1/") || f.Format != "CSV" || f.Visuals[0] != "sales-detail" {
		t.Fatalf("file %+v", f)
	}
	checkAliceFiles(t, sb.Env.World, res.Files)
	// The object is really in the bucket.
	key := strings.TrimPrefix(f.Source, "s3://quicksight-snapshots/")
	obj, err := s3.NewFromConfig(admin, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(bg,
		&s3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	obj.Body.Close()
	if sb.Env.Stats.Get("s3:GetObject") < 2 {
		t.Errorf("the file was not read from S3")
	}
}

// TestSnapshotResumesAfterExpiry: the sandbox clock jumps past the end of
// alice's one-hour session while a job runs; the next poll is refused as
// expired, tipctl gets a new identity context and session, and resumes.
func TestSnapshotResumesAfterExpiry(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	session := aliceSession(t, sb, admin)
	var progress bytes.Buffer
	jumped := false
	res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{
		AWS: admin, Session: session, Admin: &admin, AccountID: account, Dashboard: "sales-overview",
		Selection: quicksight.Selection{Sheets: []string{"by-region"}, Formats: []string{quicksight.FormatCSV}},
		OutDir:    t.TempDir(), Progress: &progress, PollMin: 20 * time.Millisecond, PollMax: 50 * time.Millisecond,
		OnPoll: func(job, status string) {
			if !jumped {
				jumped = true
				sb.Env.Advance(61 * time.Minute)
			}
		},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if res.Refreshes != 1 || session.Mints() != 2 {
		t.Errorf("refreshes %d, mints %d; want 1 and 2", res.Refreshes, session.Mints())
	}
	// (The sandbox also counts the attempts refused for clock skew, which
	// the SDK corrects and retries after the jump.)
	if n := sb.Env.Stats.Get("quicksight:GetIdentityContext"); n < 2 {
		t.Errorf("%d identity contexts, want a second one", n)
	}
	if !strings.Contains(progress.String(), "credentials expired while polling job") {
		t.Errorf("progress %q", progress.String())
	}
	if len(res.Files) != 3 {
		t.Errorf("files %v", res.Files)
	}
	checkAliceFiles(t, sb.Env.World, res.Files)
}

// TestSnapshotBadInput: each mistake is caught before any job starts, in
// one line, with what was meant.
func TestSnapshotBadInput(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	session := aliceSession(t, sb, admin)
	run := func(dashboard string, sel quicksight.Selection, params ...string) error {
		_, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: admin, Session: session, Admin: &admin,
			AccountID: account, Dashboard: dashboard, Selection: sel, Params: params, OutDir: t.TempDir()})
		return err
	}
	wantKind(t, run("sales-overveiw", quicksight.Selection{}), quicksight.KindNotFound, `no dashboard "sales-overveiw"`, `did you mean "sales-overview"`)
	wantKind(t, run("sales-overview", quicksight.Selection{Sheets: []string{"by-regoin"}}), quicksight.KindNotFound, `has no sheet "by-regoin"`, `did you mean "by-region"`)
	wantKind(t, run("sales-overview", quicksight.Selection{Visuals: []string{"sales-detial"}}), quicksight.KindNotFound, `no visual "sales-detial"`, `"sales-detail"`)
	wantKind(t, run("sales-overview", quicksight.Selection{Visuals: []string{"by-region/nope"}}), quicksight.KindNotFound, "sheet by-region", `no visual "nope"`)
	wantKind(t, run("sales-overview", quicksight.Selection{Visuals: []string{"total-revenue"}, Formats: []string{"CSV"}}), quicksight.KindInput,
		"total-revenue on sheet overview is a KPI", "by-region/country-table")
	wantKind(t, run("sales-overview", quicksight.Selection{Sheets: []string{"overview"}, Formats: []string{"EXCEL"}}), quicksight.KindInput, "no table or pivot table")
	wantKind(t, run("sales-overview", quicksight.Selection{}, "Regoin=EMEA"), quicksight.KindNotFound, `no parameter "Regoin"`, `did you mean "Region"`)
	wantKind(t, run("sales-overview", quicksight.Selection{}, "Region"), quicksight.KindInput, "not Name=Value")
	if n := sb.Env.Stats.Get("quicksight:StartDashboardSnapshotJob"); n != 0 {
		t.Errorf("%d jobs started on bad input", n)
	}
}

// TestSnapshotParameters: a parameter narrows the rows of every file.
func TestSnapshotParameters(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: admin, Session: aliceSession(t, sb, admin), Admin: &admin,
		AccountID: account, Dashboard: "sales-overview", Selection: quicksight.Selection{Visuals: []string{"sales-detail"}},
		Params: []string{"product=Widget", "Product=Gadget"}, OutDir: t.TempDir(), PollMin: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	header, rows := quicksighttest.VisibleRows(t, sb.Env.World, "alice@example.com")
	p := slices.Index(header, "product")
	var want [][]string
	for _, r := range rows {
		if r[p] == "Widget" || r[p] == "Gadget" {
			want = append(want, r)
		}
	}
	recs, _ := csv.NewReader(bytes.NewReader(readFile(t, res.Files[0]))).ReadAll()
	if len(want) == 0 || len(want) == len(rows) || !reflect.DeepEqual(recs[1:], want) {
		t.Errorf("with Product=Widget,Gadget the CSV has %d rows, want %d", len(recs)-1, len(want))
	}
}

// TestJobFailure: a job QuickSight cannot deliver ends FAILED, and the
// error carries its ErrorInfo.
func TestJobFailure(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: admin, Session: aliceSession(t, sb, admin), Admin: &admin,
		AccountID: account, Dashboard: "sales-overview", Bucket: "no-such-bucket", OutDir: t.TempDir(), PollMin: 50 * time.Millisecond,
		Selection: quicksight.Selection{Sheets: []string{"overview"}}})
	wantKind(t, err, quicksight.KindJobFailed, "FAILED", "S3_BUCKET_NOT_FOUND", "no-such-bucket", "check --bucket")
	if res == nil || len(res.Jobs) != 1 || res.Jobs[0].Status != quicksight.StatusFailed || len(res.Files) != 0 {
		t.Fatalf("%+v", res)
	}
}

// TestNoWaitThenStatus: start without waiting, then read the job's status
// and download its files as the same user.
func TestNoWaitThenStatus(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	session := aliceSession(t, sb, admin)
	res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: admin, Session: session, Admin: &admin,
		AccountID: account, Dashboard: "sales-overview", NoWait: true, JobID: "later",
		Selection: quicksight.Selection{Sheets: []string{"by-region"}, Formats: []string{"PDF", "EXCEL"}}})
	if err != nil || len(res.Jobs) != 1 || res.Jobs[0].JobID != "later" || len(res.Files) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	out := t.TempDir()
	var st *quicksight.JobStatus
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		st, err = quicksight.Status(bg, quicksight.StatusRequest{AWS: admin, Session: session, Admin: &admin, AccountID: account,
			Dashboard: "Sales Overview", JobID: "later", Download: true, OutDir: out})
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == quicksight.StatusCompleted {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Status != quicksight.StatusCompleted || len(st.Results) != 2 || len(st.Files) != 2 || st.Plan != "1 PDF, 1 Excel workbook" {
		t.Fatalf("%+v", st)
	}
	if got := []string{filepath.Base(st.Files[0].Path), filepath.Base(st.Files[1].Path)}; !reflect.DeepEqual(got, []string{"by-region.pdf", "sales-overview.xlsx"}) {
		t.Errorf("files %v", got)
	}
	// Another user cannot read alice's job.
	carol := quicksight.IdentityCredentials(admin, quicksight.IdentityRequest{User: quicksight.User{UserName: "carol"},
		RoleArn: roleArn(t, sb, "quicksight-snapshots")})
	_, err = quicksight.Status(bg, quicksight.StatusRequest{AWS: admin, Session: carol, AccountID: account, Dashboard: "sales-overview", JobID: "later"})
	wantKind(t, err, quicksight.KindAccess, "another user")
	_, err = quicksight.Status(bg, quicksight.StatusRequest{AWS: admin, Session: session, AccountID: account, Dashboard: "sales-overview", JobID: "nope"})
	wantKind(t, err, quicksight.KindNotFound, "nope")
}

// TestSnapshotWithoutAdmin: with the person's session only, nothing can be
// checked or named by title beforehand: ids are taken as given, and a
// snapshot without sheets is refused with what to pass.
func TestSnapshotWithoutAdmin(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	session := aliceSession(t, sb, admin)
	base := admin.Copy()
	base.Credentials = nil
	var notes bytes.Buffer
	res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: base, Session: session, AccountID: account,
		Dashboard: "sales-overview", Selection: quicksight.Selection{Visuals: []string{"by-region/sales-detail"}, Formats: []string{"PDF", "CSV"}},
		OutDir: t.TempDir(), Notes: &notes, PollMin: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := fileNames(res.Files); !reflect.DeepEqual(got, []string{"by-region.pdf", "sales-detail.csv"}) || !strings.Contains(notes.String(), "not checked") {
		t.Fatalf("%v %q", got, notes.String())
	}
	checkAliceFiles(t, sb.Env.World, res.Files)
	_, err = quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: base, Session: session, AccountID: account, Dashboard: "sales-overview", OutDir: t.TempDir()})
	wantKind(t, err, quicksight.KindInput, "cannot read the sheets", "--sheet")
	// A wrong id is then QuickSight's to refuse.
	_, err = quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: base, Session: session, AccountID: account, Dashboard: "sales-overview",
		Selection: quicksight.Selection{Sheets: []string{"nope"}}, OutDir: t.TempDir()})
	wantKind(t, err, quicksight.KindInput, "QuickSight refused the job", `no sheet "nope"`)
}
