package cloudtrail_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tipctl/tipctl/sandbox/cloudtrail"
	"github.com/tipctl/tipctl/sandbox/cloudtrail/cttest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

var trailKey = regexp.MustCompile(`^AWSLogs/123456789012/CloudTrail/us-east-1/\d{4}/\d{2}/\d{2}/123456789012_CloudTrail_us-east-1_\d{8}T\d{4}Z_[a-z0-9]{16}\.json\.gz$`)

func TestTrailFilesParseAsCloudTrailFiles(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	trail, err := sb.StartTrail("audit-trail", cloudtrail.TrailOptions{PerFile: 4, MaxFiles: 100})
	if err != nil {
		t.Fatal(err)
	}
	day := cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", emea, apac)
	trail.Flush()

	ctx := context.Background()
	cl := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	list, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("audit-trail"), Prefix: aws.String("AWSLogs/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) < 2 {
		t.Fatalf("%d trail files, want at least 2 of at most 4 records", len(list.Contents))
	}
	var onBehalf string
	records := 0
	for _, o := range list.Contents {
		key := aws.ToString(o.Key)
		if !trailKey.MatchString(key) {
			t.Fatalf("key %s is not in CloudTrail's layout", key)
		}
		obj, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("audit-trail"), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s is not gzip: %v", key, err)
		}
		var f struct {
			Records []struct {
				EventVersion string
				EventName    string
				UserIdentity struct{ OnBehalfOf *struct{ UserID string } }
			}
		}
		if err := json.NewDecoder(zr).Decode(&f); err != nil || len(f.Records) == 0 || len(f.Records) > 4 {
			t.Fatalf("%s: %d records, %v", key, len(f.Records), err)
		}
		for _, r := range f.Records {
			records++
			if r.EventVersion != cloudtrail.EventVersion {
				t.Fatalf("eventVersion %q", r.EventVersion)
			}
			if r.EventName == "GetObject" && r.UserIdentity.OnBehalfOf != nil {
				onBehalf = r.UserIdentity.OnBehalfOf.UserID
			}
		}
	}
	if onBehalf != day.UserID {
		t.Fatalf("the trail's GetObject is on behalf of %q, want %q", onBehalf, day.UserID)
	}
	if records < 7 {
		t.Fatalf("%d records delivered", records)
	}
}

func TestTrailRotationIsBounded(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	trail, err := sb.StartTrail("small-trail", cloudtrail.TrailOptions{PerFile: 1, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	cttest.PersonDay(t, sb, "alice@example.com", "alice-sandbox-pw", emea, apac)
	trail.Flush()
	files := trail.Files()
	if len(files) != 2 {
		t.Fatalf("%d files kept, want 2", len(files))
	}
	cl := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(sb.URL()), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	list, err := cl.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("small-trail")})
	if err != nil || len(list.Contents) != 2 {
		t.Fatalf("the bucket holds %d files (%v), want 2", len(list.Contents), err)
	}
}
