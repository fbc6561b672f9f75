package quicksight_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tipctl/tipctl/sandbox/sts/ststest"
	"github.com/tipctl/tipctl/sandbox/world"
	"github.com/tipctl/tipctl/tip/quicksight"
)

// BenchmarkSnapshotThreeFormats times alice's snapshot of the by-region
// sheet as PDF, CSV and Excel (1 job, 5 files), from the call to the files
// on disk: the identity context and role session (minted once, then
// cached), the dashboard definition, the job, the polls and the downloads.
// "world-timing" keeps the default world's simulated job (100ms queued,
// 300ms running); "instant-jobs" makes it 1ms each, so what is left is
// tipctl's and the sandbox's own time.
func BenchmarkSnapshotThreeFormats(b *testing.B) {
	for _, bc := range []struct{ name, queued, running string }{{"world-timing", "", ""}, {"instant-jobs", "1ms", "1ms"}} {
		b.Run(bc.name, func(b *testing.B) {
			var y []byte
			if bc.queued != "" {
				s := strings.Replace(string(world.DefaultYAML()), "snapshot_jobs:\n    queued: 100ms\n    running: 300ms",
					"snapshot_jobs:\n    queued: "+bc.queued+"\n    running: "+bc.running, 1)
				y = []byte(s)
			}
			sb := ststest.Sandbox(b, y)
			admin := adminConfig(b, sb)
			session := aliceSession(b, sb, admin)
			dir := b.TempDir()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := quicksight.Snapshot(bg, quicksight.SnapshotRequest{AWS: admin, Session: session, Admin: &admin,
					AccountID: account, Dashboard: "sales-overview", OutDir: dir, PollMin: 20 * time.Millisecond,
					Selection: quicksight.Selection{Sheets: []string{"by-region"}, Formats: []string{"PDF", "CSV", "EXCEL"}}})
				if err != nil || len(res.Files) != 5 {
					b.Fatalf("%v %+v", err, res)
				}
			}
		})
	}
}
