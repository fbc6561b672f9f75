package cloudtrail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/tipctl/tipctl/sandbox/cloudtrail/cttest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

type ctEvent struct {
	EventName    string
	UserIdentity struct {
		Type       string
		OnBehalfOf *struct{ UserID, IdentityStoreArn string }
	}
	ErrorCode           string
	AdditionalEventData map[string]any
}

func parse(t *testing.T, s *string) ctEvent {
	t.Helper()
	var e ctEvent
	if err := json.Unmarshal([]byte(aws.ToString(s)), &e); err != nil {
		t.Fatalf("CloudTrailEvent is not JSON: %v", err)
	}
	return e
}

func TestLookupEventsWithTheGoSDK(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	day := cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", emea, apac)
	ct := awsct.New(awsct.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()

	out, err := ct.LookupEvents(ctx, &awsct.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
		{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("GetObject")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 {
		t.Fatalf("%d GetObject events, want 1", len(out.Events))
	}
	e := parse(t, out.Events[0].CloudTrailEvent)
	if e.UserIdentity.OnBehalfOf == nil || e.UserIdentity.OnBehalfOf.UserID != day.UserID {
		t.Fatalf("GetObject event on behalf of %+v, want %s", e.UserIdentity.OnBehalfOf, day.UserID)
	}
	if len(out.Events[0].Resources) == 0 || aws.ToString(out.Events[0].Resources[0].ResourceName) != "arn:aws:s3:::analytics-data/"+day.ReadKey {
		t.Fatalf("resources %+v", out.Events[0].Resources)
	}

	// Pages of 2 walk every event once, newest first, and agree with one big page.
	all, err := ct.LookupEvents(ctx, &awsct.LookupEventsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var walked []string
	p := awsct.NewLookupEventsPaginator(ct, &awsct.LookupEventsInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() && len(walked) < 200 {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) > 2 {
			t.Fatalf("page of %d events with MaxResults 2", len(page.Events))
		}
		for i, ev := range page.Events {
			walked = append(walked, aws.ToString(ev.EventId))
			if i > 0 && ev.EventTime.After(*page.Events[i-1].EventTime) {
				t.Fatal("events are not newest first")
			}
		}
	}
	// The paginated calls are recorded too, after the first big page.
	if len(walked) < len(all.Events) || len(all.Events) < 8 {
		t.Fatalf("walked %d events, one page had %d", len(walked), len(all.Events))
	}
	for i, ev := range all.Events {
		if aws.ToString(ev.EventId) != walked[len(walked)-len(all.Events)+i] && i > 0 {
			// New LookupEvents events are newer than all others, so the
			// tail of the walk is the big page.
			t.Fatalf("walk and page disagree at %d", i)
		}
	}

	// Bad input is the modeled error.
	_, err = ct.LookupEvents(ctx, &awsct.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
		{AttributeKey: "Colour", AttributeValue: aws.String("x")}}})
	ststest.WantAPIError(t, err, "InvalidLookupAttributesException", 400)
	_, err = ct.LookupEvents(ctx, &awsct.LookupEventsInput{NextToken: aws.String("forged")})
	ststest.WantAPIError(t, err, "InvalidNextTokenException", 400)

	// alice's own session may not read the trail: one refusal, recorded with its reason.
	mine := awsct.New(awsct.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), RetryMaxAttempts: 1,
		Credentials: credentials.StaticCredentialsProvider{Value: day.Enhanced}})
	_, err = mine.LookupEvents(ctx, &awsct.LookupEventsInput{})
	ststest.WantAPIError(t, err, "AccessDeniedException", 400) // awsJson1_1: the protocol's client-error status
	ev := sb.Trail.Events()[0]
	if ev.Record().EventName != "LookupEvents" || ev.Decision == nil || ev.Decision.Kind != "identity-policy" {
		t.Fatalf("refused LookupEvents recorded as %+v decision %+v", ev.Record().EventName, ev.Decision)
	}
}

const boto3Lookup = `
import boto3, json, sys
ct = boto3.client("cloudtrail", endpoint_url=sys.argv[1], region_name="us-east-1")
found = []
for page in ct.get_paginator("lookup_events").paginate(LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "s3.amazonaws.com"}]):
    for e in page["Events"]:
        rec = json.loads(e["CloudTrailEvent"])
        if rec["eventName"] == "GetObject":
            found.append(rec["userIdentity"]["onBehalfOf"]["userId"])
print(json.dumps(found))
`

func TestLookupEventsWithBoto3(t *testing.T) {
	if exec.Command("python3", "-c", "import boto3").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 with boto3 is required in CI")
		}
		t.Skip("python3 with boto3 is not installed")
	}
	sb := ststest.Sandbox(t, nil)
	day := cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", emea, apac)
	script := filepath.Join(t.TempDir(), "lookup.py")
	if err := os.WriteFile(script, []byte(boto3Lookup), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", script, sb.URL())
	cmd.Env = ststest.CLIEnv(t, "test", "test", "")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var ids []string
	if err := json.Unmarshal(stdout.Bytes(), &ids); err != nil || len(ids) != 1 || ids[0] != day.UserID {
		t.Fatalf("boto3 found GetObject on behalf of %s, want [%s] (%v)", strings.TrimSpace(stdout.String()), day.UserID, err)
	}
}
