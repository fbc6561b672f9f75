package qbusiness_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	qb "github.com/aws/aws-sdk-go-v2/service/qbusiness"

	"github.com/tipctl/tipctl/sandbox/qbusiness"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestACLFilteringAndRefusalsAreRecorded: alice's ChatSync event records
// which documents her ACLs withheld (exactly those the world does not give
// her), and a plain role session's refused ChatSync records why.
func TestACLFilteringAndRefusalsAreRecorded(t *testing.T) {
	sb := ststest.Sandbox(t, world.DefaultYAML())
	chat(t, client(sb, session(t, sb, "alice")), "What is the discount policy?", nil)
	allowed := permitted(sb, "alice")
	found := false
	for _, ev := range sb.Trail.Events() {
		if ev.Summary.EventName != "ChatSync" || ev.Person != "alice@example.com" {
			continue
		}
		found = true
		if len(ev.Limits) != 1 || ev.Limits[0].Kind != qbusiness.KindACL || ev.Decision != nil {
			t.Fatalf("alice's ChatSync: limits %+v decision %+v", ev.Limits, ev.Decision)
		}
		reason := ev.Limits[0].Reason
		_, list, ok := strings.Cut(reason, "withheld: ")
		if !ok {
			t.Fatalf("reason %q names no withheld document", reason)
		}
		for _, id := range strings.Split(strings.Split(list, " and ")[0], ", ") {
			if allowed[id] {
				t.Errorf("%s is permitted to alice but recorded as withheld", id)
			}
		}
		if !strings.Contains(reason, "emea-sales") || !strings.Contains(string(ev.JSON()), `"tipctlLimits":[{"kind":"qbusiness-document-acl"`) {
			t.Errorf("reason %q / record %s", reason, ev.JSON())
		}
	}
	if !found {
		t.Fatal("no ChatSync event for alice")
	}

	// A plain session of the role: its policy wants an Identity Center user.
	in := &qb.ChatSyncInput{ApplicationId: aws.String(appID), UserMessage: aws.String("What is the discount policy?")}
	if _, err := client(sb, session(t, sb, "")).ChatSync(context.Background(), in); err == nil {
		t.Fatal("a plain role session chatted")
	}
	ev := sb.Trail.Events()[0]
	if ev.Summary.EventName != "ChatSync" || ev.Decision == nil || ev.Decision.Kind != "identity-policy" ||
		!strings.Contains(ev.Decision.Reason, "identitystore:UserId") {
		t.Fatalf("refused ChatSync: %s %+v", ev.Summary.EventName, ev.Decision)
	}
	// The administrator passes IAM but is no person.
	if _, err := client(sb, ststest.Admin()).ChatSync(context.Background(), in); err == nil {
		t.Fatal("the administrator chatted")
	}
	ev = sb.Trail.Events()[0]
	if ev.Summary.EventName != "ChatSync" || ev.Decision == nil || ev.Decision.Kind != qbusiness.KindIdentityAware {
		t.Fatalf("refused ChatSync: %s %+v", ev.Summary.EventName, ev.Decision)
	}
}
