package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/world"
)

// FuzzXMLBodies sends arbitrary XML bodies, correctly signed by the
// administrator, to the S3 operations that decode XML (CompleteMultipartUpload,
// DeleteObjects, CreateBucket): the answer is a success or a modeled 4xx
// error in S3's XML shape, never a 5xx or a panic.
func FuzzXMLBodies(f *testing.F) {
	for _, s := range []string{
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`,
		`<Delete><Object><Key>emea/a.csv</Key></Object><Quiet>true</Quiet></Delete>`,
		`<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`,
		`<Delete>` + string(bytes.Repeat([]byte(`<Object><Key>k</Key></Object>`), 3)) + `</Delete>`,
		`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Delete>&a;</Delete>`,
		``, `<`, `<Delete><Object><Key></Key></Object></Delete>`,
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	w, err := world.Default("http://127.0.0.1:9")
	if err != nil {
		f.Fatal(err)
	}
	sb, err := sandbox.New(w)
	if err != nil {
		f.Fatal(err)
	}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	targets := []struct{ method, path string }{
		{http.MethodPost, "/analytics-data/emea/upload.csv?uploadId=nonexistent"},
		{http.MethodPost, "/analytics-data?delete="},
		{http.MethodPut, "/fuzz-bucket-x"},
	}
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		tg := targets[int(which)%len(targets)]
		r := httptest.NewRequest(tg.method, "http://127.0.0.1:9"+tg.path, bytes.NewReader([]byte(body)))
		sum := sha256.Sum256([]byte(body))
		hash := hex.EncodeToString(sum[:])
		r.Header.Set("X-Amz-Content-Sha256", hash)
		if err := signer.SignHTTP(context.Background(), creds, r, hash, "s3", "us-east-1", sb.Env.Now()); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: HTTP %d %s", tg.method, tg.path, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 {
			var e struct {
				Code string `xml:"Code"`
			}
			if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" {
				t.Fatalf("error reply is not S3's XML error shape: %q", rec.Body.String())
			}
		}
		if tg.method == http.MethodPut && rec.Code == 200 {
			// Keep the world small: remove a bucket a fuzz input created.
			del := httptest.NewRequest(http.MethodDelete, "http://127.0.0.1:9"+tg.path, nil)
			e := hex.EncodeToString(func() []byte { s := sha256.Sum256(nil); return s[:] }())
			del.Header.Set("X-Amz-Content-Sha256", e)
			_ = signer.SignHTTP(context.Background(), creds, del, e, "s3", "us-east-1", sb.Env.Now())
			sb.ServeHTTP(httptest.NewRecorder(), del)
		}
	})
}
