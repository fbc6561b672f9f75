package s3_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
)

// TestListMultipartUploadsPages: MaxUploads, KeyMarker and UploadIdMarker
// page through the uploads in key order, through aws-sdk-go-v2 and the
// botocore paginator.
func TestListMultipartUploadsPages(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	c := client(sb.URL(), ststest.Admin())
	b := aws.String("analytics-data")
	for _, k := range []string{"b", "a", "c", "a", "d"} {
		if _, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("mp/" + k)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	in := &awss3.ListMultipartUploadsInput{Bucket: b, Prefix: aws.String("mp/"), MaxUploads: aws.Int32(2)}
	pages := 0
	for {
		out, err := c.ListMultipartUploads(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Uploads) > 2 {
			t.Fatalf("page of %d uploads with MaxUploads 2", len(out.Uploads))
		}
		for _, u := range out.Uploads {
			got = append(got, aws.ToString(u.Key))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	if pages != 3 || strings.Join(got, ",") != "mp/a,mp/a,mp/b,mp/c,mp/d" {
		t.Fatalf("%d pages: %v", pages, got)
	}

	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs python3 with boto3: %v", err)
		}
		t.Skip("python3 with boto3 is not installed; the botocore paginator check is skipped")
	}
	script := `
import boto3, botocore.config, sys
cfg = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30)
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
p = s3.get_paginator("list_multipart_uploads").paginate(Bucket="analytics-data", Prefix="mp/", PaginationConfig={"PageSize": 2})
pages = list(p)
print("%d %s" % (len(pages), ",".join(u["Key"] for pg in pages for u in pg.get("Uploads", []))))
`
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(pctx, "python3", "-c", script, sb.URL()).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "3 mp/a,mp/a,mp/b,mp/c,mp/d" {
		t.Fatalf("botocore paginator: %v %s", err, out)
	}
}

// TestCreateBucketLocationConstraint: a constraint for another region is
// IllegalLocationConstraintException, as S3 answers it.
func TestCreateBucketLocationConstraint(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	ctx := context.Background()
	c := client(sb.URL(), ststest.Admin())
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("elsewhere-bucket"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}})
	ststest.WantAPIError(t, err, "IllegalLocationConstraintException", 400)
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("here-bucket")}); err != nil {
		t.Fatal(err)
	}

	// A sandbox in eu-west-1 refuses a bucket without a constraint.
	y := strings.Replace(string(world.DefaultYAML()), "region: us-east-1", "region: eu-west-1", 1)
	eu := ststest.Sandbox(t, []byte(y))
	ce := client(eu.URL(), ststest.Admin(), func(o *awss3.Options) { o.Region = "eu-west-1" })
	_, err = ce.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("no-constraint")})
	ststest.WantAPIError(t, err, "IllegalLocationConstraintException", 400)
	if _, err := ce.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("with-constraint"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatal(err)
	}
}
