package cloudtrail_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tipctl/tipctl/sandbox"
	"github.com/tipctl/tipctl/sandbox/cloudtrail/cttest"
	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// signed builds a SigV4-signed request once; the benchmark replays it
// straight into the sandbox's handler, so only server work is measured.
func signed(b *testing.B, sb *sandbox.Sandbox, c aws.Credentials, method, path, service, contentType, body string, hdr map[string]string) func() *http.Request {
	b.Helper()
	r := httptest.NewRequest(method, sb.URL()+path, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	r.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, r, hash, service, "us-east-1", sb.Env.Now()); err != nil {
		b.Fatal(err)
	}
	return func() *http.Request {
		r2 := r.Clone(context.Background())
		r2.Body = io.NopCloser(bytes.NewReader([]byte(body)))
		return r2
	}
}

// BenchmarkRecorder compares the server-side cost of calls with the
// CloudTrail recorder on and off.
func BenchmarkRecorder(b *testing.B) {
	sb := ststest.Sandbox(b, nil)
	day := cttest.PersonDay(b, sb, "alice@example.com", "alice-sandbox-pw", emea, apac)
	admin := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	ops := []struct {
		name string
		req  func() *http.Request
	}{
		{"S3GetObject", signed(b, sb, admin, "GET", "/analytics-data/"+day.ReadKey, "s3", "", "", nil)},
		{"GetDataAccess", signed(b, sb, day.Enhanced, "GET", "/v20180820/accessgrantsinstance/dataaccess?"+url.Values{
			"target": {emea + "*"}, "permission": {"READ"}}.Encode(), "s3", "", "", map[string]string{"X-Amz-Account-Id": sb.Env.World.AccountID})},
		{"GetCallerIdentity", signed(b, sb, day.Enhanced, "POST", "/", "sts", "application/x-www-form-urlencoded; charset=utf-8",
			url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}.Encode(), nil)},
		// Issues credentials: its lineage learnt in call order, built when read.
		{"AssumeRole", signed(b, sb, admin, "POST", "/", "sts", "application/x-www-form-urlencoded; charset=utf-8",
			url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::" + sb.Env.World.AccountID + ":role/quicksight-snapshots"},
				"RoleSessionName": {"bench"}}.Encode(), nil)},
	}
	for _, op := range ops {
		for _, on := range []bool{false, true} {
			name := op.name + "/record=off"
			if on {
				name = op.name + "/record=on"
			}
			b.Run(name, func(b *testing.B) {
				sb.Trail.SetEnabled(on)
				defer sb.Trail.SetEnabled(true)
				w := httptest.NewRecorder()
				sb.ServeHTTP(w, op.req())
				if w.Code != 200 {
					b.Fatalf("%s: %d %s", op.name, w.Code, w.Body.String())
				}
				b.ReportAllocs()
				runtime.GC()
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					w := httptest.NewRecorder()
					sb.ServeHTTP(w, op.req())
					if w.Code != 200 {
						b.Fatalf("%s: %d", op.name, w.Code)
					}
				}
				sb.Trail.Flush() // events are built off the request path; count their cost
				runtime.GC()
				// CPU time (user+system, GC included) is steadier than wall
				// time on a shared machine.
				cpu1 := cpuTime()
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
				// Events not built yet (calls that issue nothing, with no
				// one watching) are built when read: the cost of reading
				// every one of them once.
				b.StopTimer()
				if n := len(sb.Trail.Events()); on && n < min(b.N, sb.Trail.Size()) {
					b.Fatalf("%d events for %d calls", n, b.N)
				}
				b.ReportMetric(float64(cpuTime()-cpu1)/float64(b.N), "read-cpu-ns/op")
			})
		}
	}
}

// cpuTime is this process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
