package quicksight_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox"
)

const qsArn = "arn:aws:quicksight:us-east-1:123456789012:"

func search(t *testing.T, c *qs.Client, name types.DashboardFilterAttribute, op types.FilterOperator, value string) []string {
	t.Helper()
	var ids []string
	p := qs.NewSearchDashboardsPaginator(c, &qs.SearchDashboardsInput{AwsAccountId: aws.String(account), MaxResults: aws.Int32(1),
		Filters: []types.DashboardSearchFilter{{Name: name, Operator: op, Value: aws.String(value)}}})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("SearchDashboards %s %s: %v", name, value, err)
		}
		for _, d := range out.DashboardSummaryList {
			ids = append(ids, aws.ToString(d.DashboardId))
		}
	}
	slices.Sort(ids)
	return ids
}

func perms(t *testing.T, c *qs.Client, id string) map[string]string {
	t.Helper()
	out, err := c.DescribeDashboardPermissions(context.Background(), &qs.DescribeDashboardPermissionsInput{
		AwsAccountId: aws.String(account), DashboardId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeDashboardPermissions %s: %v", id, err)
	}
	if aws.ToString(out.DashboardArn) != qsArn+"dashboard/"+id {
		t.Fatalf("DashboardArn %s", aws.ToString(out.DashboardArn))
	}
	m := map[string]string{}
	for _, p := range out.Permissions {
		role := "viewer"
		if slices.Contains(p.Actions, "quicksight:UpdateDashboardPermissions") {
			role = "owner"
		}
		if role == "viewer" && len(p.Actions) != 3 || role == "owner" && len(p.Actions) != 8 {
			t.Fatalf("%s: actions %v", aws.ToString(p.Principal), p.Actions)
		}
		m[strings.TrimPrefix(aws.ToString(p.Principal), qsArn)] = role
	}
	return m
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

var (
	viewer = []string{"quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"}
	owner  = append(slices.Clone(viewer), "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPermissions",
		"quicksight:UpdateDashboard", "quicksight:DeleteDashboard", "quicksight:UpdateDashboardPublishedVersion")
)

// The default world's permissions, read and searched with the SDK the way
// an application lists one person's dashboards.
func TestDashboardPermissionsAndSearch(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	c := admin(sb)
	if got := perms(t, c, "emea-pipeline"); len(got) != 3 || got["user/default/alice"] != "owner" ||
		got["group/default/emea-sales"] != "viewer" || got["group/default/exec-global"] != "viewer" {
		t.Fatalf("emea-pipeline permissions %v", got)
	}
	if got := perms(t, c, "sales-overview"); len(got) != 4 || got["user/default/carol"] != "owner" || got["group/default/apac-sales"] != "viewer" {
		t.Fatalf("sales-overview permissions %v", got)
	}
	user := func(n string) string { return qsArn + "user/default/" + n }
	for _, c2 := range []struct {
		filter types.DashboardFilterAttribute
		value  string
		want   []string
	}{
		{types.DashboardFilterAttributeQuicksightViewerOrOwner, user("alice"), []string{"emea-pipeline", "sales-overview"}},
		{types.DashboardFilterAttributeQuicksightUser, user("alice"), []string{"emea-pipeline", "sales-overview"}},
		// bob (an IAM user of QuickSight, name with a slash) is in apac-sales only.
		{types.DashboardFilterAttributeQuicksightViewerOrOwner, user("tip-enhanced/bob@example.com"), []string{"sales-overview"}},
		{types.DashboardFilterAttributeQuicksightViewerOrOwner, user("erin"), []string{"emea-pipeline", "sales-overview"}},
		// Direct: only what names alice herself (she owns emea-pipeline).
		{types.DashboardFilterAttributeDirectQuicksightViewerOrOwner, user("alice"), []string{"emea-pipeline"}},
		{types.DashboardFilterAttributeDirectQuicksightViewerOrOwner, user("erin"), nil},
		{types.DashboardFilterAttributeQuicksightOwner, user("carol"), []string{"sales-overview"}},
		{types.DashboardFilterAttributeDirectQuicksightOwner, user("alice"), []string{"emea-pipeline"}},
		{types.DashboardFilterAttributeDirectQuicksightSoleOwner, user("alice"), []string{"emea-pipeline"}},
		{types.DashboardFilterAttributeQuicksightOwner, user("bob"), nil},
		{types.DashboardFilterAttributeQuicksightViewerOrOwner, qsArn + "group/default/apac-sales", []string{"sales-overview"}},
		{types.DashboardFilterAttributeDirectQuicksightViewerOrOwner, qsArn + "group/default/analysts", nil},
	} {
		op := types.FilterOperatorStringEquals
		if c2.value == user("bob") {
			// No QuickSight user is called "bob": a clear not-found.
			_, err := c.SearchDashboards(context.Background(), &qs.SearchDashboardsInput{AwsAccountId: aws.String(account),
				Filters: []types.DashboardSearchFilter{{Name: c2.filter, Operator: op, Value: aws.String(c2.value)}}})
			if apiCode(err) != "ResourceNotFoundException" {
				t.Errorf("unknown user: %v", err)
			}
			continue
		}
		if got := search(t, c, c2.filter, op, c2.value); !slices.Equal(got, c2.want) {
			t.Errorf("%s %s = %v, want %v", c2.filter, c2.value, got, c2.want)
		}
	}
	if got := search(t, c, types.DashboardFilterAttributeDashboardName, types.FilterOperatorStringLike, "pipe"); !slices.Equal(got, []string{"emea-pipeline"}) {
		t.Errorf("DASHBOARD_NAME pipe = %v", got)
	}

	for _, bad := range []types.DashboardSearchFilter{
		{Name: types.DashboardFilterAttributeDashboardName, Operator: types.FilterOperatorStringEquals, Value: aws.String("x")},
		{Name: types.DashboardFilterAttributeQuicksightOwner, Operator: types.FilterOperatorStringLike, Value: aws.String("x")},
		{Name: types.DashboardFilterAttributeQuicksightOwner, Operator: types.FilterOperatorStringEquals, Value: aws.String("alice")},
		{Name: types.DashboardFilterAttributeQuicksightOwner, Operator: types.FilterOperatorStringEquals, Value: aws.String(qsArn + "namespace/default")},
	} {
		_, err := c.SearchDashboards(context.Background(), &qs.SearchDashboardsInput{AwsAccountId: aws.String(account), Filters: []types.DashboardSearchFilter{bad}})
		if apiCode(err) != "InvalidParameterValueException" {
			t.Errorf("filter %s %s %s: %v", bad.Name, bad.Operator, aws.ToString(bad.Value), err)
		}
	}
}

// UpdateDashboardPermissions changes who may view: search, snapshot jobs
// and DescribeDashboardPermissions all follow.
func TestUpdateDashboardPermissions(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	c := admin(sb)
	ctx := context.Background()
	bob := qsArn + "user/default/tip-enhanced/bob@example.com"
	update := func(grant, revoke []types.ResourcePermission) error {
		_, err := c.UpdateDashboardPermissions(ctx, &qs.UpdateDashboardPermissionsInput{AwsAccountId: aws.String(account),
			DashboardId: aws.String("emea-pipeline"), GrantPermissions: grant, RevokePermissions: revoke})
		return err
	}
	if got := search(t, c, types.DashboardFilterAttributeQuicksightViewerOrOwner, types.FilterOperatorStringEquals, bob); !slices.Equal(got, []string{"sales-overview"}) {
		t.Fatalf("bob before: %v", got)
	}
	if st := snapshotAs(t, sb, "bob@example.com", "emea-pipeline", "pipeline"); st != "AccessDeniedException" {
		t.Fatalf("bob's snapshot before the grant: %s", st)
	}
	if err := update([]types.ResourcePermission{{Principal: aws.String(bob), Actions: viewer}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := search(t, c, types.DashboardFilterAttributeQuicksightViewerOrOwner, types.FilterOperatorStringEquals, bob); !slices.Equal(got, []string{"emea-pipeline", "sales-overview"}) {
		t.Fatalf("bob after the grant: %v", got)
	}
	if st := snapshotAs(t, sb, "bob@example.com", "emea-pipeline", "pipeline"); st != string(types.SnapshotJobStatusCompleted) {
		t.Fatalf("bob's snapshot of a dashboard he may now view: %s", st)
	}
	if got := perms(t, c, "emea-pipeline")["user/default/tip-enhanced/bob@example.com"]; got != "viewer" {
		t.Fatalf("bob's permission %q", got)
	}
	// bob is a READER: he cannot be made an owner.
	if err := update([]types.ResourcePermission{{Principal: aws.String(bob), Actions: owner}}, nil); apiCode(err) != "InvalidParameterValueException" ||
		!strings.Contains(err.Error(), "READER") {
		t.Fatalf("READER made owner: %v", err)
	}
	// A partial action set is not a permission QuickSight knows.
	if err := update([]types.ResourcePermission{{Principal: aws.String(qsArn + "user/default/carol"), Actions: viewer[:1]}}, nil); apiCode(err) != "InvalidParameterValueException" {
		t.Fatalf("partial actions: %v", err)
	}
	for _, p := range []string{qsArn + "user/default/nobody", qsArn + "group/default/nope", "arn:aws:quicksight:us-east-1:999999999999:user/default/alice", qsArn + "user/other/alice"} {
		if err := update([]types.ResourcePermission{{Principal: aws.String(p), Actions: viewer}}, nil); apiCode(err) != "InvalidParameterValueException" {
			t.Fatalf("principal %s: %v", p, err)
		}
	}
	// Revoke the EMEA group: erin (emea-sales only) loses the dashboard,
	// alice keeps it as its owner.
	if err := update(nil, []types.ResourcePermission{{Principal: aws.String(qsArn + "group/default/emea-sales"), Actions: viewer}}); err != nil {
		t.Fatal(err)
	}
	if got := search(t, c, types.DashboardFilterAttributeQuicksightViewerOrOwner, types.FilterOperatorStringEquals, qsArn+"user/default/erin"); !slices.Equal(got, []string{"sales-overview"}) {
		t.Fatalf("erin after the revoke: %v", got)
	}
	if got := search(t, c, types.DashboardFilterAttributeQuicksightViewerOrOwner, types.FilterOperatorStringEquals, qsArn+"user/default/alice"); !slices.Equal(got, []string{"emea-pipeline", "sales-overview"}) {
		t.Fatalf("alice after the revoke: %v", got)
	}
	// Revoking everything leaves a dashboard nobody may view (not everyone).
	all := []types.ResourcePermission{{Principal: aws.String(qsArn + "user/default/alice"), Actions: owner},
		{Principal: aws.String(bob), Actions: viewer}, {Principal: aws.String(qsArn + "group/default/exec-global"), Actions: viewer}}
	if err := update(nil, all); err != nil {
		t.Fatal(err)
	}
	if got := perms(t, c, "emea-pipeline"); len(got) != 0 {
		t.Fatalf("after revoking all: %v", got)
	}
	if st := snapshotAs(t, sb, "bob@example.com", "emea-pipeline", "pipeline"); st != "AccessDeniedException" {
		t.Fatalf("bob's snapshot of a dashboard nobody may view: %s", st)
	}
	if got := search(t, c, types.DashboardFilterAttributeQuicksightViewerOrOwner, types.FilterOperatorStringEquals, qsArn+"user/default/carol"); !slices.Equal(got, []string{"sales-overview"}) {
		t.Fatalf("carol after revoking all: %v", got)
	}
	// Share with the whole namespace.
	if err := update([]types.ResourcePermission{{Principal: aws.String(qsArn + "namespace/default"), Actions: viewer}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := search(t, c, types.DashboardFilterAttributeQuicksightViewerOrOwner, types.FilterOperatorStringEquals, qsArn+"user/default/erin"); !slices.Equal(got, []string{"emea-pipeline", "sales-overview"}) {
		t.Fatalf("erin after sharing with the namespace: %v", got)
	}
	// The live world carries the change (export).
	var found bool
	sb.Env.Read(func() {
		for _, d := range sb.Env.World.QuickSight.Dashboards {
			if d.ID == "emea-pipeline" {
				found = slices.Equal(d.Viewers, []string{"namespace:default"}) && len(d.Owners) == 0
			}
		}
	})
	if !found {
		t.Fatal("the world does not hold emea-pipeline's new permissions")
	}
}

// snapshotAs runs a PDF snapshot job of sheet as the QuickSight user with
// email (identity-enhanced) and returns how it ended, or the error code
// that refused it.
func snapshotAs(t *testing.T, sb *sandbox.Sandbox, email, dashboard, sheet string) string {
	t.Helper()
	ctx := context.Background()
	c := clientFor(sb, quickSightSession(t, sb, email))
	id := aws.String(fmt.Sprintf("job-%d", time.Now().UnixNano()))
	if _, err := c.StartDashboardSnapshotJob(ctx, &qs.StartDashboardSnapshotJobInput{AwsAccountId: aws.String(account),
		DashboardId: aws.String(dashboard), SnapshotJobId: id,
		SnapshotConfiguration: &types.SnapshotConfiguration{FileGroups: []types.SnapshotFileGroup{pdfFile(sheet)}}}); err != nil {
		if apiCode(err) == "" {
			t.Fatal(err)
		}
		return apiCode(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		job, err := c.DescribeDashboardSnapshotJob(ctx, &qs.DescribeDashboardSnapshotJobInput{AwsAccountId: aws.String(account),
			DashboardId: aws.String(dashboard), SnapshotJobId: id})
		if err != nil {
			t.Fatal(err)
		}
		if job.JobStatus != types.SnapshotJobStatusQueued && job.JobStatus != types.SnapshotJobStatusRunning {
			return string(job.JobStatus)
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot job still %s after a minute", job.JobStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// boto3Permissions drives the permission APIs with botocore's own codec,
// models and paginator.
const boto3Permissions = `
import boto3, sys
ep = sys.argv[1]
q = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1").client("quicksight", endpoint_url=ep)
A, arn = "123456789012", "arn:aws:quicksight:us-east-1:123456789012:"
p = q.describe_dashboard_permissions(AwsAccountId=A, DashboardId="emea-pipeline")
print("perms=" + ",".join(sorted(x["Principal"][len(arn):] + "/" + str(len(x["Actions"])) for x in p["Permissions"])))
def search(user):
    pages = q.get_paginator("search_dashboards").paginate(AwsAccountId=A, PaginationConfig={"PageSize": 1},
        Filters=[{"Name": "QUICKSIGHT_VIEWER_OR_OWNER", "Operator": "StringEquals", "Value": arn + "user/default/" + user}])
    return ",".join(sorted(d["DashboardId"] for pg in pages for d in pg["DashboardSummaryList"]))
print("bob=" + search("tip-enhanced/bob@example.com"))
u = q.update_dashboard_permissions(AwsAccountId=A, DashboardId="emea-pipeline", GrantPermissions=[{"Principal": arn + "group/default/apac-sales",
    "Actions": ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"]}])
print("status=%d" % u["Status"])
print("bob2=" + search("tip-enhanced/bob@example.com"))
try:
    q.search_dashboards(AwsAccountId=A, Filters=[{"Name": "DASHBOARD_NAME", "Operator": "StringEquals", "Value": "x"}])
except q.exceptions.InvalidParameterValueException:
    print("bad-filter=InvalidParameterValueException")
`

func TestBoto3DashboardPermissions(t *testing.T) {
	t.Parallel()
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed; the botocore cross-check is skipped")
	}
	sb, _ := start(t, nil)
	out, err := exec.Command("python3", "-c", boto3Permissions, sb.URL()).CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	for _, want := range []string{"perms=group/default/emea-sales/3,group/default/exec-global/3,user/default/alice/8\n",
		"bob=sales-overview\n", "status=200\n", "bob2=emea-pipeline,sales-overview\n", "bad-filter=InvalidParameterValueException"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("boto3 output lacks %q:\n%s", want, out)
		}
	}
}
