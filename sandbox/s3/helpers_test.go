package s3_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

var ctx = context.Background()

var admin = credentials.NewStaticCredentialsProvider("test", "test", "")

func client(endpoint string, creds aws.CredentialsProvider, opts ...func(*awss3.Options)) *awss3.Client {
	// The checksum defaults are those config.LoadDefaultConfig gives.
	o := awss3.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(endpoint), UsePathStyle: true, RetryMaxAttempts: 1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported, ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported}
	for _, f := range opts {
		f(&o)
	}
	return awss3.New(o)
}

func put(t testing.TB, c *awss3.Client, bucket, key, body string) *awss3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return out
}

func get(t testing.TB, c *awss3.Client, in *awss3.GetObjectInput) (*awss3.GetObjectOutput, string, error) {
	t.Helper()
	out, err := c.GetObject(ctx, in)
	if err != nil {
		return nil, "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return out, string(b), err
}
