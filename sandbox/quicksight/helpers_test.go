package quicksight_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/world"
)

const account = "123456789012"

// memStore is an in-memory env.ObjectStore with the buckets it was made with.
type memStore struct {
	mu    sync.Mutex
	objs  map[string]map[string][]byte
	types map[string]string
}

func newMemStore(buckets ...string) *memStore {
	m := &memStore{objs: map[string]map[string][]byte{}, types: map[string]string{}}
	for _, b := range buckets {
		m.objs[b] = map[string][]byte{}
	}
	return m
}

func (m *memStore) PutObject(bucket, key string, body []byte, contentType string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs[bucket] == nil {
		return fmt.Errorf("no bucket %s", bucket)
	}
	m.objs[bucket][key] = bytes.Clone(body)
	m.types[bucket+"/"+key] = contentType
	return nil
}

func (m *memStore) GetObject(bucket, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[bucket][key]
	if !ok {
		return nil, fmt.Errorf("no object s3://%s/%s", bucket, key)
	}
	return b, nil
}

func (m *memStore) BucketExists(bucket string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objs[bucket] != nil
}

// fetch reads an s3:// URI from the store.
func (m *memStore) fetch(t testing.TB, uri string) []byte {
	t.Helper()
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, key, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		t.Fatalf("S3Uri %q is not s3://bucket/key", uri)
	}
	b, err := m.GetObject(bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// timedWorld is the default world with other snapshot job timings.
func timedWorld(queued, running string) []byte {
	y := string(world.DefaultYAML())
	old := "snapshot_jobs:\n    queued: 100ms\n    running: 300ms"
	if !strings.Contains(y, old) {
		panic("default world has no snapshot_jobs block")
	}
	return []byte(strings.Replace(y, old, "snapshot_jobs:\n    queued: "+queued+"\n    running: "+running, 1))
}

// start runs a sandbox (the default world when worldYAML is nil) whose
// snapshot files go to an in-memory store with the bucket "snapshots".
func start(t testing.TB, worldYAML []byte) (*sandbox.Sandbox, *memStore) {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{WorldYAML: worldYAML})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	store := newMemStore("snapshots")
	sb.Env.Objects = store
	return sb, store
}

func client(sb *sandbox.Sandbox, akid, secret, token string) *qs.Client {
	return qs.New(qs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(sb.URL()),
		RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token}, nil
		}),
	})
}

func admin(sb *sandbox.Sandbox) *qs.Client { return client(sb, "test", "test", "") }

func clientFor(sb *sandbox.Sandbox, p *auth.Principal) *qs.Client {
	return client(sb, p.AccessKeyID, p.SecretAccessKey, p.SessionToken)
}

// identityContext asks for a user's context by email as the administrator.
func identityContext(t testing.TB, sb *sandbox.Sandbox, email string) string {
	t.Helper()
	out, err := admin(sb).GetIdentityContext(context.Background(), &qs.GetIdentityContextInput{
		AwsAccountId:   aws.String(account),
		UserIdentifier: &types.UserIdentifierMemberEmail{Value: email},
		Namespace:      aws.String("default"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Context == nil || *out.Context == "" {
		t.Fatal("GetIdentityContext returned no Context")
	}
	return *out.Context
}

// session makes a session of role carrying ctx (identity-enhanced unless
// nil), as sts:AssumeRole with ProvidedContexts would.
func session(t testing.TB, sb *sandbox.Sandbox, role string, ctx *auth.IdentityContext) *auth.Principal {
	t.Helper()
	r, ok := sb.Env.IAM.RoleByName(role)
	if !ok {
		t.Fatalf("no role %s", role)
	}
	name := "plain"
	if ctx != nil {
		name = "snap-" + strings.NewReplacer("/", "-", "@", "-").Replace(ctx.UserName)
	}
	p := &auth.Principal{AccountID: account, Arn: "arn:aws:sts::" + account + ":assumed-role/" + r.Name + "/" + name,
		UserID: r.RoleID + ":" + name, RoleArn: r.Arn, RoleName: r.Name, SessionName: name,
		Policies: r.Policies, Context: ctx}
	return sb.Env.Registry.IssueSession(p, sb.Env.Now().Add(time.Hour))
}

// quickSightSession is alice's (or anyone's) identity-enhanced session made
// from GetIdentityContext, on the quicksight-snapshots role.
func quickSightSession(t testing.TB, sb *sandbox.Sandbox, email string) *auth.Principal {
	t.Helper()
	ctx, err := sb.Env.Sealer.OpenContext(identityContext(t, sb, email), auth.QuickSightProvider, sb.Env.Now())
	if err != nil {
		t.Fatal(err)
	}
	return session(t, sb, "quicksight-snapshots", ctx)
}

// wantAPIError checks the modeled error code and HTTP status.
func wantAPIError(t testing.TB, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("%s: HTTP status %d, want %d", code, re.HTTPStatusCode(), status)
	}
	if ae.ErrorMessage() == "" {
		t.Fatalf("%s has no message", code)
	}
}

func dest(bucket string) *types.SnapshotDestinationConfiguration {
	return &types.SnapshotDestinationConfiguration{S3Destinations: []types.SnapshotS3DestinationConfiguration{{
		BucketConfiguration: &types.S3BucketConfiguration{BucketName: aws.String(bucket),
			BucketPrefix: aws.String("exports"), BucketRegion: aws.String("us-east-1")}}}}
}

func pdfFile(sheet string) types.SnapshotFileGroup {
	return types.SnapshotFileGroup{Files: []types.SnapshotFile{{FormatType: types.SnapshotFileFormatTypePdf,
		SheetSelections: []types.SnapshotFileSheetSelection{{SheetId: aws.String(sheet),
			SelectionScope: types.SnapshotFileSheetSelectionScopeAllVisuals}}}}}
}

func csvFile(sheet, visual string) types.SnapshotFileGroup {
	return types.SnapshotFileGroup{Files: []types.SnapshotFile{{FormatType: types.SnapshotFileFormatTypeCsv,
		SheetSelections: []types.SnapshotFileSheetSelection{{SheetId: aws.String(sheet),
			SelectionScope: types.SnapshotFileSheetSelectionScopeSelectedVisuals, VisualIds: []string{visual}}}}}}
}

func excelFile(sheet string, visuals ...string) types.SnapshotFileGroup {
	return types.SnapshotFileGroup{Files: []types.SnapshotFile{{FormatType: types.SnapshotFileFormatTypeExcel,
		SheetSelections: []types.SnapshotFileSheetSelection{{SheetId: aws.String(sheet),
			SelectionScope: types.SnapshotFileSheetSelectionScopeSelectedVisuals, VisualIds: visuals}}}}}
}

func startJob(c *qs.Client, id string, users *types.SnapshotUserConfiguration, cfg *types.SnapshotConfiguration) (*qs.StartDashboardSnapshotJobOutput, error) {
	return c.StartDashboardSnapshotJob(context.Background(), &qs.StartDashboardSnapshotJobInput{
		AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"),
		SnapshotJobId: aws.String(id), UserConfiguration: users, SnapshotConfiguration: cfg})
}

// wait polls DescribeDashboardSnapshotJob until the job ends.
func wait(t testing.TB, c *qs.Client, id string) *qs.DescribeDashboardSnapshotJobOutput {
	t.Helper()
	return waitEvery(t, c, id, 20*time.Millisecond)
}

func waitEvery(t testing.TB, c *qs.Client, id string, every time.Duration) *qs.DescribeDashboardSnapshotJobOutput {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := c.DescribeDashboardSnapshotJob(context.Background(), &qs.DescribeDashboardSnapshotJobInput{
			AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if out.JobStatus == types.SnapshotJobStatusCompleted || out.JobStatus == types.SnapshotJobStatusFailed {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, out.JobStatus)
		}
		time.Sleep(every)
	}
}

func result(t testing.TB, c *qs.Client, id string) *qs.DescribeDashboardSnapshotJobResultOutput {
	t.Helper()
	out, err := c.DescribeDashboardSnapshotJobResult(context.Background(), &qs.DescribeDashboardSnapshotJobResultInput{
		AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// salesRows are the default world's sales rows, straight from the generator.
func salesRows(t testing.TB) [][]string {
	t.Helper()
	w, err := world.Default("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	return w.QuickSight.Datasets[0].Generator.Generate()
}

func filterRows(rows [][]string, keep func([]string) bool) [][]string {
	var out [][]string
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// cents sums a money column exactly.
func cents(rows [][]string, col int) int64 {
	var total int64
	for _, r := range rows {
		whole, frac, _ := strings.Cut(r[col], ".")
		frac = (frac + "00")[:2]
		w, err1 := strconv.ParseInt(whole, 10, 64)
		f, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil {
			panic("not money: " + r[col])
		}
		total += w*100 + f
	}
	return total
}
