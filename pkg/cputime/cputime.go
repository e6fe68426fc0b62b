// Package cputime measures the CPU time a test process has used, for
// benchmarks that report CPU per operation: unlike ns/op, that figure does not
// grow when other processes share the cores.
package cputime

import (
	"syscall"
	"testing"
	"time"
)

// Process is the CPU time (user + system, every thread, garbage collection
// included) the calling process has used so far. Take it before and after the
// measured part and subtract; whatever runs in the process between the two
// (copies made between timed parts, other goroutines) is counted too, so
// compare like with like. It fails tb if the kernel does not answer.
func Process(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
