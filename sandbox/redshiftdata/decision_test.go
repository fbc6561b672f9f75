package redshiftdata_test

import (
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox/cloudtrail"
	"github.com/tipctl/tipctl/sandbox/redshiftdata"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

func newest(evs []*cloudtrail.Event, op string, ok func(*cloudtrail.Event) bool) *cloudtrail.Event {
	for _, e := range evs {
		if e.Summary.EventName == op && ok(e) {
			return e
		}
	}
	return nil
}

// TestRefusalsAndRowLevelSecurityAreRecorded: a statement the database
// refuses (dave holds no role with SELECT on sales_data) is explained on
// the DescribeStatement call that reports it; the row-level security that
// kept alice's rows is recorded on the GetStatementResult that returned
// them, naming the policy her role carries; carol's IGNORE RLS adds none.
func TestRefusalsAndRowLevelSecurityAreRecorded(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	const sql = "SELECT count(*) FROM sales_data"
	out := run(t, client(sb, person(t, sb, "dave")), "redshift-tip-enabled", sql)
	if out.Status != "FAILED" || !strings.Contains(out.Error, "permission denied for relation sales_data") {
		t.Fatalf("dave: %+v", out)
	}
	evs := sb.Trail.Events()
	ev := newest(evs, "DescribeStatement", func(e *cloudtrail.Event) bool { return e.Decision != nil })
	if ev == nil {
		t.Fatal("no DescribeStatement event carries the refusal")
	}
	d := ev.Decision
	if d.Kind != redshiftdata.KindPrivilege || d.Action != "SELECT" || d.Resource != "public.sales_data" || d.Policy != "AWSIDC:dave" ||
		!strings.Contains(d.Reason, "no SELECT privilege on public.sales_data") || ev.Person != "dave" {
		t.Fatalf("decision %+v person %q", d, ev.Person)
	}
	if !strings.Contains(string(ev.JSON()), `"tipctlDecision":{"kind":"redshift-privilege"`) {
		t.Fatalf("record: %s", ev.JSON())
	}

	out = run(t, client(sb, person(t, sb, "alice")), "redshift-tip-enabled", sql)
	if out.Status != "FINISHED" {
		t.Fatalf("alice: %+v", out)
	}
	ev = newest(sb.Trail.Events(), "GetStatementResult", func(e *cloudtrail.Event) bool { return e.Person == "alice@example.com" })
	if ev == nil || len(ev.Limits) != 1 {
		t.Fatalf("alice's result event: %+v", ev)
	}
	l := ev.Limits[0]
	if l.Kind != redshiftdata.KindRLS || l.Policy != "eu_region_filter" || l.Resource != "public.sales_data" ||
		!strings.Contains(l.Reason, "AWSIDC:emea-sales") || !strings.Contains(l.Reason, "Europe%") || ev.Decision != nil {
		t.Fatalf("alice's limit %+v", l)
	}
	if !strings.Contains(string(ev.JSON()), `"tipctlLimits":[{"kind":"redshift-rls"`) {
		t.Fatalf("record: %s", ev.JSON())
	}

	if out = run(t, client(sb, person(t, sb, "carol")), "redshift-tip-enabled", sql); out.Status != "FINISHED" {
		t.Fatalf("carol: %+v", out)
	}
	ev = newest(sb.Trail.Events(), "GetStatementResult", func(e *cloudtrail.Event) bool { return e.Person == "carol@example.com" })
	if ev == nil || len(ev.Limits) != 0 || ev.Decision != nil {
		t.Fatalf("carol's result event: %+v", ev)
	}
}
