package ner

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTimer measures the CPU time of the calling thread (the goroutine is
// locked to it), so that other processes on a shared machine do not count.
type cpuTimer struct{}

func (cpuTimer) start() { runtime.LockOSThread() }
func (cpuTimer) stop()  { runtime.UnlockOSThread() }

func (cpuTimer) now() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
