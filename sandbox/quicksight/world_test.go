package quicksight_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/quicksight"
	"github.com/tipctl/tipctl/sandbox/world"
)

const worldHead = `account_id: "123456789012"
region: us-east-1
idp:
  issuer: http://x/idp
`

func TestWorldQuickSightErrorsNameTheField(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, yaml, want string }{
		{"bad identity type", `quicksight:
  users:
    - user_name: a
      email: a@example.com
      identity_type: GOOGLE
      role: READER
`, `w.yaml:9: quicksight.users[0].identity_type: "GOOGLE" must be one of IAM, QUICKSIGHT, IAM_IDENTITY_CENTER`},
		{"unknown group", `quicksight:
  users:
    - user_name: a
      email: a@example.com
      identity_type: QUICKSIGHT
      role: READER
      groups: [ghosts]
`, `quicksight.users[0].groups[0]: no QuickSight group "ghosts" in namespace "default"`},
		{"duplicate email", `quicksight:
  users:
    - {user_name: a, email: a@example.com, identity_type: QUICKSIGHT, role: READER}
    - {user_name: b, email: A@example.com, identity_type: QUICKSIGHT, role: READER}
`, `quicksight.users[1].email: "default/a@example.com" is declared twice`},
		{"row of the wrong width", `quicksight:
  datasets:
    - id: d
      columns: [{name: n, type: INTEGER}, {name: s}]
      rows:
        - [1, x]
        - [2]
`, `w.yaml:11: quicksight.datasets[0].rows[1]: has 1 values for 2 columns`},
		{"not an integer", `quicksight:
  datasets:
    - id: d
      columns: [{name: n, type: INTEGER}]
      rows: [[one]]
`, `quicksight.datasets[0].rows[0][0]: column n: "one" is not an integer`},
		{"rls on unknown column", `quicksight:
  groups: [{name: g}]
  datasets:
    - id: d
      generator: {kind: sales, seed: 1, rows: 10}
      row_level_security:
        - {group: g, column: territory, values: [EMEA]}
`, `quicksight.datasets[0].row_level_security[0].column: dataset d has no column "territory"`},
		{"unknown generator", `quicksight:
  datasets:
    - id: d
      generator: {kind: weather, seed: 1, rows: 10}
`, `quicksight.datasets[0].generator.kind: "weather" is not a generator; use sales`},
		{"sum of text", `quicksight:
  datasets:
    - id: d
      generator: {kind: sales, seed: 1, rows: 10}
  dashboards:
    - id: x
      name: X
      datasets: [d]
      sheets:
        - id: s
          name: S
          visuals:
            - {id: k, type: KPI, measures: [{column: country, aggregation: SUM}]}
`, `quicksight.dashboards[0].sheets[0].visuals[0].measures[0].aggregation: SUM needs a numeric column; country is STRING`},
		{"bar chart without category", `quicksight:
  datasets:
    - id: d
      generator: {kind: sales, seed: 1, rows: 10}
  dashboards:
    - id: x
      name: X
      datasets: [d]
      sheets:
        - id: s
          name: S
          visuals:
            - {id: b, type: BAR_CHART, measures: [{column: revenue, aggregation: SUM}]}
`, `visuals[0].dimensions: a bar chart needs exactly one dimension (its category)`},
		{"duplicate visual id", `quicksight:
  datasets:
    - id: d
      generator: {kind: sales, seed: 1, rows: 10}
  dashboards:
    - id: x
      name: X
      datasets: [d]
      sheets:
        - id: s
          name: S
          visuals:
            - {id: t, type: TABLE, fields: [region]}
        - id: s2
          name: S2
          visuals:
            - {id: t, type: TABLE, fields: [units]}
`, `quicksight.dashboards[0].sheets[1].visuals[0].id: "t" is declared twice`},
		{"unknown snapshot role", `quicksight:
  snapshot_role: nobody
`, `quicksight.snapshot_role: no role in iam.roles is named "nobody"`},
		{"unknown field", `quicksight:
  dashbaords: []
`, `field dashbaords not found`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := world.Load([]byte(worldHead+c.yaml), "w.yaml", "http://127.0.0.1:1")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestGeneratedDatasetIsDeterministic(t *testing.T) {
	t.Parallel()
	g := world.DatasetGenerator{Kind: "sales", Seed: 7, Rows: 300}
	a, b := g.Generate(), g.Generate()
	if len(a) != 300 || !slices.EqualFunc(a, b, slices.Equal[[]string]) {
		t.Fatal("the same seed made different rows")
	}
	other := world.DatasetGenerator{Kind: "sales", Seed: 8, Rows: 300}
	if slices.EqualFunc(a, other.Generate(), slices.Equal[[]string]) {
		t.Fatal("different seeds made the same rows")
	}
	regions := map[string]int{}
	for _, r := range a {
		regions[r[0]]++
		if err := world.CheckValue(world.ColumnDecimal, r[4]); err != nil {
			t.Fatal(err)
		}
	}
	if regions["EMEA"] != 100 || regions["APAC"] != 100 || regions["AMER"] != 100 {
		t.Fatalf("regions %v", regions)
	}
}

func TestInlineDatasetAndUserRules(t *testing.T) {
	t.Parallel()
	w, err := world.Load([]byte(worldHead+`quicksight:
  groups: [{name: ops}]
  users:
    - {user_name: ann, email: ann@example.com, identity_type: QUICKSIGHT, role: READER, groups: [ops]}
    - {user_name: ben, email: ben@example.com, identity_type: QUICKSIGHT, role: READER}
    - {user_name: cy, email: cy@example.com, identity_type: QUICKSIGHT, role: READER}
  datasets:
    - id: tickets
      columns: [{name: team}, {name: hours, type: DECIMAL}, {name: opened, type: DATETIME}]
      rows:
        - [ops, "1.5", "2025-01-02"]
        - [dev, "2", "2025-01-03"]
        - [ops, "", "2025-01-04"]
      row_level_security:
        - {group: ops, column: team, values: [ops]}
        - {user: ben, all_rows: true}
`), "w.yaml", "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := quicksight.NewState(w)
	if err != nil {
		t.Fatal(err)
	}
	ds := st.Datasets["tickets"]
	count := func(name string) int {
		return len(ds.Visible(quicksight.Viewer{User: st.UserByName("default", name)}, nil))
	}
	if count("ann") != 2 || count("ben") != 3 || count("cy") != 0 {
		t.Fatalf("visible rows: ann %d, ben %d, cy %d", count("ann"), count("ben"), count("cy"))
	}
	if !ds.Rows[2][1].Null || ds.Rows[0][1].Num != 1.5 {
		t.Fatalf("parsed rows %+v", ds.Rows)
	}
}
