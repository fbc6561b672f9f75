package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tipctl/tipctl/tip/awsconf"
	"github.com/tipctl/tipctl/tip/quicksight"
	"github.com/tipctl/tipctl/tip/s3ag"
)

// The demo's S3 Access Grants and QuickSight steps, played with alice's
// identity-enhanced session.
func init() { demoSteps = append(demoSteps, (*demo).s3AccessGrants, (*demo).quickSightSnapshot) }

// s3Client returns a path-style S3 client on the sandbox with creds.
func (d *demo) s3Client(c aws.Credentials) (*s3.Client, error) {
	cfg, err := awsconf.New(awsconf.Options{Region: d.prof.Region, Endpoint: d.prof.EndpointURL, HTTPClient: d.hc,
		Credentials: credentials.StaticCredentialsProvider{Value: c}})
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), nil
}

func (d *demo) s3AccessGrants() error {
	if err := d.do("s3 read", func() (string, error) {
		c, err := s3ag.GetDataAccess(d.ctx, d.mgr, s3ag.Request{Target: "s3://analytics-data/emea/", Permission: "READ"})
		if err != nil {
			return "", err
		}
		cl, err := d.s3Client(c.AWS())
		if err != nil {
			return "", err
		}
		list, err := cl.ListObjectsV2(d.ctx, &s3.ListObjectsV2Input{Bucket: aws.String("analytics-data"), Prefix: aws.String("emea/")})
		if err != nil {
			return "", err
		}
		if len(list.Contents) == 0 {
			return "", errors.New("emea/ is empty")
		}
		obj, err := cl.GetObject(d.ctx, &s3.GetObjectInput{Bucket: aws.String("analytics-data"), Key: list.Contents[0].Key})
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		return fmt.Sprintf("GetDataAccess matched %s (grantee %s %s)\nalice listed %d objects under emea/ and read %s (%d bytes)",
			c.MatchedGrantTarget, c.Grantee.Type, c.Grantee.Identifier, len(list.Contents), aws.ToString(list.Contents[0].Key), len(body)), nil
	}); err != nil {
		return err
	}
	if err := d.do("s3 refused", func() (string, error) {
		_, err := s3ag.GetDataAccess(d.ctx, d.mgr, s3ag.Request{Target: "s3://analytics-data/apac/", Permission: "READ"})
		var denied *s3ag.AccessDeniedError
		if !errors.As(err, &denied) {
			return "", fmt.Errorf("apac/ was not refused: %v", err)
		}
		return "apac/ refused: " + denied.Error(), nil
	}); err != nil {
		return err
	}
	return d.do("s3 write", func() (string, error) {
		c, err := s3ag.GetDataAccess(d.ctx, d.mgr, s3ag.Request{Target: "s3://analytics-data/users/alice/", Permission: "READWRITE"})
		if err != nil {
			return "", err
		}
		cl, err := d.s3Client(c.AWS())
		if err != nil {
			return "", err
		}
		key := "users/alice/demo-" + time.Now().UTC().Format("20060102T150405") + ".csv"
		if _, err := cl.PutObject(d.ctx, &s3.PutObjectInput{Bucket: aws.String("analytics-data"), Key: aws.String(key),
			Body: strings.NewReader("region,revenue\nEMEA,42\n")}); err != nil {
			return "", err
		}
		return fmt.Sprintf("alice wrote s3://analytics-data/%s with READWRITE credentials scoped to %s", key, c.MatchedGrantTarget), nil
	})
}

func (d *demo) quickSightSnapshot() error {
	return d.do("quicksight", func() (string, error) {
		base, err := awsconf.New(awsconf.Options{Region: d.prof.Region, Endpoint: d.prof.EndpointURL, HTTPClient: d.hc})
		if err != nil {
			return "", err
		}
		admin := base.Copy()
		admin.Credentials = credentials.NewStaticCredentialsProvider(d.prof.SandboxAdminKeyID, d.prof.SandboxAdminSecretKey, "")
		res, err := quicksight.Snapshot(d.ctx, quicksight.SnapshotRequest{
			AWS: base, Admin: &admin, AccountID: d.sb.Env.World.AccountID, Dashboard: "sales-overview",
			Session: quicksight.NewCredentials(func(ctx context.Context, force bool) (aws.Credentials, error) {
				c, err := d.mgr.Credentials(ctx, force)
				if err != nil {
					return aws.Credentials{}, err
				}
				return c.AWS(), nil
			}),
			Selection: quicksight.Selection{Formats: []string{quicksight.FormatPDF, quicksight.FormatCSV, quicksight.FormatExcel}},
			OutDir:    d.outDir,
		})
		if err != nil {
			return "", err
		}
		names := make([]string, 0, len(res.Files))
		for _, f := range res.Files {
			names = append(names, filepath.Base(f))
		}
		return fmt.Sprintf("sales-overview snapshot for alice (row-level security: EMEA only) in %d job(s)\n%d files in %s/: %s",
			len(res.Jobs), len(res.Files), d.outDir, strings.Join(names, ", ")), nil
	})
}
