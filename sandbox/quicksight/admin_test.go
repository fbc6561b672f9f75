package quicksight_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	qs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

func TestAdministratorAPIs(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	c := admin(sb)
	ctx := context.Background()
	acct := aws.String(account)

	list, err := c.ListDashboards(ctx, &qs.ListDashboardsInput{AwsAccountId: acct})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.DashboardSummaryList) != 2 || aws.ToString(list.DashboardSummaryList[1].DashboardId) != "emea-pipeline" {
		t.Fatalf("dashboards %+v", list.DashboardSummaryList)
	}
	s := list.DashboardSummaryList[0]
	if aws.ToString(s.DashboardId) != "sales-overview" || aws.ToString(s.Name) != "Sales Overview" ||
		aws.ToInt64(s.PublishedVersionNumber) != 3 || s.CreatedTime == nil || s.CreatedTime.Year() != 2026 {
		t.Fatalf("summary %+v", s)
	}

	d, err := c.DescribeDashboard(ctx, &qs.DescribeDashboardInput{AwsAccountId: acct, DashboardId: aws.String("sales-overview")})
	if err != nil {
		t.Fatal(err)
	}
	v := d.Dashboard.Version
	var sheets []string
	for _, sh := range v.Sheets {
		sheets = append(sheets, aws.ToString(sh.SheetId)+"="+aws.ToString(sh.Name))
	}
	if !slices.Equal(sheets, []string{"overview=Overview", "by-region=By region"}) || aws.ToInt64(v.VersionNumber) != 3 ||
		v.Status != types.ResourceStatusCreationSuccessful || len(v.DataSetArns) != 1 ||
		v.DataSetArns[0] != "arn:aws:quicksight:us-east-1:123456789012:dataset/sales" {
		t.Fatalf("version %+v, sheets %v", v, sheets)
	}
	old, err := c.DescribeDashboard(ctx, &qs.DescribeDashboardInput{AwsAccountId: acct, DashboardId: aws.String("sales-overview"), VersionNumber: aws.Int64(1)})
	if err != nil || aws.ToInt64(old.Dashboard.Version.VersionNumber) != 1 {
		t.Fatalf("version 1: %v", err)
	}
	_, err = c.DescribeDashboard(ctx, &qs.DescribeDashboardInput{AwsAccountId: acct, DashboardId: aws.String("sales-overview"), VersionNumber: aws.Int64(4)})
	wantAPIError(t, err, "ResourceNotFoundException", 404)
	_, err = c.DescribeDashboard(ctx, &qs.DescribeDashboardInput{AwsAccountId: acct, DashboardId: aws.String("missing")})
	wantAPIError(t, err, "ResourceNotFoundException", 404)

	def, err := c.DescribeDashboardDefinition(ctx, &qs.DescribeDashboardDefinitionInput{AwsAccountId: acct, DashboardId: aws.String("sales-overview")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, sh := range def.Definition.Sheets {
		for _, vis := range sh.Visuals {
			var id, kind string
			switch {
			case vis.KPIVisual != nil:
				id, kind = aws.ToString(vis.KPIVisual.VisualId), "KPI"
				if f := vis.KPIVisual.ChartConfiguration.FieldWells.Values[0].NumericalMeasureField; f == nil ||
					aws.ToString(f.Column.ColumnName) == "" || f.AggregationFunction.SimpleNumericalAggregation != types.SimpleNumericalAggregationFunctionSum {
					t.Fatalf("KPI field well %+v", vis.KPIVisual.ChartConfiguration.FieldWells)
				}
			case vis.BarChartVisual != nil:
				id, kind = aws.ToString(vis.BarChartVisual.VisualId), "BAR_CHART"
			case vis.TableVisual != nil:
				id, kind = aws.ToString(vis.TableVisual.VisualId), "TABLE"
			case vis.PivotTableVisual != nil:
				id, kind = aws.ToString(vis.PivotTableVisual.VisualId), "PIVOT_TABLE"
			}
			got[aws.ToString(sh.SheetId)] = append(got[aws.ToString(sh.SheetId)], id+":"+kind)
		}
	}
	if !slices.Equal(got["overview"], []string{"total-revenue:KPI", "total-units:KPI", "revenue-by-product:BAR_CHART"}) ||
		!slices.Equal(got["by-region"], []string{"country-table:TABLE", "product-pivot:PIVOT_TABLE", "sales-detail:TABLE"}) {
		t.Fatalf("visuals by sheet %v", got)
	}
	if n := len(def.Definition.ParameterDeclarations); n != 2 || def.Definition.ParameterDeclarations[0].StringParameterDeclaration == nil {
		t.Fatalf("parameters %+v", def.Definition.ParameterDeclarations)
	}

	users, err := c.ListUsers(ctx, &qs.ListUsersInput{AwsAccountId: acct, Namespace: aws.String("default"), MaxResults: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	if len(users.UserList) != 3 || users.NextToken == nil {
		t.Fatalf("first page %d users, next %v", len(users.UserList), users.NextToken)
	}
	rest, err := c.ListUsers(ctx, &qs.ListUsersInput{AwsAccountId: acct, Namespace: aws.String("default"), NextToken: users.NextToken})
	if err != nil || len(rest.UserList) != 1 || rest.NextToken != nil || aws.ToString(rest.UserList[0].UserName) != "erin" ||
		rest.UserList[0].IdentityType != types.IdentityTypeIamIdentityCenter {
		t.Fatalf("second page %+v %v", rest, err)
	}
	_, err = c.ListUsers(ctx, &qs.ListUsersInput{AwsAccountId: acct, Namespace: aws.String("default"), NextToken: aws.String("bogus")})
	wantAPIError(t, err, "InvalidNextTokenException", 400)
	_, err = c.ListUsers(ctx, &qs.ListUsersInput{AwsAccountId: acct, Namespace: aws.String("partners")})
	wantAPIError(t, err, "ResourceNotFoundException", 404)

	bob, err := c.DescribeUser(ctx, &qs.DescribeUserInput{AwsAccountId: acct, Namespace: aws.String("default"), UserName: aws.String("tip-enhanced/bob@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(bob.User.Arn) != "arn:aws:quicksight:us-east-1:123456789012:user/default/tip-enhanced/bob@example.com" ||
		bob.User.IdentityType != types.IdentityTypeIam || bob.User.Role != types.UserRoleReader || !bob.User.Active {
		t.Fatalf("bob %+v", bob.User)
	}
	_, err = c.DescribeUser(ctx, &qs.DescribeUserInput{AwsAccountId: acct, Namespace: aws.String("default"), UserName: aws.String("zed")})
	wantAPIError(t, err, "ResourceNotFoundException", 404)

	for _, op := range []string{"ListDashboards", "DescribeDashboard", "DescribeDashboardDefinition", "ListUsers", "DescribeUser"} {
		if sb.Env.Stats.Get("quicksight:"+op) == 0 {
			t.Errorf("quicksight:%s not counted", op)
		}
	}
}

func TestSandboxInfo(t *testing.T) {
	t.Parallel()
	sb, _ := start(t, nil)
	resp, err := http.Get(sb.URL() + "/_sandbox/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		QuickSight struct {
			Namespace    string `json:"namespace"`
			SnapshotRole string `json:"snapshot_role"`
			Dashboards   []struct {
				ID     string `json:"id"`
				Name   string `json:"name"`
				Sheets []struct {
					ID      string `json:"id"`
					Name    string `json:"name"`
					Visuals []struct {
						ID, Type string
					} `json:"visuals"`
				} `json:"sheets"`
			} `json:"dashboards"`
		} `json:"quicksight"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	q := info.QuickSight
	if q.Namespace != "default" || q.SnapshotRole != "arn:aws:iam::123456789012:role/quicksight-snapshots" ||
		len(q.Dashboards) != 2 || q.Dashboards[0].ID != "sales-overview" || len(q.Dashboards[0].Sheets) != 2 ||
		q.Dashboards[0].Sheets[1].ID != "by-region" || len(q.Dashboards[0].Sheets[1].Visuals) != 3 {
		t.Fatalf("info %+v", q)
	}
}
