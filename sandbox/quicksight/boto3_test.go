package quicksight_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/tipctl/tipctl/sandbox"
)

// boto3Flow is the seed's walkthrough in Python: an independent client
// (botocore's own restJson1 codec, models and signer) against the sandbox.
const boto3Flow = `
import boto3, botocore.config, json, sys, time
ep = sys.argv[1]
admin = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
q = admin.client("quicksight", endpoint_url=ep)
ctx = q.get_identity_context(AwsAccountId="123456789012", UserIdentifier={"Email": "bob@example.com"}, Namespace="default")
cr = admin.client("sts", endpoint_url=ep).assume_role(
    RoleArn="arn:aws:iam::123456789012:role/quicksight-snapshots", RoleSessionName="py",
    ProvidedContexts=[{"ProviderArn": "arn:aws:iam::aws:contextProvider/QuickSight", "ContextAssertion": ctx["Context"]}])["Credentials"]
bob = boto3.session.Session(aws_access_key_id=cr["AccessKeyId"], aws_secret_access_key=cr["SecretAccessKey"],
    aws_session_token=cr["SessionToken"], region_name="us-east-1").client("quicksight", endpoint_url=ep)
bob.start_dashboard_snapshot_job(AwsAccountId="123456789012", DashboardId="sales-overview", SnapshotJobId="py1",
    SnapshotConfiguration={"FileGroups": [{"Files": [{"FormatType": "CSV", "SheetSelections": [
        {"SheetId": "by-region", "SelectionScope": "SELECTED_VISUALS", "VisualIds": ["country-table"]}]}]}],
        "DestinationConfiguration": {"S3Destinations": [{"BucketConfiguration": {
            "BucketName": "quicksight-snapshots", "BucketPrefix": "py", "BucketRegion": "us-east-1"}}]}})
try:
    bob.describe_dashboard_snapshot_job_result(AwsAccountId="123456789012", DashboardId="sales-overview", SnapshotJobId="py1")
    print("EARLY-RESULT-ACCEPTED")
except bob.exceptions.PreconditionNotMetException:
    print("early=PreconditionNotMetException")
while True:
    d = bob.describe_dashboard_snapshot_job(AwsAccountId="123456789012", DashboardId="sales-overview", SnapshotJobId="py1")
    if d["JobStatus"] in ("COMPLETED", "FAILED"):
        break
    time.sleep(0.05)
print("status=" + d["JobStatus"])
res = bob.describe_dashboard_snapshot_job_result(AwsAccountId="123456789012", DashboardId="sales-overview", SnapshotJobId="py1")
uri = res["Result"]["RegisteredUsers"][0]["FileGroups"][0]["S3Results"][0]["S3Uri"]
bucket, key = uri[5:].split("/", 1)
s3 = admin.client("s3", endpoint_url=ep, config=botocore.config.Config(s3={"addressing_style": "path"}))
body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
print("regions=" + ",".join(sorted({line.split(",")[0] for line in body.splitlines()[1:]})))
try:
    q.get_identity_context(AwsAccountId="123456789012", UserIdentifier={"UserName": "erin"}, Namespace="default")
except q.exceptions.PreconditionNotMetException as e:
    print("erin=%s/%d" % (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]))
try:
    bob.list_dashboards(AwsAccountId="123456789012")
except bob.exceptions.AccessDeniedException as e:
    print("enhanced-list=AccessDeniedException")
`

func TestBoto3Walkthrough(t *testing.T) {
	t.Parallel()
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed; the botocore cross-check is skipped")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if sb.Env.Objects == nil || !sb.Env.Objects.BucketExists("quicksight-snapshots") {
		t.Skip("the sandbox's S3 has no bucket quicksight-snapshots")
	}
	out, err := exec.Command("python3", "-c", boto3Flow, sb.URL()).CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 flow failed: %v\n%s", err, out)
	}
	for _, want := range []string{"early=PreconditionNotMetException", "status=COMPLETED", "regions=APAC\n",
		"erin=PreconditionNotMetException/400", "enhanced-list=AccessDeniedException"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("boto3 output lacks %q:\n%s", want, out)
		}
	}
}
