package quicksight_test

import (
	"reflect"
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/quicksight"
)

func TestDescribeDashboard(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	admin := adminConfig(t, sb)
	list, err := quicksight.ListDashboards(bg, admin, account)
	if err != nil || len(list) != 2 || list[0].ID != "sales-overview" || list[0].Version != 3 {
		t.Fatalf("%+v %v", list, err)
	}
	d, err := quicksight.DescribeDashboard(bg, admin, account, "sales-overview")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 3 || d.Arn != "arn:aws:quicksight:us-east-1:123456789012:dashboard/sales-overview" {
		t.Errorf("%+v", d)
	}
	d.Version, d.Arn = 0, ""
	if want := salesModel(); !reflect.DeepEqual(d, want) {
		t.Errorf("dashboard\n%+v\nwant\n%+v", d, want)
	}
	_, err = quicksight.DescribeDashboard(bg, admin, account, "nope")
	wantKind(t, err, quicksight.KindNotFound, "dashboard nope not found")
	// Identity-enhanced credentials may not read definitions.
	s := aliceSession(t, sb, admin)
	cfg := admin.Copy()
	cfg.Credentials = s
	_, err = quicksight.ListDashboards(bg, cfg, account)
	wantKind(t, err, quicksight.KindAccess, "identity-enhanced credentials can call only")
}
