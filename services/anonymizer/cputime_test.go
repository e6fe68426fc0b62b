package anonymizer

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time (user + system) the test process has used so far,
// garbage collection included.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerOp reports the process's CPU microseconds per iteration since start: a
// figure that, unlike ns/op, does not grow when other processes share the
// cores. Call it after the loop with the CPU time taken just before it.
func cpuPerOp(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU(b)-start)/float64(b.N)/1e3, "cpu-µs/op")
	}
}
