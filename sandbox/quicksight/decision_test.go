package quicksight_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/smithy-go"

	"github.com/tipctl/tipctl/sandbox/cloudtrail"
	"github.com/tipctl/tipctl/sandbox/quicksight"
	"github.com/tipctl/tipctl/sandbox/world"
)

// refusal finds the newest refused event of op.
func refusal(evs []*cloudtrail.Event, op string) *cloudtrail.Event {
	for _, e := range evs {
		if e.Summary.EventName == op && e.Summary.ErrorCode != "" {
			return e
		}
	}
	return nil
}

// TestRefusalsExplainThemselves: QuickSight's refusals are recorded with
// what decided them, from its own evaluation: the dashboard's viewers for
// a person outside them, the role's identity policy (and the statement
// that came nearest) for a session without a QuickSight user.
func TestRefusalsExplainThemselves(t *testing.T) {
	yaml := world.DefaultYAML()
	const viewers = "viewers: [group:emea-sales, group:apac-sales, group:exec-global]"
	if !bytes.Contains(yaml, []byte(viewers)) {
		t.Fatal("the default world's dashboard viewers changed; update this test")
	}
	yaml = bytes.Replace(yaml, []byte(viewers), []byte("viewers: [group:exec-global]"), 1)
	sb, _ := start(t, yaml)
	cfg := &types.SnapshotConfiguration{FileGroups: []types.SnapshotFileGroup{pdfFile("overview")}}

	_, err := startJob(clientFor(sb, quickSightSession(t, sb, "alice@example.com")), "alice-job", nil, cfg)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("alice outside the viewers: %v", err)
	}
	ev := refusal(sb.Trail.Events(), "StartDashboardSnapshotJob")
	if ev == nil || ev.Decision == nil {
		t.Fatalf("the refusal is not recorded with a decision: %+v", ev)
	}
	d := ev.Decision
	if d.Kind != quicksight.KindDashboardPermissions || !strings.HasSuffix(d.Resource, ":dashboard/sales-overview") ||
		d.Action != "quicksight:StartDashboardSnapshotJob" || !strings.Contains(d.Reason, "alice") ||
		!strings.Contains(d.Reason, "emea-sales") || !strings.Contains(d.Reason, "group:exec-global") {
		t.Fatalf("decision %+v", d)
	}
	if !strings.Contains(string(ev.JSON()), `"tipctlDecision":{"kind":"quicksight-dashboard-permissions"`) {
		t.Fatalf("the record lacks the decision: %s", ev.JSON())
	}

	// A session of the snapshot role without a QuickSight user: the
	// role's policy needs quicksight:UserArn.
	_, err = startJob(clientFor(sb, session(t, sb, "quicksight-snapshots", nil)), "plain-job", nil, cfg)
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("plain session: %v", err)
	}
	ev = refusal(sb.Trail.Events(), "StartDashboardSnapshotJob")
	if ev == nil || ev.Decision == nil || ev.Decision.Kind != "identity-policy" ||
		!strings.HasSuffix(ev.Decision.Policy, ":role/quicksight-snapshots") || ev.Decision.Effect != "ImplicitDeny" {
		t.Fatalf("plain session refusal: %+v", ev)
	}
	t.Logf("refusal: %s", ev.JSON())
}
