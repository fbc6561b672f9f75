package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/quicksight/quicksighttest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/config"
	"github.com/tipctl/tipctl/tip/quicksight"
)

// qsSandbox starts a sandbox and writes the default profile for it.
func qsSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb := ststest.Sandbox(t, nil)
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatalf("configure sandbox: %d %s", code, stderr)
	}
	return sb
}

// qsLogin logs alice in through the browser flow.
func qsLogin(t *testing.T) {
	t.Helper()
	loginAs(t, "alice@example.com", "alice-sandbox-pw")
	if _, stderr, code := run(t, "auth", "login"); code != 0 {
		t.Fatalf("login: %d %s", code, stderr)
	}
}

// qsWantError checks a failure: exit code, nothing on stdout, one line on
// stderr holding every want.
func qsWantError(t *testing.T, stdout, stderr string, code, wantCode int, want ...string) {
	t.Helper()
	if code != wantCode || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "tipctl: ") {
		t.Fatalf("exit %d (want %d), stdout %q, stderr %q", code, wantCode, stdout, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q lacks %q", stderr, w)
		}
	}
}

func qsLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func qsBase(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	sort.Strings(out)
	return out
}

// TestQuickSightSnapshotAs: `--as alice@example.com` takes the snapshot
// through GetIdentityContext with the profile's administrator keys; every
// file is opened and checked against the world.
func TestQuickSightSnapshotAs(t *testing.T) {
	sb := qsSandbox(t)
	out := t.TempDir()
	stdout, stderr, code := run(t, "quicksight", "snapshot", "--dashboard", "sales-overview", "--as", "alice@example.com",
		"--format", "pdf,csv,excel", "--out", out, "-o", "json")
	if code != 0 {
		t.Fatalf("snapshot: %d %s", code, stderr)
	}
	var res quicksight.SnapshotResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	want := []string{"by-region.pdf", "country-table.csv", "overview.pdf", "product-pivot.csv", "sales-detail.csv", "sales-overview.xlsx"}
	if got := qsBase(res.Files); !reflect.DeepEqual(got, want) || len(res.Jobs) != 2 {
		t.Fatalf("files %v jobs %d", got, len(res.Jobs))
	}
	if n := quicksighttest.CheckFiles(t, sb.Env.World, "alice@example.com", res.Files); n != 3 {
		t.Errorf("checked %d files", n)
	}
	// The split is explained on stderr; stdout is only the result.
	if !strings.Contains(stderr, "tipctl: split into 2 snapshot jobs") {
		t.Errorf("stderr %q", stderr)
	}
	if sb.Env.Stats.Get("quicksight:GetIdentityContext") == 0 || sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != 0 {
		t.Errorf("not the identity-context path: %v", sb.Env.Stats.Snapshot())
	}
}

// TestQuickSightSnapshotIdentityCenter: a logged-in alice takes the
// snapshot with her own Identity Center session; without flags too; and
// after her session has expired on the sandbox clock, tipctl refreshes it
// and carries on.
func TestQuickSightSnapshotIdentityCenter(t *testing.T) {
	sb := qsSandbox(t)
	qsLogin(t)
	out := t.TempDir()
	stdout, stderr, code := run(t, "quicksight", "snapshot", "--dashboard", "Sales Overview", "--identity-center",
		"--sheet", "overview", "--sheet", "By region", "--format", "pdf", "--format", "csv,excel", "--out", out)
	if code != 0 {
		t.Fatalf("snapshot: %d %s", code, stderr)
	}
	files := qsLines(stdout)
	if len(files) != 6 {
		t.Fatalf("stdout %q", stdout)
	}
	if n := quicksighttest.CheckFiles(t, sb.Env.World, "alice@example.com", files); n != 3 {
		t.Errorf("checked %d files", n)
	}
	if sb.Env.Stats.Get("quicksight:GetIdentityContext") != 0 || sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != 1 {
		t.Errorf("not the Identity Center path: %v", sb.Env.Stats.Snapshot())
	}

	// No flags: the logged-in person; the default directory.
	t.Chdir(t.TempDir())
	stdout, stderr, code = run(t, "quicksight", "snapshot", "--dashboard", "sales-overview", "--visual", "sales-detail", "--job-id", "mine")
	if code != 0 {
		t.Fatalf("snapshot: %d %s", code, stderr)
	}
	if stdout != filepath.Join("tipctl-snapshots", "sales-overview", "mine", "sales-detail.csv")+"\n" {
		t.Fatalf("stdout %q", stdout)
	}
	quicksighttest.CheckFiles(t, sb.Env.World, "alice@example.com", qsLines(stdout))
	if sb.Env.Stats.Get("sso-oauth:CreateTokenWithIAM") != 1 {
		t.Errorf("the cached session was not reused")
	}

	// An hour later on the sandbox clock the cached session has expired:
	// QuickSight refuses it, tipctl refreshes (IdP refresh, new exchange)
	// and the snapshot goes on.
	sb.Env.Advance(61 * time.Minute)
	stdout, stderr, code = run(t, "quicksight", "snapshot", "--dashboard", "sales-overview", "--visual", "sales-detail", "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("snapshot after expiry: %d %s", code, stderr)
	}
	quicksighttest.CheckFiles(t, sb.Env.World, "alice@example.com", qsLines(stdout))
	// (AssumeRoleWithWebIdentity is unsigned, so no attempt of it is lost to
	// the clock skew the SDK corrects after the jump.)
	if n := sb.Env.Stats.Get("sts:AssumeRoleWithWebIdentity"); n != 2 {
		t.Errorf("%d exchanges; the expired session was not refreshed once: %v", n, sb.Env.Stats.Snapshot())
	}
}

func TestQuickSightSnapshotBadInput(t *testing.T) {
	sb := qsSandbox(t)
	snap := func(args ...string) (string, string, int) {
		return run(t, append([]string{"quicksight", "snapshot", "--out", t.TempDir()}, args...)...)
	}
	// Not logged in and no --as: who is it for?
	o, e, c := snap("--dashboard", "sales-overview")
	qsWantError(t, o, e, c, ExitAuth, "not logged in", "tipctl auth login --profile default", "--as EMAIL")
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--identity-center")
	qsWantError(t, o, e, c, ExitUsage, "--as and --identity-center")
	o, e, c = snap("--dashboard", "sales-overveiw", "--as", "alice@example.com")
	qsWantError(t, o, e, c, ExitUsage, `no dashboard "sales-overveiw"`, `did you mean "sales-overview"`)
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--sheet", "by-regoin")
	qsWantError(t, o, e, c, ExitUsage, `has no sheet "by-regoin"`, `did you mean "by-region"`)
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--visual", "country-tabel")
	qsWantError(t, o, e, c, ExitUsage, `no visual "country-tabel"`, `"country-table"`)
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--visual", "total-revenue", "--format", "excel")
	qsWantError(t, o, e, c, ExitUsage, "is a KPI", "table and pivot table")
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--param", "Regio=EMEA")
	qsWantError(t, o, e, c, ExitUsage, `no parameter "Regio"`, `"Region"`)
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--format", "png")
	qsWantError(t, o, e, c, ExitUsage, `unknown format "png"`)
	o, e, c = snap("--dashboard", "sales-overview", "--as", "nobody@example.com")
	qsWantError(t, o, e, c, ExitUsage, "no QuickSight user nobody@example.com in namespace default")
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--namespace", "emea")
	qsWantError(t, o, e, c, ExitUsage, `namespace "emea" not found`)
	o, e, c = snap("--dashboard", "sales-overview", "--as", "erin@example.com")
	qsWantError(t, o, e, c, ExitUsage, "erin@example.com is an IAM Identity Center user", "--identity-center")
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--role-arn", "arn:aws:iam::123456789012:role/tip-no-setcontext")
	qsWantError(t, o, e, c, ExitAWS, "tip-no-setcontext cannot be assumed", "sts:SetContext")
	o, e, c = snap("--dashboard", "sales-overview", "--prefix", "x")
	qsWantError(t, o, e, c, ExitUsage, "--prefix needs --bucket")
	if n := sb.Env.Stats.Get("quicksight:StartDashboardSnapshotJob"); n != 0 {
		t.Fatalf("%d jobs started on bad input", n)
	}

	// A job that fails: its ErrorInfo, exit code 5.
	o, e, c = snap("--dashboard", "sales-overview", "--as", "alice@example.com", "--sheet", "overview", "--bucket", "no-such-bucket")
	qsWantError(t, o, e, c, ExitAWS, "FAILED: S3_BUCKET_NOT_FOUND", "no-such-bucket", "check --bucket")
}

func TestQuickSightCredentials(t *testing.T) {
	sb := qsSandbox(t)
	stdout, stderr, code := run(t, "quicksight", "credentials", "--email", "alice@example.com")
	if code != 0 || stderr != "" {
		t.Fatalf("%d %q", code, stderr)
	}
	var pc processCreds
	if err := json.Unmarshal([]byte(stdout), &pc); err != nil || pc.Version != 1 || !strings.HasPrefix(pc.AccessKeyId, "ASIA") || pc.Expiration == "" {
		t.Fatalf("credential_process output %q: %v", stdout, err)
	}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(pc.AccessKeyId, pc.SecretAccessKey, pc.SessionToken)}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:sts::123456789012:assumed-role/quicksight-snapshots/tipctl-qs-alice@example.com" {
		t.Fatalf("caller %v %v", aws.ToString(who.Arn), err)
	}
	if p, ok := sb.Env.Registry.Resolve(pc.AccessKeyId, pc.SessionToken); !ok || p.Context == nil || !strings.HasSuffix(p.Context.QuickSightUserArn, ":user/default/alice") {
		t.Fatalf("the session does not carry QuickSight user alice: %+v", p)
	}
	// Cached; --force-new mints again.
	calls := sb.Env.Stats.Get("quicksight:GetIdentityContext")
	stdout2, _, _ := run(t, "quicksight", "credentials", "--email", "alice@example.com")
	var pc2 processCreds
	_ = json.Unmarshal([]byte(stdout2), &pc2)
	if pc2.AccessKeyId != pc.AccessKeyId || sb.Env.Stats.Get("quicksight:GetIdentityContext") != calls {
		t.Errorf("the second call was not served from the cache")
	}
	stdout3, _, _ := run(t, "quicksight", "credentials", "--user-name", "alice", "--force-new")
	var pc3 processCreds
	_ = json.Unmarshal([]byte(stdout3), &pc3)
	if pc3.AccessKeyId == "" || pc3.AccessKeyId == pc.AccessKeyId {
		t.Errorf("--force-new: %q", stdout3)
	}

	o, e, c := run(t, "quicksight", "credentials")
	qsWantError(t, o, e, c, ExitUsage, "exactly one of --email, --user-name or --user-arn")
	o, e, c = run(t, "quicksight", "credentials", "--email", "alice@example.com", "--user-name", "alice")
	qsWantError(t, o, e, c, ExitUsage, "(2 given)")
	o, e, c = run(t, "quicksight", "credentials", "--email", "alice@exmaple.com")
	qsWantError(t, o, e, c, ExitUsage, "no QuickSight user alice@exmaple.com", `did you mean "alice@example.com"`)
	o, e, c = run(t, "quicksight", "credentials", "--user-name", "erin")
	qsWantError(t, o, e, c, ExitUsage, "IAM Identity Center user", "tipctl auth login")
	o, e, c = run(t, "quicksight", "credentials", "--email", "alice@example.com", "--role-arn", "arn:aws:iam::123456789012:role/tip-no-setcontext")
	qsWantError(t, o, e, c, ExitAWS, "cannot be assumed")
	o, e, c = run(t, "quicksight", "credentials", "--email", "alice@example.com", "--namespace", "nope")
	qsWantError(t, o, e, c, ExitUsage, `namespace "nope" not found`)
}

// TestQuickSightRoleWithoutSetContext: a role that trusts the
// administrator for sts:AssumeRole but not sts:SetContext.
func TestQuickSightRoleWithoutSetContext(t *testing.T) {
	y := string(sandboxWorldYAML(t))
	old := "              AWS: arn:aws:iam::123456789012:role/tip-bridge\n            Action: sts:AssumeRole\n"
	if !strings.Contains(y, old) {
		t.Fatal("the default world's tip-no-setcontext trust policy changed")
	}
	y = strings.Replace(y, old, "              AWS: [arn:aws:iam::123456789012:role/tip-bridge, arn:aws:iam::123456789012:user/admin]\n            Action: sts:AssumeRole\n", 1)
	sb := ststest.Sandbox(t, []byte(y))
	home(t)
	if _, stderr, code := run(t, "configure", "sandbox", "--endpoint", sb.URL()); code != 0 {
		t.Fatal(stderr)
	}
	o, e, c := run(t, "quicksight", "snapshot", "--dashboard", "sales-overview", "--as", "alice@example.com", "--out", t.TempDir(),
		"--role-arn", "arn:aws:iam::123456789012:role/tip-no-setcontext")
	qsWantError(t, o, e, c, ExitAWS, "not with an identity context", "sts:SetContext", `"Action": "sts:SetContext"`, "arn:aws:iam::aws:contextProvider/QuickSight")
}

func TestQuickSightDashboards(t *testing.T) {
	qsSandbox(t)
	stdout, stderr, code := run(t, "quicksight", "dashboards")
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	for _, want := range []string{`sales-overview  "Sales Overview"  version 3`, "parameters: Region (string), Product (string)",
		`sheet by-region`, "country-table", "PIVOT_TABLE", "pdf csv excel", "total-revenue", "KPI"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dashboards lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, code = run(t, "quicksight", "dashboards", "-o", "json")
	var list []quicksight.Dashboard
	if code != 0 || json.Unmarshal([]byte(stdout), &list) != nil || len(list) != 2 || len(list[0].Sheets) != 2 || len(list[0].Sheets[1].Visuals) != 3 {
		t.Fatalf("%d %s", code, stdout)
	}
}

// TestQuickSightNoWaitAndStatus: start, return, then follow the job and
// download its files.
func TestQuickSightNoWaitAndStatus(t *testing.T) {
	sb := qsSandbox(t)
	stdout, stderr, code := run(t, "quicksight", "snapshot", "--dashboard", "sales-overview", "--as", "alice@example.com",
		"--sheet", "by-region", "--format", "csv", "--job-id", "nw1", "--no-wait")
	if code != 0 || stdout != "nw1\n" || !strings.Contains(stderr, "snapshot-status nw1 --dashboard sales-overview --as alice@example.com --download") {
		t.Fatalf("%d %q %q", code, stdout, stderr)
	}
	out := t.TempDir()
	var st quicksight.JobStatus
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		stdout, stderr, code = run(t, "quicksight", "snapshot-status", "nw1", "--dashboard", "sales-overview", "--as", "alice@example.com",
			"--download", "--out", out, "-o", "json")
		if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil {
			t.Fatalf("%d %s %s", code, stdout, stderr)
		}
		if st.Status == quicksight.StatusCompleted {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Status != quicksight.StatusCompleted || len(st.Files) != 3 {
		t.Fatalf("%+v", st)
	}
	var paths []string
	for _, f := range st.Files {
		paths = append(paths, f.Path)
	}
	quicksighttest.CheckFiles(t, sb.Env.World, "alice@example.com", paths)
	stdout, _, code = run(t, "quicksight", "snapshot-status", "nw1", "--dashboard", "Sales Overview", "--as", "alice")
	if code != 0 || !strings.Contains(stdout, "Status:     COMPLETED") || !strings.Contains(stdout, "CSV by-region (sales-detail): download URL") {
		t.Errorf("%d %s", code, stdout)
	}
	o, e, c := run(t, "quicksight", "snapshot-status", "nw1", "--dashboard", "sales-overview", "--as", "carol@example.com")
	qsWantError(t, o, e, c, ExitAWS, "another user")
	o, e, c = run(t, "quicksight", "snapshot-status", "nope", "--dashboard", "sales-overview", "--as", "alice@example.com")
	qsWantError(t, o, e, c, ExitUsage, "nope not found")
}

// articleJSON is the article's --cli-input-json document, placeholders in.
const articleJSON = `{
  "AwsAccountId": "<<aws account id>>",
  "DashboardId": "<<extracted dashboard id>>",
  "SnapshotJobId": "Snapshot1",
  "UserConfiguration":{
        "AnonymousUsers":[{}]
    },
  "SnapshotConfiguration":{
        "FileGroups":[
                {
                    "Files":[
                        {
                            "SheetSelections":[
                                    {
                                        "SheetId":"<<extracted sheet id>>",
                                        "SelectionScope":"ALL_VISUALS"
                                    }
                            ],
                            "FormatType":"PDF"
                        }
                    ]
                }
            ],
        "DestinationConfiguration":{
            "S3Destinations":[
                                {
                                "BucketConfiguration": { "BucketName" : "quicksight-snapshots" , "BucketPrefix" : "prefix123" , "BucketRegion" : "eu-central-1" }
                                }
                              ]
        },
        "Parameters": {
        }
    }
}`

// filledArticle is the article's document as a user fills it in for the
// sandbox.
func filledArticle() string {
	return strings.NewReplacer(`<<aws account id>>`, "123456789012", `<<extracted dashboard id>>`, "sales-overview",
		`<<extracted sheet id>>`, "overview", `eu-central-1`, "us-east-1").Replace(articleJSON)
}

func TestQuickSightCLIInputJSON(t *testing.T) {
	sb := qsSandbox(t)
	dir := t.TempDir()
	template := filepath.Join(dir, "template.json")
	filled := filepath.Join(dir, "quicksight-config.json")
	if err := os.WriteFile(template, []byte(articleJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filled, []byte(filledArticle()), 0o600); err != nil {
		t.Fatal(err)
	}
	o, e, c := run(t, "quicksight", "snapshot", "--cli-input-json", "file://"+template, "--as", "alice@example.com")
	qsWantError(t, o, e, c, ExitUsage, "DashboardId", "still a template placeholder")
	o, e, c = run(t, "quicksight", "snapshot", "--cli-input-json", "file://"+filled, "--as", "alice@example.com", "--format", "csv")
	qsWantError(t, o, e, c, ExitUsage, "either --cli-input-json's FileGroups or --sheet/--visual/--format")

	// Two PDFs are more than one job makes: refused locally, with the path.
	twoPDFs := strings.Replace(filledArticle(), `"FileGroups":[`, `"FileGroups":[{"Files":[{"FormatType":"PDF","SheetSelections":[{"SheetId":"by-region","SelectionScope":"ALL_VISUALS"}]}]},`, 1)
	two := filepath.Join(dir, "two.json")
	if err := os.WriteFile(two, []byte(twoPDFs), 0o600); err != nil {
		t.Fatal(err)
	}
	o, e, c = run(t, "quicksight", "snapshot", "--cli-input-json", two, "--as", "alice@example.com")
	qsWantError(t, o, e, c, ExitUsage, "at most 1 PDF; SnapshotConfiguration.FileGroups[1].Files[0] asks for another")
	if n := sb.Env.Stats.Get("quicksight:StartDashboardSnapshotJob"); n != 0 {
		t.Fatalf("%d jobs started on bad input", n)
	}

	out := t.TempDir()
	stdout, stderr, code := run(t, "quicksight", "snapshot", "--cli-input-json", "file://"+filled, "--as", "alice@example.com", "--out", out)
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	if !strings.Contains(stderr, "UserConfiguration of --cli-input-json left out") || stdout != filepath.Join(out, "overview.pdf")+"\n" {
		t.Fatalf("stdout %q stderr %q", stdout, stderr)
	}
	quicksighttest.CheckFiles(t, sb.Env.World, "alice@example.com", qsLines(stdout))
}

// sandboxWorldYAML is the default world's YAML.
func sandboxWorldYAML(t *testing.T) []byte {
	t.Helper()
	stdout, stderr, code := run(t, "sandbox", "world")
	if code != 0 {
		t.Fatalf("sandbox world: %d %s", code, stderr)
	}
	return []byte(stdout)
}

var (
	qsBinOnce sync.Once
	qsBin     string
	qsBinErr  error
)

// qsTipctlBinary builds cmd/tipctl once for tests that run it as a child
// process (the AWS CLI's credential_process).
func qsTipctlBinary(t *testing.T) string {
	t.Helper()
	qsBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tipctl-qs-bin-")
		if err != nil {
			qsBinErr = err
			return
		}
		qsBin = filepath.Join(dir, "tipctl")
		out, err := exec.Command("go", "build", "-o", qsBin, "github.com/tipctl/tipctl/cmd/tipctl").CombinedOutput()
		if err != nil {
			qsBinErr = errors.New(string(out))
		}
	})
	if qsBinErr != nil {
		t.Fatalf("building tipctl: %v", qsBinErr)
	}
	return qsBin
}

// TestAWSCLIQuickSightFlow: the article's steps with the real AWS CLI
// against the sandbox (get-identity-context, sts assume-role
// --provided-contexts, start-dashboard-snapshot-job --cli-input-json),
// then tipctl picks up the AWS CLI's job, and the AWS CLI uses
// `tipctl quicksight credentials` as its credential_process.
func TestAWSCLIQuickSightFlow(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH: skipping the cross-check with the real AWS CLI")
	}
	sb := qsSandbox(t)
	if out, err := exec.Command(awsBin, "quicksight", "get-identity-context", "help").CombinedOutput(); err != nil {
		t.Skipf("this AWS CLI has no quicksight get-identity-context (botocore too old): %v %s", err, out)
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_CONFIG_FILE="+cfgFile, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=2")
	awsCLI := func(creds []string, args ...string) (map[string]any, string, int) {
		t.Helper()
		cmd := exec.Command(awsBin, append(args, "--endpoint-url", sb.URL(), "--output", "json")...)
		cmd.Env = append(append([]string{}, env...), creds...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if code == 0 && out.Len() > 0 {
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatalf("aws %s: %v: %s", strings.Join(args, " "), err, out.String())
			}
		}
		return v, errb.String(), code
	}
	admin := []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test"}

	// 1. The identity context, as the article gets it.
	v, stderr, code := awsCLI(admin, "quicksight", "get-identity-context", "--aws-account-id", "123456789012",
		"--user-identifier", `{"Email": "alice@example.com"}`, "--namespace", "default")
	ctxAssertion, _ := v["Context"].(string)
	if code != 0 || ctxAssertion == "" {
		t.Fatalf("get-identity-context: %d %s %v", code, stderr, v)
	}
	// 2. The identity-enhanced session.
	contexts, _ := json.Marshal([]map[string]string{{"ProviderArn": quicksight.QuickSightContextProvider, "ContextAssertion": ctxAssertion}})
	v, stderr, code = awsCLI(admin, "sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/quicksight-snapshots",
		"--role-session-name", "test123", "--provided-contexts", string(contexts))
	if code != 0 {
		t.Fatalf("assume-role: %d %s", code, stderr)
	}
	c := v["Credentials"].(map[string]any)
	enhanced := []string{"AWS_ACCESS_KEY_ID=" + c["AccessKeyId"].(string), "AWS_SECRET_ACCESS_KEY=" + c["SecretAccessKey"].(string),
		"AWS_SESSION_TOKEN=" + c["SessionToken"].(string)}

	// 3. The article's document as is: identity-enhanced credentials must
	// leave UserConfiguration out, which is the pitfall tipctl removes.
	seed := filepath.Join(dir, "quicksight-config.json")
	if err := os.WriteFile(seed, []byte(filledArticle()), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = awsCLI(enhanced, "quicksight", "start-dashboard-snapshot-job", "--cli-input-json", "file://"+seed)
	if code == 0 || !strings.Contains(stderr, "InvalidParameterValueException") || !strings.Contains(stderr, "UserConfiguration must be left out") {
		t.Fatalf("the article's document with identity-enhanced credentials: %d %s", code, stderr)
	}
	in, err := quicksight.ParseCLIInputJSON([]byte(filledArticle()))
	if err != nil {
		t.Fatal(err)
	}
	in.UserConfiguration = nil
	fixed, _ := in.JSON()
	if err := os.WriteFile(seed, fixed, 0o600); err != nil {
		t.Fatal(err)
	}
	v, stderr, code = awsCLI(enhanced, "quicksight", "start-dashboard-snapshot-job", "--cli-input-json", "file://"+seed)
	if code != 0 || v["SnapshotJobId"] != "Snapshot1" {
		t.Fatalf("start-dashboard-snapshot-job: %d %s %v", code, stderr, v)
	}

	// 4. tipctl follows the AWS CLI's job as the same QuickSight user and
	// downloads its PDF from the bucket.
	out := t.TempDir()
	var st quicksight.JobStatus
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		stdout, stderr, code := run(t, "quicksight", "snapshot-status", "Snapshot1", "--dashboard", "sales-overview",
			"--as", "alice@example.com", "--download", "--out", out, "-o", "json")
		if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil {
			t.Fatalf("snapshot-status: %d %s %s", code, stdout, stderr)
		}
		if st.Status == quicksight.StatusCompleted {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(st.Files) != 1 || !strings.HasPrefix(st.Files[0].Source, "s3://quicksight-snapshots/prefix123/") {
		t.Fatalf("%+v", st)
	}
	quicksighttest.CheckFiles(t, sb.Env.World, "alice@example.com", []string{st.Files[0].Path})

	// 5. The AWS CLI with tipctl as its credential_process.
	bin := qsTipctlBinary(t)
	profile := "[profile alice-qs]\ncredential_process = " + bin + " quicksight credentials --email alice@example.com\nregion = us-east-1\n"
	if err := os.WriteFile(cfgFile, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	v, stderr, code = awsCLI(nil, "quicksight", "describe-dashboard-snapshot-job", "--profile", "alice-qs", "--aws-account-id", "123456789012",
		"--dashboard-id", "sales-overview", "--snapshot-job-id", "Snapshot1")
	if code != 0 || v["JobStatus"] != "COMPLETED" {
		t.Fatalf("describe-dashboard-snapshot-job with credential_process: %d %s %v", code, stderr, v)
	}
	v, stderr, code = awsCLI(nil, "sts", "get-caller-identity", "--profile", "alice-qs")
	if code != 0 || !strings.Contains(v["Arn"].(string), "assumed-role/quicksight-snapshots/tipctl-qs-alice@example.com") {
		t.Fatalf("get-caller-identity: %d %s %v", code, stderr, v)
	}
}

// TestQuickSightBaseAWSProfile: without sandbox keys, the administrator
// credentials come from the AWS profile named base_aws_profile.
func TestQuickSightBaseAWSProfile(t *testing.T) {
	sb := qsSandbox(t)
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Get("default")
	if err != nil {
		t.Fatal(err)
	}
	p.SandboxAdminKeyID, p.SandboxAdminSecretKey, p.BaseAWSProfile = "", "", "sbadmin"
	p.QuickSightRoleARN = "arn:aws:iam::123456789012:role/quicksight-snapshots"
	if err := cfg.Set(p); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Save(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	awsCfg := filepath.Join(dir, "config")
	if err := os.WriteFile(awsCfg, []byte("[profile sbadmin]\naws_access_key_id = test\naws_secret_access_key = test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", awsCfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv(qsNestedEnv, "")
	stdout, stderr, code := run(t, "quicksight", "credentials", "--email", "alice@example.com")
	var pc processCreds
	if code != 0 || json.Unmarshal([]byte(stdout), &pc) != nil || !strings.HasPrefix(pc.AccessKeyId, "ASIA") {
		t.Fatalf("%d %q %q", code, stdout, stderr)
	}
	if p, ok := sb.Env.Registry.Resolve(pc.AccessKeyId, pc.SessionToken); !ok || p.Context == nil || !strings.HasSuffix(p.Context.QuickSightUserArn, "/alice") {
		t.Fatalf("%+v", p)
	}
	// A named profile that has no credentials: a clear configuration error.
	p.BaseAWSProfile = "missing"
	_ = cfg.Set(p)
	_ = cfg.Save()
	t.Setenv(qsNestedEnv, "")
	o, e, c := run(t, "quicksight", "dashboards")
	qsWantError(t, o, e, c, ExitConfig, "needs administrator credentials", "AWS profile missing (base_aws_profile)", "set base_aws_profile in profile default")
}
