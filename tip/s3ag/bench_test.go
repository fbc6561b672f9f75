package s3ag_test

import (
	"testing"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/tip/s3ag"
)

// BenchmarkCachedGetDataAccess measures the cached path of a sub-prefix
// request: read the login and session, list and decrypt the profile's
// cache entries (file store), pick the covering one. No network call.
func BenchmarkCachedGetDataAccess(b *testing.B) {
	sb := ststest.Sandbox(b, nil)
	alice := loggedIn(b, sb, "alice@example.com", "alice-sandbox-pw")
	for _, req := range []s3ag.Request{{Target: "s3://analytics-data/users/alice/", Permission: s3ag.ReadWrite}, {Target: "s3://analytics-data/emea/"}} {
		if _, err := s3ag.GetDataAccess(ctx, alice, req); err != nil {
			b.Fatal(err)
		}
	}
	calls := sb.Env.Stats.Get("s3:GetDataAccess")
	req := s3ag.Request{Target: "s3://analytics-data/emea/2025/q4/", Permission: s3ag.Read}
	for b.Loop() {
		c, err := s3ag.GetDataAccess(ctx, alice, req)
		if err != nil || !c.Cached {
			b.Fatalf("%v %+v", err, c)
		}
	}
	if sb.Env.Stats.Get("s3:GetDataAccess") != calls {
		b.Fatal("the cached path called AWS")
	}
}

func BenchmarkParseS3URI(b *testing.B) {
	for b.Loop() {
		if _, err := s3ag.ParseS3URI("s3://analytics-data/emea/2025/q4/sales.csv"); err != nil {
			b.Fatal(err)
		}
	}
}
