package cli

import (
	"fmt"
	"strings"

	"github.com/tipctl/tipctl/tip/query"
)

// The demo's Athena step: alice's query in the Identity Center enabled
// workgroup, where Lake Formation's data cells filter for her group keeps
// EMEA's rows and leaves the restricted column out.
func init() { demoSteps = append(demoSteps, (*demo).athenaQuery) }

func (d *demo) athenaQuery() error {
	return d.do("athena", func() (string, error) {
		c, err := query.AthenaClient(d.mgr)
		if err != nil {
			return "", err
		}
		a := &query.Athena{Client: c, Workgroup: "tip-workgroup", Poll: 5e6}
		res, err := a.Run(d.ctx, "SELECT * FROM db_tip.sales")
		if err != nil {
			return "", err
		}
		var cols []string
		region := -1
		for i, col := range res.Columns {
			cols = append(cols, col.Name)
			if col.Name == "margin_pct" {
				return "", fmt.Errorf("alice was shown the restricted column margin_pct")
			}
			if col.Name == "region" {
				region = i
			}
		}
		if region < 0 || len(res.Rows) == 0 {
			return "", fmt.Errorf("alice was shown no regions of db_tip.sales (columns %v)", cols)
		}
		for _, row := range res.Rows {
			if row[region] == nil || *row[region] != "EMEA" {
				return "", fmt.Errorf("alice was shown a row outside EMEA: %v", row[region])
			}
		}
		return fmt.Sprintf("Athena ran SELECT * FROM db_tip.sales as alice in tip-workgroup; Lake Formation kept %d rows, EMEA only, with columns %s (margin_pct withheld)",
			len(res.Rows), strings.Join(cols, ", ")), nil
	})
}
