package athena_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	lftypes "github.com/aws/aws-sdk-go-v2/service/lakeformation/types"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

func groupArn(t *testing.T, sb *sandbox.Sandbox, name string) string {
	for _, g := range sb.Env.World.IdentityCenter.Groups {
		if g.Name == name {
			return "arn:aws:identitystore:::group/" + g.GroupID
		}
	}
	t.Fatalf("no group %s", name)
	return ""
}

// TestLakeFormationChangesTheOutcomeAtOnce: grants and revocations made
// through the Lake Formation API apply to the next query.
func TestLakeFormationChangesTheOutcomeAtOnce(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	ctx := context.Background()
	lf := lakeformation.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	alice := client(sb, ststest.Person(t, sb, "alice"))
	emea := &lftypes.DataLakePrincipal{DataLakePrincipalIdentifier: aws.String(groupArn(t, sb, "emea-sales"))}
	filter := &lftypes.Resource{DataCellsFilter: &lftypes.DataCellsFilterResource{TableCatalogId: aws.String("123456789012"),
		DatabaseName: aws.String("db_tip"), TableName: aws.String("sales"), Name: aws.String("emea_rows")}}

	// The world's grants, as ListPermissions shows them.
	perms, err := lf.ListPermissions(ctx, &lakeformation.ListPermissionsInput{Principal: emea})
	if err != nil || len(perms.PrincipalResourcePermissions) != 2 {
		t.Fatalf("ListPermissions: %+v %v", perms, err)
	}
	got, err := lf.GetDataCellsFilter(ctx, &lakeformation.GetDataCellsFilterInput{TableCatalogId: aws.String("123456789012"),
		DatabaseName: aws.String("db_tip"), TableName: aws.String("sales"), Name: aws.String("emea_rows")})
	if err != nil || aws.ToString(got.DataCellsFilter.RowFilter.FilterExpression) != "region = 'EMEA'" ||
		strings.Join(got.DataCellsFilter.ColumnWildcard.ExcludedColumnNames, ",") != "margin_pct" {
		t.Fatalf("GetDataCellsFilter: %+v %v", got, err)
	}

	// Revoked: alice's next query is refused.
	if _, err := lf.RevokePermissions(ctx, &lakeformation.RevokePermissionsInput{Principal: emea, Resource: filter,
		Permissions: []lftypes.Permission{lftypes.PermissionSelect}}); err != nil {
		t.Fatal(err)
	}
	if o := run(t, alice, "tip-workgroup", "SELECT region FROM sales"); o.State != "FAILED" || !strings.Contains(o.Reason, "Insufficient Lake Formation permission(s)") {
		t.Fatalf("after the revocation: %+v", o)
	}
	_, err = lf.RevokePermissions(ctx, &lakeformation.RevokePermissionsInput{Principal: emea, Resource: filter, Permissions: []lftypes.Permission{lftypes.PermissionSelect}})
	ststest.WantAPIError(t, err, "InvalidInputException", 400)

	// A new filter (Nordic rows, two columns), granted: she sees exactly it.
	if _, err := lf.CreateDataCellsFilter(ctx, &lakeformation.CreateDataCellsFilterInput{TableData: &lftypes.DataCellsFilter{
		TableCatalogId: aws.String("123456789012"), DatabaseName: aws.String("db_tip"), TableName: aws.String("sales"), Name: aws.String("nordics"),
		RowFilter: &lftypes.RowFilter{FilterExpression: aws.String("country IN ('SE', 'DK')")}, ColumnNames: []string{"order_id", "country"}}}); err != nil {
		t.Fatal(err)
	}
	nordics := &lftypes.Resource{DataCellsFilter: &lftypes.DataCellsFilterResource{TableCatalogId: aws.String("123456789012"),
		DatabaseName: aws.String("db_tip"), TableName: aws.String("sales"), Name: aws.String("nordics")}}
	if _, err := lf.GrantPermissions(ctx, &lakeformation.GrantPermissionsInput{Principal: emea, Resource: nordics, Permissions: []lftypes.Permission{lftypes.PermissionSelect}}); err != nil {
		t.Fatal(err)
	}
	o := run(t, alice, "tip-workgroup", "SELECT * FROM sales")
	if o.State != "SUCCEEDED" || strings.Join(o.Columns, ",") != "order_id,country" || len(o.Rows) != 1 || o.Rows[0][1] != "SE" {
		t.Fatalf("with the nordics filter: %+v", o)
	}
	// A column grant adds region in every row: the union of cells, with
	// the country of non-Nordic rows left NULL.
	if _, err := lf.GrantPermissions(ctx, &lakeformation.GrantPermissionsInput{Principal: emea, Permissions: []lftypes.Permission{lftypes.PermissionSelect},
		Resource: &lftypes.Resource{TableWithColumns: &lftypes.TableWithColumnsResource{DatabaseName: aws.String("db_tip"), Name: aws.String("sales"), ColumnNames: []string{"region"}}}}); err != nil {
		t.Fatal(err)
	}
	o = run(t, alice, "tip-workgroup", "SELECT order_id, region, country FROM sales ORDER BY order_id")
	if o.State != "SUCCEEDED" || len(o.Rows) != 10 || distinct(o.column(t, "region")) != "AMER,APAC,EMEA" ||
		distinct(o.column(t, "country")) != "NULL,SE" || strings.Join(o.Rows[9], ",") != "1004,EMEA,SE" {
		t.Fatalf("the union of cells: %+v", o)
	}

	// Lists, and errors in Lake Formation's words.
	fl, err := lf.ListDataCellsFilter(ctx, &lakeformation.ListDataCellsFilterInput{Table: &lftypes.TableResource{DatabaseName: aws.String("db_tip"), Name: aws.String("sales")}})
	if err != nil || len(fl.DataCellsFilters) != 3 {
		t.Fatalf("ListDataCellsFilter: %+v %v", fl, err)
	}
	_, err = lf.CreateDataCellsFilter(ctx, &lakeformation.CreateDataCellsFilterInput{TableData: &lftypes.DataCellsFilter{
		TableCatalogId: aws.String("123456789012"), DatabaseName: aws.String("db_tip"), TableName: aws.String("sales"), Name: aws.String("nordics"),
		RowFilter: &lftypes.RowFilter{AllRowsWildcard: &lftypes.AllRowsWildcard{}}, ColumnWildcard: &lftypes.ColumnWildcard{}}})
	ststest.WantAPIError(t, err, "AlreadyExistsException", 400)
	_, err = lf.CreateDataCellsFilter(ctx, &lakeformation.CreateDataCellsFilterInput{TableData: &lftypes.DataCellsFilter{
		TableCatalogId: aws.String("123456789012"), DatabaseName: aws.String("db_tip"), TableName: aws.String("sales"), Name: aws.String("evil"),
		RowFilter: &lftypes.RowFilter{FilterExpression: aws.String("1 = 1; DROP TABLE sales")}, ColumnWildcard: &lftypes.ColumnWildcard{}}})
	ststest.WantAPIError(t, err, "InvalidInputException", 400)
	_, err = lf.GrantPermissions(ctx, &lakeformation.GrantPermissionsInput{Principal: emea, Permissions: []lftypes.Permission{lftypes.PermissionSelect},
		Resource: &lftypes.Resource{Table: &lftypes.TableResource{DatabaseName: aws.String("db_tip"), Name: aws.String("nope")}}})
	ststest.WantAPIError(t, err, "EntityNotFoundException", 400)

	// A person cannot grant herself more.
	self := lakeformation.NewFromConfig(ststest.Config(sb, ststest.Person(t, sb, "alice")))
	_, err = self.GrantPermissions(ctx, &lakeformation.GrantPermissionsInput{Principal: emea, Permissions: []lftypes.Permission{lftypes.PermissionSelect},
		Resource: &lftypes.Resource{Table: &lftypes.TableResource{DatabaseName: aws.String("db_tip"), Name: aws.String("sales")}}})
	ststest.WantAPIError(t, err, "AccessDeniedException", 403)
}

// TestCatalogAsEachPersonSeesIt: Athena's and Glue's catalog reads show a
// person only the databases, tables and columns Lake Formation gives them.
func TestCatalogAsEachPersonSeesIt(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	ctx := context.Background()
	cat := aws.String("AwsDataCatalog")
	wg, err := client(sb, ststest.Person(t, sb, "bob")).GetWorkGroup(ctx, &athena.GetWorkGroupInput{WorkGroup: aws.String("tip-workgroup")})
	if err != nil {
		t.Fatal(err)
	}
	conf := wg.WorkGroup.Configuration
	if !aws.ToBool(conf.IdentityCenterConfiguration.EnableIdentityCenter) || aws.ToString(conf.IdentityCenterConfiguration.IdentityCenterInstanceArn) != sb.Env.World.IdentityCenter.InstanceArn ||
		!aws.ToBool(conf.QueryResultsS3AccessGrantsConfiguration.EnableS3AccessGrants) || conf.QueryResultsS3AccessGrantsConfiguration.AuthenticationType != "DIRECTORY_IDENTITY" {
		t.Fatalf("tip-workgroup configuration %+v", conf)
	}
	wgs, err := client(sb, ststest.Admin()).ListWorkGroups(ctx, &athena.ListWorkGroupsInput{})
	if err != nil || len(wgs.WorkGroups) != 2 {
		t.Fatalf("ListWorkGroups %+v %v", wgs, err)
	}
	for _, c := range []struct {
		user, dbs, tables, exampleCols string
	}{
		{"alice", "db_tip", "table_example,sales", "id,product,category,list_price,supplier"},
		{"bob", "db_tip", "table_example,sales", "id,product,category,list_price"},
		{"dave", "", "", ""},
	} {
		creds := ststest.Person(t, sb, c.user)
		a := client(sb, creds)
		dbs, err := a.ListDatabases(ctx, &athena.ListDatabasesInput{CatalogName: cat})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range dbs.DatabaseList {
			names = append(names, aws.ToString(d.Name))
		}
		if strings.Join(names, ",") != c.dbs {
			t.Errorf("%s: databases %v", c.user, names)
		}
		g := glue.NewFromConfig(ststest.Config(sb, creds))
		gt, gerr := g.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String("db_tip"), Name: aws.String("table_example")})
		tm, aerr := a.GetTableMetadata(ctx, &athena.GetTableMetadataInput{CatalogName: cat, DatabaseName: aws.String("db_tip"), TableName: aws.String("table_example")})
		if c.dbs == "" {
			ststest.WantAPIError(t, gerr, "EntityNotFoundException", 400)
			ststest.WantAPIError(t, aerr, "MetadataException", 400)
			continue
		}
		if gerr != nil || aerr != nil {
			t.Fatalf("%s: %v / %v", c.user, gerr, aerr)
		}
		var gcols, acols []string
		for _, col := range gt.Table.StorageDescriptor.Columns {
			gcols = append(gcols, aws.ToString(col.Name))
		}
		for _, col := range tm.TableMetadata.Columns {
			acols = append(acols, aws.ToString(col.Name))
		}
		if strings.Join(gcols, ",") != c.exampleCols || strings.Join(acols, ",") != c.exampleCols {
			t.Errorf("%s: table_example columns glue %v athena %v", c.user, gcols, acols)
		}
		tl, err := a.ListTableMetadata(ctx, &athena.ListTableMetadataInput{CatalogName: cat, DatabaseName: aws.String("db_tip")})
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for _, tb := range tl.TableMetadataList {
			tables = append(tables, aws.ToString(tb.Name))
		}
		if strings.Join(tables, ",") != c.tables {
			t.Errorf("%s: tables %v", c.user, tables)
		}
		gts, err := g.GetTables(ctx, &glue.GetTablesInput{DatabaseName: aws.String("db_tip"), Expression: aws.String("sal*")})
		if err != nil || len(gts.TableList) != 1 || aws.ToString(gts.TableList[0].Name) != "sales" {
			t.Errorf("%s: GetTables %+v %v", c.user, gts, err)
		}
		gd, err := g.GetDatabases(ctx, &glue.GetDatabasesInput{})
		if err != nil || len(gd.DatabaseList) != 1 {
			t.Errorf("%s: GetDatabases %+v %v", c.user, gd, err)
		}
		if _, err := g.GetDatabase(ctx, &glue.GetDatabaseInput{Name: aws.String("db_tip")}); err != nil {
			t.Errorf("%s: GetDatabase %v", c.user, err)
		}
	}
}

// TestLakeFormationWritesAreKept: a revocation is a change of the live
// world, kept in the state directory: after a restart alice is still
// refused, and the exported world holds the change.
func TestLakeFormationWritesAreKept(t *testing.T) {
	dir := t.TempDir()
	sb, err := sandbox.Start(sandbox.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	lf := lakeformation.NewFromConfig(ststest.Config(sb, ststest.Admin()))
	if _, err := lf.RevokePermissions(context.Background(), &lakeformation.RevokePermissionsInput{
		Principal: &lftypes.DataLakePrincipal{DataLakePrincipalIdentifier: aws.String(groupArn(t, sb, "emea-sales"))}, Permissions: []lftypes.Permission{lftypes.PermissionSelect},
		Resource: &lftypes.Resource{DataCellsFilter: &lftypes.DataCellsFilterResource{TableCatalogId: aws.String("123456789012"),
			DatabaseName: aws.String("db_tip"), TableName: aws.String("sales"), Name: aws.String("emea_rows")}}}); err != nil {
		t.Fatal(err)
	}
	if n := len(sb.Env.Snapshot().LakeFormation.Permissions); n != 5 {
		t.Fatalf("the live world holds %d permissions, want 5", n)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := sandbox.Start(sandbox.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if o := run(t, client(again, ststest.Person(t, again, "alice")), "tip-workgroup", "SELECT * FROM db_tip.sales"); o.State != "FAILED" ||
		!strings.Contains(o.Reason, "Insufficient Lake Formation permission(s)") {
		t.Fatalf("after the restart: %+v", o)
	}
	if o := run(t, client(again, ststest.Person(t, again, "bob")), "tip-workgroup", "SELECT DISTINCT region FROM db_tip.sales"); o.State != "SUCCEEDED" ||
		distinct(o.column(t, "region")) != "APAC" {
		t.Fatalf("bob after the restart: %+v", o)
	}
}
