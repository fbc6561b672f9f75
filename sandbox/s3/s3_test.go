package s3_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tipctl/tipctl/iampolicy"
	"github.com/tipctl/tipctl/sandbox/auth"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

func TestObjectLifecycle(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	body := "id,name\n1,Ada\n"
	out, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("dir/report 1 é.csv"),
		Body: strings.NewReader(body), ContentType: aws.String("text/csv"), Metadata: map[string]string{"owner": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte(body))
	wantETag := `"` + hex.EncodeToString(sum[:]) + `"`
	if aws.ToString(out.ETag) != wantETag {
		t.Errorf("ETag = %s, want %s", aws.ToString(out.ETag), wantETag)
	}
	got, data, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("dir/report 1 é.csv")})
	if err != nil {
		t.Fatal(err)
	}
	if data != body || aws.ToString(got.ContentType) != "text/csv" || aws.ToString(got.ETag) != wantETag || got.Metadata["owner"] != "alice" {
		t.Errorf("get: %q type=%s etag=%s meta=%v", data, aws.ToString(got.ContentType), aws.ToString(got.ETag), got.Metadata)
	}
	if got.LastModified == nil || time.Since(*got.LastModified) > time.Minute {
		t.Errorf("LastModified = %v", got.LastModified)
	}
	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("dir/report 1 é.csv")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ETag) != wantETag {
		t.Errorf("head: length %d etag %s", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
	}
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("dir/report 1 é.csv")}); err != nil {
		t.Fatal(err)
	}
	_, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("dir/report 1 é.csv")})
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Fatalf("get after delete: %v", err)
	}
	ststest.WantAPIError(t, err, "NoSuchKey", 404)
	_, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("dir/report 1 é.csv")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("head after delete: %v", err)
	}
	// Deleting a missing key succeeds, as in S3.
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("never")}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"s3:PutObject", "s3:GetObject", "s3:HeadObject", "s3:DeleteObject"} {
		if sb.Env.Stats.Get(op) == 0 {
			t.Errorf("%s was not counted", op)
		}
	}
}

func TestBuckets(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("scratch")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("scratch")})
	ststest.WantAPIError(t, err, "BucketAlreadyOwnedByYou", 409)
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	ststest.WantAPIError(t, err, "InvalidBucketName", 400)
	lb, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if strings.Join(names, ",") != "analytics-data,quicksight-snapshots,redshift-blogs,scratch,tip-athena-results,tip-datalake" {
		t.Errorf("buckets = %v", names)
	}
	if _, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("scratch")}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "scratch", "k", "v")
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("scratch")})
	ststest.WantAPIError(t, err, "BucketNotEmpty", 409)
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("scratch"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("scratch")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("scratch")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("head deleted bucket: %v", err)
	}
	_, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("nope-bucket"), Key: aws.String("k")})
	ststest.WantAPIError(t, err, "NoSuchBucket", 404)
	_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("nope-bucket")})
	ststest.WantAPIError(t, err, "NoSuchBucket", 404)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("nope-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	ststest.WantAPIError(t, err, "NoSuchBucket", 404)
	loc, err := c.GetBucketLocation(ctx, &awss3.GetBucketLocationInput{Bucket: aws.String("analytics-data")})
	if err != nil || loc.LocationConstraint != "" {
		t.Errorf("location: %v %v", loc, err)
	}
}

func seed(t *testing.T, c *awss3.Client, bucket string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		put(t, c, bucket, k, "data of "+k)
	}
}

func TestListObjectsV2(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	keys := []string{"a/1.csv", "a/2.csv", "a/b/3.csv", "a/c/4.csv", "a/c/5.csv", "a/d.csv", "b/1.csv", "top.csv"}
	seed(t, c, "quicksight-snapshots", keys...)

	out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots"), Prefix: aws.String("a/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range out.Contents {
		got = append(got, aws.ToString(o.Key))
		if aws.ToInt64(o.Size) != int64(len("data of "+aws.ToString(o.Key))) || o.LastModified == nil || aws.ToString(o.ETag) == "" {
			t.Errorf("entry %s: size %d", aws.ToString(o.Key), aws.ToInt64(o.Size))
		}
	}
	for _, p := range out.CommonPrefixes {
		got = append(got, "CP:"+aws.ToString(p.Prefix))
	}
	if strings.Join(got, " ") != "a/1.csv a/2.csv a/d.csv CP:a/b/ CP:a/c/" || aws.ToInt32(out.KeyCount) != 5 || aws.ToBool(out.IsTruncated) {
		t.Errorf("list a/ with /: %v keycount=%d truncated=%v", got, aws.ToInt32(out.KeyCount), aws.ToBool(out.IsTruncated))
	}

	// Paginate the whole bucket two keys at a time, with and without delimiter.
	for _, tc := range []struct {
		delim string
		want  string
		pages int
	}{
		{"", strings.Join(keys, " "), 4},
		{"/", "CP:a/ CP:b/ top.csv", 2},
	} {
		var all []string
		pages := 0
		in := &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots"), MaxKeys: aws.Int32(2)}
		if tc.delim != "" {
			in.Delimiter = aws.String(tc.delim)
		}
		p := awss3.NewListObjectsV2Paginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if aws.ToBool(page.IsTruncated) != (aws.ToString(page.NextContinuationToken) != "") {
				t.Errorf("IsTruncated %v with token %q", aws.ToBool(page.IsTruncated), aws.ToString(page.NextContinuationToken))
			}
			for _, o := range page.Contents {
				all = append(all, aws.ToString(o.Key))
			}
			for _, cp := range page.CommonPrefixes {
				all = append(all, "CP:"+aws.ToString(cp.Prefix))
			}
		}
		sort.Strings(all)
		if strings.Join(all, " ") != tc.want || pages != tc.pages {
			t.Errorf("delimiter %q: %d pages %v, want %d pages %s", tc.delim, pages, all, tc.pages, tc.want)
		}
	}

	after, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots"), StartAfter: aws.String("a/d.csv")})
	if err != nil || len(after.Contents) != 2 || aws.ToString(after.Contents[0].Key) != "b/1.csv" {
		t.Errorf("start-after: %v %v", after, err)
	}
	_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots"), ContinuationToken: aws.String("garbage!")})
	ststest.WantAPIError(t, err, "InvalidArgument", 400)

	// encoding-type=url escapes keys (and the SDK leaves them escaped).
	put(t, c, "quicksight-snapshots", "sp ace/a+b.csv", "x")
	enc, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots"), Prefix: aws.String("sp ace/"), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(enc.Contents) != 1 || aws.ToString(enc.Contents[0].Key) != "sp+ace/a%2Bb.csv" || aws.ToString(enc.Prefix) != "sp+ace/" {
		t.Errorf("encoding-type=url: %+v %v", enc, err)
	}
}

func TestListObjectsV1(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	seed(t, c, "quicksight-snapshots", "x/1", "x/2", "x/3", "y/1")
	var all []string
	marker := ""
	for i := 0; i < 10; i++ {
		out, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: aws.String("quicksight-snapshots"), Marker: aws.String(marker), MaxKeys: aws.Int32(3)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			all = append(all, aws.ToString(o.Key))
			if o.Owner == nil || aws.ToString(o.Owner.ID) == "" {
				t.Errorf("v1 entries carry the owner")
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		marker = all[len(all)-1]
	}
	if strings.Join(all, ",") != "x/1,x/2,x/3,y/1" {
		t.Errorf("v1 listing = %v", all)
	}
	out, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: aws.String("quicksight-snapshots"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
	if err != nil || len(out.CommonPrefixes) != 1 || aws.ToString(out.NextMarker) != "x/" || !aws.ToBool(out.IsTruncated) {
		t.Errorf("v1 with delimiter: %+v %v", out, err)
	}
}

func TestRangedGet(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	put(t, c, "quicksight-snapshots", "r.txt", "0123456789")
	for _, tc := range []struct{ rng, body, cr string }{
		{"bytes=2-5", "2345", "bytes 2-5/10"},
		{"bytes=7-", "789", "bytes 7-9/10"},
		{"bytes=-3", "789", "bytes 7-9/10"},
		{"bytes=8-100", "89", "bytes 8-9/10"},
	} {
		out, body, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("r.txt"), Range: aws.String(tc.rng)})
		if err != nil {
			t.Fatalf("%s: %v", tc.rng, err)
		}
		if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); !ok || raw.StatusCode != http.StatusPartialContent {
			t.Errorf("%s: status is not 206", tc.rng)
		}
		if body != tc.body || aws.ToString(out.ContentRange) != tc.cr || aws.ToInt64(out.ContentLength) != int64(len(tc.body)) {
			t.Errorf("%s: body %q range %q length %d", tc.rng, body, aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength))
		}
	}
	_, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("r.txt"), Range: aws.String("bytes=10-20")})
	ststest.WantAPIError(t, err, "InvalidRange", 416)
	// A malformed range is ignored: the whole object.
	_, body, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("r.txt"), Range: aws.String("bytes=x-y")})
	if err != nil || body != "0123456789" {
		t.Errorf("malformed range: %q %v", body, err)
	}
}

func TestMultipartUpload(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	b, k := aws.String("quicksight-snapshots"), aws.String("big/file.bin")
	cr, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: b, Key: k, ContentType: aws.String("application/x-test")})
	if err != nil {
		t.Fatal(err)
	}
	part1 := bytes.Repeat([]byte("A"), 5<<20)
	part2 := []byte("tail")
	var etags []string
	for i, p := range [][]byte{part1, part2} {
		up, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		etags = append(etags, aws.ToString(up.ETag))
	}
	parts, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: b, Key: k, UploadId: cr.UploadId})
	if err != nil || len(parts.Parts) != 2 || aws.ToInt64(parts.Parts[0].Size) != 5<<20 {
		t.Fatalf("ListParts: %+v %v", parts, err)
	}
	// Out of order and wrong ETags are refused.
	_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(2), ETag: &etags[1]}, {PartNumber: aws.Int32(1), ETag: &etags[0]}}}})
	ststest.WantAPIError(t, err, "InvalidPartOrder", 400)
	_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"0000"`)}}}})
	ststest.WantAPIError(t, err, "InvalidPart", 400)
	done, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: &etags[0]}, {PartNumber: aws.Int32(2), ETag: &etags[1]}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(done.ETag), `-2"`) {
		t.Errorf("multipart ETag = %s", aws.ToString(done.ETag))
	}
	out, body, err := get(t, c, &awss3.GetObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	if body != string(part1)+string(part2) || aws.ToString(out.ContentType) != "application/x-test" || aws.ToInt32(out.PartsCount) != 2 {
		t.Errorf("assembled object: %d bytes type %s parts %d", len(body), aws.ToString(out.ContentType), aws.ToInt32(out.PartsCount))
	}
	// The upload is gone once completed.
	_, err = c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(3), Body: strings.NewReader("x")})
	ststest.WantAPIError(t, err, "NoSuchUpload", 404)

	// Parts smaller than 5 MiB (but the last) are refused; abort discards.
	cr2, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("small")})
	if err != nil {
		t.Fatal(err)
	}
	var small []types.CompletedPart
	for i := 1; i <= 2; i++ {
		up, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: aws.String("small"), UploadId: cr2.UploadId, PartNumber: aws.Int32(int32(i)), Body: strings.NewReader("tiny")})
		if err != nil {
			t.Fatal(err)
		}
		small = append(small, types.CompletedPart{PartNumber: aws.Int32(int32(i)), ETag: up.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("small"), UploadId: cr2.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: small}})
	ststest.WantAPIError(t, err, "EntityTooSmall", 400)
	ups, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].Key) != "small" {
		t.Errorf("ListMultipartUploads: %+v %v", ups, err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("small"), UploadId: cr2.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("small"), UploadId: cr2.UploadId})
	ststest.WantAPIError(t, err, "NoSuchUpload", 404)
	_, err = c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: aws.String("small"), UploadId: aws.String("bogus"), PartNumber: aws.Int32(0), Body: strings.NewReader("x")})
	ststest.WantAPIError(t, err, "InvalidArgument", 400)
}

func TestCopyAndDeleteObjects(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	if _, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("copy/emea.csv"),
		CopySource: aws.String("analytics-data/emea/sales-2025-q4.csv")}); err != nil {
		t.Fatal(err)
	}
	out, body, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("copy/emea.csv")})
	if err != nil || !strings.Contains(body, "EMEA,DE") || aws.ToString(out.ContentType) != "text/csv" {
		t.Fatalf("copy: %q %v", body, err)
	}
	_, err = c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("copy/x"), CopySource: aws.String("analytics-data/nope")})
	ststest.WantAPIError(t, err, "NoSuchKey", 404)

	seed(t, c, "quicksight-snapshots", "del/1", "del/2")
	res, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("quicksight-snapshots"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("del/1")}, {Key: aws.String("del/2")}, {Key: aws.String("del/never")}}}})
	if err != nil || len(res.Deleted) != 3 || len(res.Errors) != 0 {
		t.Fatalf("DeleteObjects: %+v %v", res, err)
	}
	left, _ := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("quicksight-snapshots"), Prefix: aws.String("del/")})
	if len(left.Contents) != 0 {
		t.Errorf("left after DeleteObjects: %d", len(left.Contents))
	}
}

func TestSignatureAndAuthentication(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	bad := client(sb.URL(), credentials.NewStaticCredentialsProvider("test", "wrong-secret", ""))
	_, err := bad.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("analytics-data")})
	ststest.WantAPIError(t, err, "SignatureDoesNotMatch", 403)
	unknown := client(sb.URL(), credentials.NewStaticCredentialsProvider("AKIAUNKNOWN", "x", ""))
	_, err = unknown.ListBuckets(ctx, &awss3.ListBucketsInput{})
	ststest.WantAPIError(t, err, "InvalidAccessKeyId", 403)

	resp, err := http.Get(sb.URL() + "/analytics-data/emea/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "<Error><Code>AccessDenied</Code>") || !strings.Contains(string(b), "<RequestId>") ||
		resp.Header.Get("x-amz-request-id") == "" {
		t.Errorf("unsigned GET: %d %s", resp.StatusCode, b)
	}
	// The server keeps serving.
	if _, _, err := get(t, client(sb.URL(), admin), &awss3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/customers.csv")}); err != nil {
		t.Fatal(err)
	}
}

func TestIdentityPolicyEnforced(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	doc := iampolicy.MustParse(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::analytics-data/global/*"},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::analytics-data","Condition":{"StringLike":{"s3:prefix":"global/*"}}},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::analytics-data/global/secret*"}]}`)
	p := sb.Env.Registry.IssueSession(&auth.Principal{AccountID: "123456789012", Arn: "arn:aws:sts::123456789012:assumed-role/reader/x",
		RoleArn: "arn:aws:iam::123456789012:role/reader", Policies: []*iampolicy.Document{doc}}, sb.Env.Now().Add(time.Hour))
	c := client(sb.URL(), credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, p.SessionToken))
	if _, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("global/summary-2025.csv")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("global/")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("emea/")})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	_, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/customers.csv")})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	if !strings.Contains(err.Error(), "s3:GetObject") || !strings.Contains(err.Error(), "arn:aws:s3:::analytics-data/emea/customers.csv") {
		t.Errorf("the message should name action and resource: %v", err)
	}
	put(t, client(sb.URL(), admin), "analytics-data", "global/secret.csv", "x")
	_, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("global/secret.csv")})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("global/x"), Body: strings.NewReader("x")})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
	_, err = c.ListBuckets(ctx, &awss3.ListBucketsInput{})
	ststest.WantAPIError(t, err, "AccessDenied", 403)
}

func TestChecksums(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	body := strings.Repeat("checksum me ", 1000)
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
		key := "sum/" + string(alg)
		if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String(key),
			Body: strings.NewReader(body), ChecksumAlgorithm: alg}); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		// The SDK validates the checksum S3 returns.
		out, got, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || got != body {
			t.Fatalf("%s: get %v", alg, err)
		}
		if aws.ToString(out.ChecksumCRC32)+aws.ToString(out.ChecksumCRC32C)+aws.ToString(out.ChecksumCRC64NVME)+aws.ToString(out.ChecksumSHA1)+aws.ToString(out.ChecksumSHA256) == "" {
			t.Errorf("%s: no checksum returned", alg)
		}
	}
	// Objects written without a checksum get S3's default CRC64NVME, which the SDK checks.
	out, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String("emea/customers.csv"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(out.ChecksumCRC64NVME) == "" {
		t.Fatalf("default checksum: %v %v", out, err)
	}
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("sum/bad"),
		Body: strings.NewReader(body), ChecksumCRC32: aws.String("AAAAAA==")})
	ststest.WantAPIError(t, err, "BadDigest", 400)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("sum/md5"),
		Body: strings.NewReader(body), ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
	ststest.WantAPIError(t, err, "BadDigest", 400)
}

func TestPresignedURLs(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	pc := awss3.NewPresignClient(client(sb.URL(), admin))
	pp, err := pc.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("presigned.txt")}, awss3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(pp.Method, pp.URL, strings.NewReader("via presigned PUT"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d", resp.StatusCode)
	}
	pg, err := pc.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("presigned.txt")}, awss3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "via presigned PUT" {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, b)
	}
	// Tampering with the URL breaks the signature; expiry is enforced.
	resp, _ = http.Get(strings.Replace(pg.URL, "presigned.txt", "other.txt", 1))
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("tampered presigned URL: %d", resp.StatusCode)
	}
	sb.Env.Advance(11 * time.Minute)
	resp, _ = http.Get(pg.URL)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "expired") {
		t.Errorf("expired presigned URL: %d %s", resp.StatusCode, b)
	}
}

func TestObjectStoreForOtherServices(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	store := sb.Env.Objects
	if store == nil || !store.BucketExists("quicksight-snapshots") || store.BucketExists("nope") {
		t.Fatal("env.Objects is not the S3 store")
	}
	if err := store.PutObject("quicksight-snapshots", "jobs/1/report.pdf", []byte("%PDF-1.4"), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	if err := store.PutObject("nope", "x", nil, ""); err == nil {
		t.Error("writing to a missing bucket should fail")
	}
	out, body, err := get(t, client(sb.URL(), admin), &awss3.GetObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String("jobs/1/report.pdf")})
	if err != nil || body != "%PDF-1.4" || aws.ToString(out.ContentType) != "application/pdf" {
		t.Fatalf("SDK read of a service-written object: %q %v", body, err)
	}
	b, err := store.GetObject("analytics-data", "global/summary-2025.csv")
	if err != nil || !bytes.HasPrefix(b, []byte("region,revenue")) {
		t.Fatalf("GetObject: %q %v", b, err)
	}
	if _, err := store.GetObject("analytics-data", "nope"); err == nil {
		t.Error("missing key should fail")
	}
}

func TestUnsupportedOperationsAreModeled(t *testing.T) {
	sb := ststest.Sandbox(t, nil)
	c := client(sb.URL(), admin)
	_, err := c.GetBucketPolicy(ctx, &awss3.GetBucketPolicyInput{Bucket: aws.String("analytics-data")})
	ststest.WantAPIError(t, err, "NotImplemented", 501)
	if _, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{}); err != nil {
		t.Fatal(err)
	}
	if n := sb.Env.Stats.Get("s3:Unsupported"); n != 1 {
		t.Errorf("s3:Unsupported counted %d", n)
	}
}
