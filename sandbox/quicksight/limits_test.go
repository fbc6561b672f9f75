package quicksight_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/auth"
)

func TestStartSnapshotJobRejectsBadConfigurations(t *testing.T) {
	t.Parallel()
	sb, store := start(t, nil)
	alice := clientFor(sb, quickSightSession(t, sb, "alice@example.com"))
	adm := admin(sb)
	anon := &types.SnapshotUserConfiguration{AnonymousUsers: []types.SnapshotAnonymousUser{{}}}
	sel := func(format types.SnapshotFileFormatType, scope types.SnapshotFileSheetSelectionScope, sheet string, visuals ...string) types.SnapshotFileGroup {
		return types.SnapshotFileGroup{Files: []types.SnapshotFile{{FormatType: format,
			SheetSelections: []types.SnapshotFileSheetSelection{{SheetId: aws.String(sheet), SelectionScope: scope, VisualIds: visuals}}}}}
	}
	cfg := func(groups ...types.SnapshotFileGroup) *types.SnapshotConfiguration {
		return &types.SnapshotConfiguration{FileGroups: groups, DestinationConfiguration: dest("snapshots")}
	}
	sixCSV := cfg()
	for i := 0; i < 6; i++ {
		sixCSV.FileGroups = append(sixCSV.FileGroups, csvFile("by-region", "sales-detail"))
	}
	twoSheetPDF := cfg(pdfFile("overview"))
	twoSheetPDF.FileGroups[0].Files[0].SheetSelections = append(twoSheetPDF.FileGroups[0].Files[0].SheetSelections,
		types.SnapshotFileSheetSelection{SheetId: aws.String("by-region"), SelectionScope: types.SnapshotFileSheetSelectionScopeAllVisuals})
	excelSix := cfg(excelFile("by-region", "country-table", "product-pivot", "sales-detail"))
	excelSix.FileGroups[0].Files[0].SheetSelections = append(excelSix.FileGroups[0].Files[0].SheetSelections,
		types.SnapshotFileSheetSelection{SheetId: aws.String("by-region"), SelectionScope: types.SnapshotFileSheetSelectionScopeSelectedVisuals,
			VisualIds: []string{"country-table", "product-pivot", "sales-detail"}})
	otherRegion := cfg(csvFile("by-region", "sales-detail"))
	otherRegion.DestinationConfiguration.S3Destinations[0].BucketConfiguration.BucketRegion = aws.String("eu-central-1")
	withParams := func(p *types.Parameters) *types.SnapshotConfiguration {
		c := cfg(csvFile("by-region", "sales-detail"))
		c.Parameters = p
		return c
	}

	cases := []struct {
		name   string
		c      *qs.Client
		users  *types.SnapshotUserConfiguration
		config *types.SnapshotConfiguration
		code   string
		status int
	}{
		{"unknown sheet", alice, nil, cfg(pdfFile("summary")), "InvalidParameterValueException", 400},
		{"unknown visual", alice, nil, cfg(csvFile("by-region", "nope")), "InvalidParameterValueException", 400},
		{"visual of another sheet", alice, nil, cfg(csvFile("overview", "sales-detail")), "InvalidParameterValueException", 400},
		{"KPI as CSV", alice, nil, cfg(csvFile("overview", "total-revenue")), "InvalidParameterValueException", 400},
		{"bar chart in Excel", alice, nil, cfg(excelFile("overview", "revenue-by-product")), "InvalidParameterValueException", 400},
		{"two PDFs", alice, nil, cfg(pdfFile("overview"), pdfFile("by-region")), "InvalidParameterValueException", 400},
		{"PDF of two sheets", alice, nil, twoSheetPDF, "InvalidParameterValueException", 400},
		{"two workbooks", alice, nil, cfg(excelFile("by-region", "sales-detail"), excelFile("by-region", "country-table")), "InvalidParameterValueException", 400},
		{"six CSVs", alice, nil, sixCSV, "InvalidParameterValueException", 400},
		{"six visuals in a workbook", alice, nil, excelSix, "InvalidParameterValueException", 400},
		{"CSV of two visuals", alice, nil, cfg(sel(types.SnapshotFileFormatTypeCsv, types.SnapshotFileSheetSelectionScopeSelectedVisuals, "by-region", "sales-detail", "country-table")), "InvalidParameterValueException", 400},
		{"PDF with SELECTED_VISUALS", alice, nil, cfg(sel(types.SnapshotFileFormatTypePdf, types.SnapshotFileSheetSelectionScopeSelectedVisuals, "overview", "total-revenue")), "InvalidParameterValueException", 400},
		{"CSV with ALL_VISUALS", alice, nil, cfg(sel(types.SnapshotFileFormatTypeCsv, types.SnapshotFileSheetSelectionScopeAllVisuals, "by-region")), "InvalidParameterValueException", 400},
		{"bucket in another region", alice, nil, otherRegion, "InvalidParameterValueException", 400},
		{"UserConfiguration with identity-enhanced credentials", alice, anon, cfg(csvFile("by-region", "sales-detail")), "InvalidParameterValueException", 400},
		{"admin without UserConfiguration", adm, nil, cfg(csvFile("by-region", "sales-detail")), "InvalidParameterValueException", 400},
		{"unknown parameter", alice, nil, withParams(&types.Parameters{StringParameters: []types.StringParameter{{Name: aws.String("Country"), Values: []string{"Spain"}}}}), "InvalidParameterValueException", 400},
		{"parameter of the wrong type", alice, nil, withParams(&types.Parameters{IntegerParameters: []types.IntegerParameter{{Name: aws.String("Region"), Values: []int64{1}}}}), "InvalidParameterValueException", 400},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := startJob(c.c, fmt.Sprintf("bad-%d", i), c.users, c.config)
			wantAPIError(t, err, c.code, c.status)
		})
	}
	t.Run("unknown dashboard", func(t *testing.T) {
		_, err := alice.StartDashboardSnapshotJob(context.Background(), &qs.StartDashboardSnapshotJobInput{
			AwsAccountId: aws.String(account), DashboardId: aws.String("no-such-dashboard"), SnapshotJobId: aws.String("x"),
			SnapshotConfiguration: cfg(pdfFile("overview"))})
		wantAPIError(t, err, "ResourceNotFoundException", 404)
	})
	t.Run("session without snapshot permission", func(t *testing.T) {
		ctx := quickSightSession(t, sb, "alice@example.com").Context
		_, err := startJob(clientFor(sb, session(t, sb, "tip-no-setcontext", ctx)), "denied", nil, cfg(pdfFile("overview")))
		wantAPIError(t, err, "AccessDeniedException", 401)
	})
	t.Run("identity-enhanced credentials on admin APIs", func(t *testing.T) {
		_, err := alice.ListDashboards(context.Background(), &qs.ListDashboardsInput{AwsAccountId: aws.String(account)})
		wantAPIError(t, err, "AccessDeniedException", 401)
	})
	// No bad request produced a job or a file.
	for b := range store.objs {
		if len(store.objs[b]) != 0 {
			t.Fatalf("bucket %s got files from refused jobs", b)
		}
	}
}

func TestSnapshotJobLimitsAndLifecycle(t *testing.T) {
	t.Parallel()
	// Jobs that stay RUNNING for an hour, to hold the account's slots.
	sb, _ := start(t, timedWorld("1ms", "1h"))
	c := admin(sb)
	users := &types.SnapshotUserConfiguration{AnonymousUsers: []types.SnapshotAnonymousUser{{
		RowLevelPermissionTags: []types.SessionTag{{Key: aws.String("region"), Value: aws.String("*")}}}}}
	cfg := &types.SnapshotConfiguration{FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "country-table")},
		DestinationConfiguration: dest("snapshots")}
	for i := 1; i <= 12; i++ {
		if _, err := startJob(c, fmt.Sprintf("job-%d", i), users, cfg); err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	_, err := startJob(c, "job-13", users, cfg)
	wantAPIError(t, err, "LimitExceededException", 409)

	_, err = startJob(c, "job-1", users, cfg)
	wantAPIError(t, err, "ResourceExistsException", 409)

	_, err = c.DescribeDashboardSnapshotJobResult(context.Background(), &qs.DescribeDashboardSnapshotJobResultInput{
		AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String("job-1")})
	wantAPIError(t, err, "PreconditionNotMetException", 400)

	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.DescribeDashboardSnapshotJob(context.Background(), &qs.DescribeDashboardSnapshotJobInput{
			AwsAccountId: aws.String(account), DashboardId: aws.String("sales-overview"), SnapshotJobId: aws.String("job-12")})
		if err != nil {
			t.Fatal(err)
		}
		if d.JobStatus == types.SnapshotJobStatusRunning {
			break
		}
		if d.JobStatus != types.SnapshotJobStatusQueued || time.Now().After(deadline) {
			t.Fatalf("job-12 is %s", d.JobStatus)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSnapshotJobIDReuse(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, timedWorld("5ms", "20ms"))
	c := clientFor(sb, quickSightSession(t, sb, "alice@example.com"))
	cfg := &types.SnapshotConfiguration{FileGroups: []types.SnapshotFileGroup{csvFile("by-region", "country-table")},
		DestinationConfiguration: dest("snapshots")}
	if _, err := startJob(c, "daily", nil, cfg); err != nil {
		t.Fatal(err)
	}
	first := wait(t, c, "daily")
	_, err := startJob(c, "daily", nil, cfg)
	wantAPIError(t, err, "ResourceExistsException", 409)

	// 24 hours after the job ended its id is free again. The SDK signs with
	// the real clock, so requests after the jump are signed by hand.
	sb.Env.Advance(25 * time.Hour)
	p := quickSightSessionAt(t, sb, "alice@example.com")
	creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey, SessionToken: p.SessionToken}
	body, _ := json.Marshal(map[string]any{"SnapshotJobId": "daily", "SnapshotConfiguration": map[string]any{
		"FileGroups": []any{map[string]any{"Files": []any{map[string]any{"FormatType": "CSV",
			"SheetSelections": []any{map[string]any{"SheetId": "by-region", "SelectionScope": "SELECTED_VISUALS", "VisualIds": []string{"sales-detail"}}}}}}},
		"DestinationConfiguration": map[string]any{"S3Destinations": []any{map[string]any{"BucketConfiguration": map[string]any{
			"BucketName": "snapshots", "BucketPrefix": "x", "BucketRegion": "us-east-1"}}}}}})
	status, typ, out := signedCall(t, sb, creds, sb.Env.Now(), "POST", "/accounts/123456789012/dashboards/sales-overview/snapshot-jobs", body)
	if status != 202 || out["SnapshotJobId"] != "daily" {
		t.Fatalf("reuse after 24h: %d %s %v", status, typ, out)
	}
	status, _, out = signedCall(t, sb, creds, sb.Env.Now(), "GET", "/accounts/123456789012/dashboards/sales-overview/snapshot-jobs/daily", nil)
	created, _ := out["CreatedTime"].(float64)
	if status != 200 || created < float64(first.CreatedTime.Add(24*time.Hour).Unix()) {
		t.Fatalf("the reused id describes the old job: %d %v", status, out)
	}
}

// quickSightSessionAt is quickSightSession for a sandbox whose clock has
// been advanced: GetIdentityContext is signed at the sandbox's time.
func quickSightSessionAt(t *testing.T, sb *sandbox.Sandbox, email string) *auth.Principal {
	t.Helper()
	status, _, out := signedCall(t, sb, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, sb.Env.Now(),
		"POST", "/accounts/123456789012/identity-context", []byte(`{"UserIdentifier":{"Email":"`+email+`"},"Namespace":"default"}`))
	assertion, _ := out["Context"].(string)
	if status != 200 || assertion == "" {
		t.Fatalf("GetIdentityContext: %d %v", status, out)
	}
	ctx, err := sb.Env.Sealer.OpenContext(assertion, auth.QuickSightProvider, sb.Env.Now())
	if err != nil {
		t.Fatal(err)
	}
	return session(t, sb, "quicksight-snapshots", ctx)
}
