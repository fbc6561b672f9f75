package s3_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tipctl/tipctl/sandbox"
)

// BenchmarkPutObjectState measures a 6 KB PutObject with and without a
// --state directory, and with the store already holding many objects: an
// object write costs its own file (write, fsync, rename, fsync of its
// directory), not the size of the store.
func BenchmarkPutObjectState(b *testing.B) {
	body := bytes.Repeat([]byte("r,1,2\n"), 1000)
	for _, c := range []struct {
		name    string
		state   bool
		prefill int
	}{{"memory", false, 0}, {"state", true, 0}, {"state-5000-objects", true, 5000}} {
		b.Run(c.name, func(b *testing.B) {
			opts := sandbox.Options{}
			if c.state {
				opts.StateDir = b.TempDir()
			}
			sb, err := sandbox.Start(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer sb.Close()
			cl := client(sb.URL(), admin)
			for i := 0; i < c.prefill; i++ {
				if _, err := cl.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String(fmt.Sprintf("fill/%d", i)),
					Body: bytes.NewReader(body)}); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := cl.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("quicksight-snapshots"), Key: aws.String(fmt.Sprintf("bench/%d", i%100)),
					Body: bytes.NewReader(body)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
