package redshiftdata_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

func itoa(v int64) string   { return strconv.FormatInt(v, 10) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func column(t testing.TB, o outcome, name string) []string {
	t.Helper()
	for i, c := range o.Columns {
		if c == name {
			var out []string
			for _, r := range o.Rows {
				out = append(out, r[i])
			}
			return out
		}
	}
	t.Fatalf("no column %s in %v", name, o.Columns)
	return nil
}

// TestPeopleSeeTheirRegion: seed 003's RLS decides each person's rows.
func TestPeopleSeeTheirRegion(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	admin := run(t, client(sb, ststest.Admin()), "redshift-tip-enabled", "SELECT timezone FROM public.sales_data")
	if admin.Status != "FINISHED" || len(admin.Rows) != 1200 {
		t.Fatalf("admin: %+v rows %d", admin.Status, len(admin.Rows))
	}
	for _, tc := range []struct {
		user, prefix string
		all          bool
	}{{"alice", "Europe/", false}, {"bob", "Asia/", false}, {"carol", "", true}} {
		o := run(t, client(sb, person(t, sb, tc.user)), "my-workgroup", "SELECT * FROM sales_data")
		if o.Status != "FINISHED" {
			t.Fatalf("%s: %+v", tc.user, o)
		}
		tzs := column(t, o, "timezone")
		if tc.all {
			if len(tzs) != 1200 {
				t.Fatalf("%s sees %d rows, want all 1200", tc.user, len(tzs))
			}
			continue
		}
		if len(tzs) == 0 {
			t.Fatalf("%s sees no rows", tc.user)
		}
		for _, tz := range tzs {
			if !strings.HasPrefix(tz, tc.prefix) {
				t.Fatalf("%s sees a row of %s", tc.user, tz)
			}
		}
	}
}
