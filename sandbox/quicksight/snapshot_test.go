package quicksight_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/xuri/excelize/v2"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/quicksight"
)

func readCSV(t testing.TB, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	return rows
}

// uris lists the S3 URIs of a result's file groups, in order.
func uris(t testing.TB, groups []types.SnapshotJobResultFileGroup) [][]string {
	t.Helper()
	var out [][]string
	for _, g := range groups {
		var list []string
		for _, r := range g.S3Results {
			if len(r.ErrorInfo) > 0 {
				t.Fatalf("file error: %s: %s", aws.ToString(r.ErrorInfo[0].ErrorType), aws.ToString(r.ErrorInfo[0].ErrorMessage))
			}
			list = append(list, aws.ToString(r.S3Uri))
		}
		out = append(out, list)
	}
	return out
}

// pdfText extracts a PDF's text with pdftotext, or skips.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed; the PDF's text is not checked")
	}
	path := filepath.Join(t.TempDir(), "snap.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext cannot read the PDF: %v", err)
	}
	return string(out)
}

func TestAliceSnapshotThreeFormats(t *testing.T) {
	t.Parallel()
	sb, store := start(t, nil)
	alice := quickSightSession(t, sb, "alice@example.com")
	if alice.Context.QuickSightUserArn != "arn:aws:quicksight:us-east-1:123456789012:user/default/alice" {
		t.Fatalf("context user %s", alice.Context.QuickSightUserArn)
	}
	if g := alice.Context.GroupNames(); !slices.Contains(g, "emea-sales") || !slices.Contains(g, "analysts") {
		t.Fatalf("context groups %v", g)
	}
	c := clientFor(sb, alice)
	started, err := startJob(c, "alice-1", nil, &types.SnapshotConfiguration{
		FileGroups: []types.SnapshotFileGroup{
			pdfFile("overview"),
			csvFile("by-region", "sales-detail"),
			csvFile("by-region", "country-table"),
			excelFile("by-region", "country-table", "product-pivot", "sales-detail"),
		},
		DestinationConfiguration: dest("snapshots"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(started.Arn); got != "arn:aws:quicksight:us-east-1:123456789012:dashboard/sales-overview/snapshot-job/alice-1" {
		t.Fatalf("job ARN %s", got)
	}
	if started.Status != http.StatusAccepted {
		t.Fatalf("Status %d", started.Status)
	}
	desc := wait(t, c, "alice-1")
	if desc.JobStatus != types.SnapshotJobStatusCompleted {
		t.Fatalf("job %s", desc.JobStatus)
	}
	if desc.UserConfiguration != nil || len(desc.SnapshotConfiguration.FileGroups) != 4 || desc.CreatedTime == nil {
		t.Fatalf("describe: %+v", desc)
	}
	res := result(t, c, "alice-1")
	if res.ErrorInfo != nil || len(res.Result.AnonymousUsers) != 0 || len(res.Result.RegisteredUsers) != 1 {
		t.Fatalf("result %+v", res.Result)
	}
	files := uris(t, res.Result.RegisteredUsers[0].FileGroups)
	if len(files) != 4 || len(files[0]) != 1 || len(files[3]) != 1 {
		t.Fatalf("files %v", files)
	}
	for _, g := range files {
		if !strings.HasPrefix(g[0], "s3://snapshots/exports/sales-overview/alice-1/") {
			t.Fatalf("S3Uri %s", g[0])
		}
	}
	all := salesRows(t)
	emea := filterRows(all, func(r []string) bool { return r[0] == "EMEA" })
	if len(emea) == 0 || len(emea) == len(all) {
		t.Fatalf("%d EMEA rows of %d", len(emea), len(all))
	}

	// CSV of the detail table: exactly alice's EMEA rows, in order.
	detail := readCSV(t, store.fetch(t, files[1][0]))
	if !slices.Equal(detail[0], []string{"region", "country", "product", "month", "revenue", "units"}) {
		t.Fatalf("header %v", detail[0])
	}
	if len(detail)-1 != len(emea) {
		t.Fatalf("alice's CSV has %d rows, want the %d EMEA rows", len(detail)-1, len(emea))
	}
	for i, r := range detail[1:] {
		if !slices.Equal(r, emea[i]) {
			t.Fatalf("row %d = %v, want %v", i, r, emea[i])
		}
	}
	// The aggregated table sums per country.
	byCountry := readCSV(t, store.fetch(t, files[2][0]))
	if !slices.Equal(byCountry[0], []string{"region", "country", "Revenue", "Units"}) {
		t.Fatalf("header %v", byCountry[0])
	}
	var total int64
	for _, r := range byCountry[1:] {
		if r[0] != "EMEA" {
			t.Fatalf("alice sees region %s", r[0])
		}
		want := cents(filterRows(emea, func(x []string) bool { return x[1] == r[1] }), 4)
		if r[2] != fmt.Sprintf("%d.%02d", want/100, want%100) {
			t.Fatalf("%s revenue %s, want %d cents", r[1], r[2], want)
		}
		total += want
	}
	if total != cents(emea, 4) {
		t.Fatalf("country totals %d != %d", total, cents(emea, 4))
	}

	// The workbook: one worksheet per visual, in the order asked.
	wb, err := excelize.OpenReader(bytes.NewReader(store.fetch(t, files[3][0])))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	defer wb.Close()
	if got := wb.GetSheetList(); !slices.Equal(got, []string{"Revenue by country", "Revenue by country and product", "Sales detail"}) {
		t.Fatalf("worksheets %v", got)
	}
	xrows, err := wb.GetRows("Sales detail")
	if err != nil || len(xrows)-1 != len(emea) {
		t.Fatalf("Sales detail worksheet: %d rows, %v", len(xrows), err)
	}
	if xrows[1][0] != "EMEA" || xrows[1][1] != emea[0][1] {
		t.Fatalf("worksheet row %v, want %v", xrows[1], emea[0])
	}
	pivot, _ := wb.GetRows("Revenue by country and product")
	if !slices.Equal(pivot[0], []string{"country", "Doohickey", "Gadget", "Gizmo", "Widget"}) {
		t.Fatalf("pivot header %v", pivot[0])
	}
	if len(pivot)-1 != len(uniq(emea, 1)) {
		t.Fatalf("pivot has %d countries", len(pivot)-1)
	}

	// The PDF: dashboard and sheet titles, alice's figures.
	pdf := store.fetch(t, files[0][0])
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	t.Run("pdf text", func(t *testing.T) {
		text := pdfText(t, pdf)
		rev := quicksight.FormatNumber(float64(cents(emea, 4))/100, 2)
		var units int64
		for _, r := range emea {
			n, _ := strconv.ParseInt(r[5], 10, 64)
			units += n
		}
		for _, want := range []string{"Sales Overview", "Overview", "alice@example.com", "Revenue", rev,
			quicksight.FormatNumber(float64(units), 0), "Revenue by product", "Widget", "Gizmo"} {
			if !strings.Contains(text, want) {
				t.Errorf("the PDF does not show %q:\n%s", want, text)
			}
		}
		allRev := quicksight.FormatNumber(float64(cents(all, 4))/100, 2)
		if strings.Contains(text, allRev) {
			t.Errorf("the PDF shows the all-regions revenue %s to alice", allRev)
		}
	})

	for _, op := range []string{"GetIdentityContext", "StartDashboardSnapshotJob", "DescribeDashboardSnapshotJob", "DescribeDashboardSnapshotJobResult"} {
		if sb.Env.Stats.Get("quicksight:"+op) == 0 {
			t.Errorf("quicksight:%s was not counted", op)
		}
	}
}

func uniq(rows [][]string, col int) []string {
	var out []string
	for _, r := range rows {
		if !slices.Contains(out, r[col]) {
			out = append(out, r[col])
		}
	}
	return out
}

func TestCarolSeesAllAndParametersFilter(t *testing.T) {
	t.Parallel()
	sb, store := start(t, nil)
	carol := clientFor(sb, quickSightSession(t, sb, "carol@example.com"))
	_, err := startJob(carol, "carol-widgets", nil, &types.SnapshotConfiguration{
		FileGroups:               []types.SnapshotFileGroup{csvFile("by-region", "sales-detail"), pdfFile("by-region")},
		DestinationConfiguration: dest("snapshots"),
		Parameters: &types.Parameters{StringParameters: []types.StringParameter{
			{Name: aws.String("Product"), Values: []string{"Widget"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, carol, "carol-widgets")
	files := uris(t, result(t, carol, "carol-widgets").Result.RegisteredUsers[0].FileGroups)
	got := readCSV(t, store.fetch(t, files[0][0]))[1:]
	want := filterRows(salesRows(t), func(r []string) bool { return r[2] == "Widget" })
	if len(got) != len(want) || len(uniq(got, 0)) != 3 {
		t.Fatalf("carol's widget rows: %d (regions %v), want %d across 3 regions", len(got), uniq(got, 0), len(want))
	}
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("row %d %v want %v", i, got[i], want[i])
		}
	}
	t.Run("pdf", func(t *testing.T) {
		text := pdfText(t, store.fetch(t, files[1][0]))
		for _, s := range []string{"By region", "Product = Widget", "Sales detail", "(continued)"} {
			if !strings.Contains(text, s) {
				t.Errorf("PDF lacks %q", s)
			}
		}
		if strings.Contains(text, "Gizmo") {
			t.Error("the Product=Widget PDF shows Gizmo")
		}
	})

	// bob (APAC) asking for EMEA sees nothing: parameters narrow RLS, never widen it.
	bob := clientFor(sb, quickSightSession(t, sb, "bob@example.com"))
	_, err = startJob(bob, "bob-emea", nil, &types.SnapshotConfiguration{
		FileGroups:               []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")},
		DestinationConfiguration: dest("snapshots"),
		Parameters: &types.Parameters{StringParameters: []types.StringParameter{
			{Name: aws.String("Region"), Values: []string{"EMEA"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, bob, "bob-emea")
	files = uris(t, result(t, bob, "bob-emea").Result.RegisteredUsers[0].FileGroups)
	if rows := readCSV(t, store.fetch(t, files[0][0])); len(rows) != 1 {
		t.Fatalf("bob got %d EMEA rows", len(rows)-1)
	}
}

func TestIdentityCenterSessionMapsToQuickSightUser(t *testing.T) {
	t.Parallel()
	sb, store := start(t, nil)
	ctx := &auth.IdentityContext{Provider: auth.IdentityCenterProvider, UserID: "u-bob", UserName: "bob",
		Email: "bob@example.com", ExpiresAt: sb.Env.Now().Add(time.Hour)}
	bob := clientFor(sb, session(t, sb, "tip-enhanced", ctx))
	if _, err := startJob(bob, "idc-bob", nil, &types.SnapshotConfiguration{
		FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")}, DestinationConfiguration: dest("snapshots"),
	}); err != nil {
		t.Fatal(err)
	}
	wait(t, bob, "idc-bob")
	files := uris(t, result(t, bob, "idc-bob").Result.RegisteredUsers[0].FileGroups)
	rows := readCSV(t, store.fetch(t, files[0][0]))[1:]
	want := filterRows(salesRows(t), func(r []string) bool { return r[0] == "APAC" })
	if len(rows) != len(want) || !slices.Equal(uniq(rows, 0), []string{"APAC"}) {
		t.Fatalf("bob via Identity Center: %d rows in %v, want %d APAC rows", len(rows), uniq(rows, 0), len(want))
	}

	// An Identity Center user who is not a QuickSight user is refused.
	dave := &auth.IdentityContext{Provider: auth.IdentityCenterProvider, UserName: "dave", Email: "dave@example.com",
		ExpiresAt: sb.Env.Now().Add(time.Hour)}
	_, err := startJob(clientFor(sb, session(t, sb, "tip-enhanced", dave)), "idc-dave", nil, &types.SnapshotConfiguration{
		FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")}, DestinationConfiguration: dest("snapshots")})
	wantAPIError(t, err, "AccessDeniedException", 401)
}

func TestAnonymousSnapshotWithRLSTags(t *testing.T) {
	t.Parallel()
	sb, store := start(t, nil)
	c := admin(sb)
	users := &types.SnapshotUserConfiguration{AnonymousUsers: []types.SnapshotAnonymousUser{{
		RowLevelPermissionTags: []types.SessionTag{{Key: aws.String("region"), Value: aws.String("APAC,AMER")}}}}}
	if _, err := startJob(c, "anon-1", users, &types.SnapshotConfiguration{
		FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")}, DestinationConfiguration: dest("snapshots"),
	}); err != nil {
		t.Fatal(err)
	}
	desc := wait(t, c, "anon-1")
	if desc.UserConfiguration == nil || !slices.Equal(desc.UserConfiguration.AnonymousUsers[0].RowLevelPermissionTagKeys, []string{"region"}) {
		t.Fatalf("describe hides tag values but lists keys: %+v", desc.UserConfiguration)
	}
	res := result(t, c, "anon-1")
	if len(res.Result.RegisteredUsers) != 0 || len(res.Result.AnonymousUsers) != 1 {
		t.Fatalf("anonymous result %+v", res.Result)
	}
	rows := readCSV(t, store.fetch(t, uris(t, res.Result.AnonymousUsers[0].FileGroups)[0][0]))[1:]
	want := filterRows(salesRows(t), func(r []string) bool { return r[0] != "EMEA" })
	if len(rows) != len(want) || slices.Contains(uniq(rows, 0), "EMEA") {
		t.Fatalf("anonymous APAC,AMER: %d rows in %v, want %d", len(rows), uniq(rows, 0), len(want))
	}

	// Without tags an anonymous user sees nothing of an RLS-protected dataset.
	if _, err := startJob(c, "anon-none", &types.SnapshotUserConfiguration{AnonymousUsers: []types.SnapshotAnonymousUser{{}}},
		&types.SnapshotConfiguration{FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")},
			DestinationConfiguration: dest("snapshots")}); err != nil {
		t.Fatal(err)
	}
	wait(t, c, "anon-none")
	res = result(t, c, "anon-none")
	if rows := readCSV(t, store.fetch(t, uris(t, res.Result.AnonymousUsers[0].FileGroups)[0][0])); len(rows) != 1 {
		t.Fatalf("untagged anonymous user saw %d rows", len(rows)-1)
	}

	// An unknown tag key is refused.
	_, err := startJob(c, "anon-bad", &types.SnapshotUserConfiguration{AnonymousUsers: []types.SnapshotAnonymousUser{{
		RowLevelPermissionTags: []types.SessionTag{{Key: aws.String("regoin"), Value: aws.String("EMEA")}}}}},
		&types.SnapshotConfiguration{FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")}})
	wantAPIError(t, err, "InvalidParameterValueException", 400)
}

func TestFailedJobReportsErrorInfo(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	c := clientFor(sb, quickSightSession(t, sb, "alice@example.com"))
	if _, err := startJob(c, "no-bucket", nil, &types.SnapshotConfiguration{
		FileGroups:               []types.SnapshotFileGroup{pdfFile("overview"), csvFile("by-region", "sales-detail")},
		DestinationConfiguration: dest("missing-bucket"),
	}); err != nil {
		t.Fatal(err)
	}
	if d := wait(t, c, "no-bucket"); d.JobStatus != types.SnapshotJobStatusFailed {
		t.Fatalf("job %s, want FAILED", d.JobStatus)
	}
	res := result(t, c, "no-bucket")
	if res.JobStatus != types.SnapshotJobStatusFailed || res.ErrorInfo == nil ||
		aws.ToString(res.ErrorInfo.ErrorType) != quicksight.ErrBucketNotFound ||
		!strings.Contains(aws.ToString(res.ErrorInfo.ErrorMessage), "missing-bucket") {
		t.Fatalf("ErrorInfo %+v", res.ErrorInfo)
	}
	groups := res.Result.RegisteredUsers[0].FileGroups
	if len(groups) != 2 || len(groups[0].S3Results) != 1 || groups[0].S3Results[0].S3Uri != nil ||
		len(groups[0].S3Results[0].ErrorInfo) != 1 {
		t.Fatalf("file groups of a failed job: %+v", groups)
	}
}

func TestSnapshotWithoutDestinationGivesDownloadURLs(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	c := clientFor(sb, quickSightSession(t, sb, "bob@example.com"))
	if _, err := startJob(c, "download", nil, &types.SnapshotConfiguration{
		FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "country-table")}}); err != nil {
		t.Fatal(err)
	}
	wait(t, c, "download")
	u := uris(t, result(t, c, "download").Result.RegisteredUsers[0].FileGroups)[0][0]
	if !strings.HasPrefix(u, sb.URL()+"/accounts/") {
		t.Fatalf("download URL %s", u)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv" {
		t.Fatalf("download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows := readCSV(t, body)
	if len(rows) < 2 || !slices.Equal(uniq(rows[1:], 0), []string{"APAC"}) {
		t.Fatalf("bob's download %v", rows)
	}
	sb.Env.Advance(quicksight.DownloadTTL + time.Second)
	resp, err = http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired download URL: %d", resp.StatusCode)
	}
}

func TestSnapshotIntoSandboxS3(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.Start(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if sb.Env.Objects == nil || !sb.Env.Objects.BucketExists("quicksight-snapshots") {
		t.Skip("the sandbox's S3 has no bucket quicksight-snapshots; only the in-memory store is tested")
	}
	c := clientFor(sb, quickSightSession(t, sb, "alice@example.com"))
	if _, err := startJob(c, "real-s3", nil, &types.SnapshotConfiguration{
		FileGroups:               []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")},
		DestinationConfiguration: dest("quicksight-snapshots"),
	}); err != nil {
		t.Fatal(err)
	}
	wait(t, c, "real-s3")
	u := uris(t, result(t, c, "real-s3").Result.RegisteredUsers[0].FileGroups)[0][0]
	bucket, key, _ := strings.Cut(strings.TrimPrefix(u, "s3://"), "/")
	body, err := sb.Env.Objects.GetObject(bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if rows := readCSV(t, body); len(rows) < 2 || !slices.Equal(uniq(rows[1:], 0), []string{"EMEA"}) {
		t.Fatalf("CSV in S3: %d rows", len(rows))
	}
}

func TestJobsBelongToTheirUser(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	alice := clientFor(sb, quickSightSession(t, sb, "alice@example.com"))
	bob := clientFor(sb, quickSightSession(t, sb, "bob@example.com"))
	if _, err := startJob(alice, "mine", nil, &types.SnapshotConfiguration{
		FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")}, DestinationConfiguration: dest("snapshots")}); err != nil {
		t.Fatal(err)
	}
	wait(t, alice, "mine")
	for name, c := range map[string]*qs.Client{"bob": bob, "admin": admin(sb)} {
		_, err := c.DescribeDashboardSnapshotJob(context.Background(), &qs.DescribeDashboardSnapshotJobInput{
			AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String("mine")})
		t.Run(name, func(t *testing.T) { wantAPIError(t, err, "AccessDeniedException", 401) })
		_, err = c.DescribeDashboardSnapshotJobResult(context.Background(), &qs.DescribeDashboardSnapshotJobResultInput{
			AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String("mine")})
		t.Run(name+" result", func(t *testing.T) { wantAPIError(t, err, "AccessDeniedException", 401) })
	}
	_, err := alice.DescribeDashboardSnapshotJob(context.Background(), &qs.DescribeDashboardSnapshotJobInput{
		AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", 404)
}

// TestSeedWalkthroughThroughSTS follows the documented flow end to end with
// real SDK clients only: the administrator gets alice's identity context,
// assumes quicksight-snapshots with it as a QuickSight provided context, and
// takes a snapshot with the identity-enhanced credentials.
func TestSeedWalkthroughThroughSTS(t *testing.T) {
	t.Parallel()
	sb, store := start(t, nil)
	assertion := identityContext(t, sb, "alice@example.com")
	stsc := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
	out, err := stsc.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/quicksight-snapshots"), RoleSessionName: aws.String("test123"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(auth.QuickSightProvider), ContextAssertion: aws.String(assertion)}},
	})
	if err != nil {
		t.Fatalf("AssumeRole with the QuickSight context: %v", err)
	}
	cr := out.Credentials
	c := client(sb, aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	if _, err := startJob(c, "Snapshot1", nil, &types.SnapshotConfiguration{
		FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "sales-detail")}, DestinationConfiguration: dest("snapshots"),
	}); err != nil {
		t.Fatal(err)
	}
	wait(t, c, "Snapshot1")
	res := result(t, c, "Snapshot1")
	rows := readCSV(t, store.fetch(t, uris(t, res.Result.RegisteredUsers[0].FileGroups)[0][0]))[1:]
	if len(rows) == 0 || !slices.Equal(uniq(rows, 0), []string{"EMEA"}) {
		t.Fatalf("alice via STS: %d rows in %v", len(rows), uniq(rows, 0))
	}
}
