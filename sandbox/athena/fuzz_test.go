package athena_test

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// onlyPermitted is the default world whose sales table only ever held what
// alice's data cells filter gives her: EMEA's rows, without margin_pct.
func onlyPermitted(t testing.TB) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(world.DefaultYAML(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, b := range doc["s3"].(map[string]any)["buckets"].([]any) {
		objs, _ := b.(map[string]any)["objects"].([]any)
		for _, o := range objs {
			o := o.(map[string]any)
			if o["key"] != "db_tip/sales/sales-2025-q4.csv" {
				continue
			}
			var keep []string
			for i, line := range strings.Split(strings.TrimSpace(o["content"].(string)), "\n") {
				if i == 0 || strings.Contains(line, ",EMEA,") {
					keep = append(keep, line[:strings.LastIndex(line, ",")])
				}
			}
			o["content"] = strings.Join(keep, "\n") + "\n"
		}
	}
	for _, d := range doc["glue"].(map[string]any)["databases"].([]any) {
		for _, tb := range d.(map[string]any)["tables"].([]any) {
			tb := tb.(map[string]any)
			if tb["name"] == "sales" {
				cols := tb["columns"].([]any)
				tb["columns"] = cols[:len(cols)-1]
			}
		}
	}
	lf := doc["lake_formation"].(map[string]any)
	lf["data_cells_filters"] = []any{}
	var perms []any
	for _, p := range lf["permissions"].([]any) {
		if p.(map[string]any)["data_cells_filter"] == nil {
			perms = append(perms, p)
		}
	}
	lf["permissions"] = perms
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzQueryAsAlice: whatever the query text, alice's outcome over the
// default world equals carol's (table SELECT) over a world whose sales
// table holds only the cells alice's grants give her: the same state, the
// same columns, the same rows. No text reaches a cell outside the grant.
func FuzzQueryAsAlice(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM db_tip.sales ORDER BY order_id", `SELECT * FROM "DB_TIP"."SALES"`, "SELECT * FROM awsdatacatalog.db_tip.sales",
		"SELECT region, count(*) FROM sales GROUP BY region", "SELECT * FROM (SELECT * FROM sales) WHERE 1 = 1 OR region = 'APAC'",
		"WITH x AS (SELECT * FROM sales) SELECT * FROM x UNION SELECT * FROM db_tip.sales", "SELECT margin_pct FROM sales",
		"SELECT a.order_id, b.product FROM sales a JOIN table_example b ON a.product = b.product", "SELECT * FROM sales -- x",
		"SELECT sum(revenue) FROM sales WHERE region <> 'EMEA'", "SELECT * FROM sqlite_master", "SELECT 1; SELECT 2",
	} {
		f.Add(s)
	}
	alice := ststest.Sandbox(f, world.DefaultYAML())
	only := ststest.Sandbox(f, onlyPermitted(f))
	ac := client(alice, ststest.Person(f, alice, "alice"))
	cc := client(only, ststest.Person(f, only, "carol"))
	f.Fuzz(func(t *testing.T, sql string) {
		if strings.TrimSpace(sql) == "" || len(sql) > 4000 || strings.Contains(strings.ToLower(sql), "recursive") {
			return
		}
		got, want := run(t, ac, "tip-workgroup", sql), run(t, cc, "tip-workgroup", sql)
		got.ID, got.Output, want.ID, want.Output = "", "", "", ""
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q as alice:\n%+v\nover only her cells:\n%+v", sql, got, want)
		}
	})
}
