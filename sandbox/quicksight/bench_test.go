package quicksight_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
)

// BenchmarkSnapshotThreeFormats measures a registered user's snapshot job
// from StartDashboardSnapshotJob to the files in the bucket: a PDF of the
// overview sheet, a CSV of the detail table and a three-visual workbook. Job
// phases are set to 1ms so that the figure is the sandbox's own work.
func BenchmarkSnapshotThreeFormats(b *testing.B) {
	sb, store := start(b, timedWorld("1ms", "1ms"))
	c := clientFor(sb, quickSightSession(b, sb, "carol@example.com"))
	cfg := &types.SnapshotConfiguration{
		FileGroups: []types.SnapshotFileGroup{pdfFile("overview"), csvFile("by-region", "sales-detail"),
			excelFile("by-region", "country-table", "product-pivot", "sales-detail")},
		DestinationConfiguration: dest("snapshots"),
	}
	var size int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d", i)
		if _, err := startJob(c, id, nil, cfg); err != nil {
			b.Fatal(err)
		}
		if d := waitEvery(b, c, id, 500*time.Microsecond); d.JobStatus != types.SnapshotJobStatusCompleted {
			b.Fatalf("job %s", d.JobStatus)
		}
		size = 0
		for _, g := range uris(b, result(b, c, id).Result.RegisteredUsers[0].FileGroups) {
			size += len(store.fetch(b, g[0]))
		}
	}
	b.ReportMetric(float64(size), "bytes/snapshot")
}
