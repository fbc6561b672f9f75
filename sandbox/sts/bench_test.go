package sts_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
)

// BenchmarkAssumeRoleProvidedContexts measures the last step of the chain:
// a SigV4-signed AssumeRole with an Identity Center context, through
// aws-sdk-go-v2, against the in-process sandbox. It reports p50 and p99
// latency per call.
func BenchmarkAssumeRoleProvidedContexts(b *testing.B) {
	sb, iss := ststest.Start(b, nil)
	ctx := context.Background()
	br := bridge(b, sb, iss, "alice@example.com")
	tok := identityContext(b, sb, iss, br, "alice@example.com")
	client := ststest.STS(sb, br)
	in := enhancedInput(sb, *tok.AwsAdditionalDetails.IdentityContext)
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		out, err := client.AssumeRole(ctx, in)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatalf("AssumeRole: %v", err)
		}
		if out.Credentials == nil {
			b.Fatal("no credentials")
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
