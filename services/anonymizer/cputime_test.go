package anonymizer

import (
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/cputime"
)

// cpuPerOp reports the process's CPU microseconds per iteration since start: a
// figure that, unlike ns/op, does not grow when other processes share the
// cores. Call it after the loop with the CPU time taken just before it.
func cpuPerOp(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(cputime.Process(b)-start)/float64(b.N)/1e3, "cpu-µs/op")
	}
}
