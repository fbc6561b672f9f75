// Package cttest is test support for the audit trail: it plays a person's
// trusted-identity-propagation day against a sandbox through the real
// clients (tip/exchange for the chain, aws-sdk-go-v2 for S3 Access Grants
// and S3), so that tests of CloudTrail, `tipctl audit` and the console see
// the events a real day makes.
package cttest

import (
	"context"
	"errors"
	"io"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/smithy-go"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/exchange"
)

// Day is what the person's day produced.
type Day struct {
	// Enhanced are the identity-enhanced session's credentials.
	Enhanced aws.Credentials
	// UserID is the person's Identity Center user id.
	UserID string
	// ReadKey is the object read under the allowed prefix.
	ReadKey string
	// Denied is the refused GetDataAccess error.
	Denied error
}

type fixedEndpoint struct{ u url.URL }

func (f fixedEndpoint) ResolveEndpoint(context.Context, s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: f.u}, nil
}

// PersonDay signs email in at the sandbox IdP, runs the three-step chain,
// asks S3 Access Grants for READ on allowed (e.g. s3://analytics-data/emea/)
// and reads the first object there, then asks for READ on refused, which
// must be denied.
func PersonDay(t testing.TB, sb *sandbox.Sandbox, email, password, allowed, refused string) Day {
	t.Helper()
	ctx := context.Background()
	info := sb.Info()
	roles := info["roles"].(map[string]any)
	res, err := exchange.Run(ctx, exchange.Config{
		AWS:             aws.Config{Region: sb.Env.World.Region, BaseEndpoint: aws.String(sb.URL())},
		ApplicationArn:  info["identity_center"].(map[string]any)["application_arn"].(string),
		BridgeRoleArn:   roles["bridge"].(string),
		EnhancedRoleArn: roles["enhanced"].(string),
		IDToken: func(ctx context.Context) (string, error) {
			return ststest.PasswordLogin(t, sb.URL(), email, password, "openid email profile groups").IDToken, nil
		},
	})
	if err != nil {
		t.Fatalf("the chain for %s: %v", email, err)
	}
	day := Day{Enhanced: res.Credentials, UserID: res.User.UserID}
	u, _ := url.Parse(sb.URL())
	ctl := s3control.New(s3control.Options{Region: sb.Env.World.Region, RetryMaxAttempts: 1,
		Credentials:        credentials.StaticCredentialsProvider{Value: res.Credentials},
		EndpointResolverV2: fixedEndpoint{*u}})
	account := aws.String(sb.Env.World.AccountID)
	got, err := ctl.GetDataAccess(ctx, &s3control.GetDataAccessInput{AccountId: account, Target: aws.String(allowed + "*"), Permission: "READ"})
	if err != nil {
		t.Fatalf("GetDataAccess %s: %v", allowed, err)
	}
	c := got.Credentials
	objects := s3.New(s3.Options{Region: sb.Env.World.Region, BaseEndpoint: aws.String(sb.URL()), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))})
	bucket, prefix := splitS3(allowed)
	list, err := objects.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil || len(list.Contents) == 0 {
		t.Fatalf("listing %s: %v (%d objects)", allowed, err, len(list.Contents))
	}
	day.ReadKey = aws.ToString(list.Contents[0].Key)
	obj, err := objects.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: list.Contents[0].Key})
	if err != nil {
		t.Fatalf("reading %s: %v", day.ReadKey, err)
	}
	_, _ = io.Copy(io.Discard, obj.Body)
	obj.Body.Close()
	_, err = ctl.GetDataAccess(ctx, &s3control.GetDataAccessInput{AccountId: account, Target: aws.String(refused + "*"), Permission: "READ"})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Fatalf("GetDataAccess %s was not refused: %v", refused, err)
	}
	day.Denied = err
	return day
}

func splitS3(uri string) (bucket, prefix string) {
	rest := uri[len("s3://"):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i], rest[i+1:]
		}
	}
	return rest, ""
}
