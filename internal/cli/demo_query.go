package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tipctl/tipctl/tip/query"
)

// The demo's Redshift step, played with alice's identity-enhanced session.
func init() { demoSteps = append(demoSteps, (*demo).redshiftQuery) }

func (d *demo) redshiftQuery() error {
	return d.do("redshift", func() (string, error) {
		c, err := query.RedshiftClient(d.mgr)
		if err != nil {
			return "", err
		}
		r := &query.Redshift{Client: c, Workgroup: "redshift-tip-enabled", Database: "dev"}
		res, err := r.Run(d.ctx, "SELECT timezone, COUNT(*) AS orders FROM sales_data GROUP BY timezone")
		if err != nil {
			return "", err
		}
		var zones []string
		for _, row := range res.Rows {
			if row[0] == nil || !strings.HasPrefix(*row[0], "Europe/") {
				return "", fmt.Errorf("alice was shown a row outside Europe: %v", row[0])
			}
			zones = append(zones, *row[0])
		}
		if len(zones) == 0 {
			return "", fmt.Errorf("alice was shown no rows of sales_data")
		}
		sort.Strings(zones)
		return fmt.Sprintf("Redshift ran SELECT … FROM sales_data as AWSIDC:alice; row-level security kept %d time zones, all in Europe (%s)",
			len(zones), strings.Join(zones, ", ")), nil
	})
}
