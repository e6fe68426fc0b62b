package threadcpu

import (
	"time"

	"golang.org/x/sys/unix"
)

// Now is the CPU time the calling thread has used (CLOCK_THREAD_CPUTIME_ID),
// or the wall clock if the system refuses to read it.
func Now() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
