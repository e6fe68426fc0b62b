package threadcpu

import (
	"testing"
	"time"
)

// Now counts the thread's CPU time: a thread that spins for 30 ms of wall
// time gains about that much, and one that sleeps for 30 ms gains almost
// none (the wall clock would give 30 ms to both).
func TestNowCountsOnlyThisThreadsCPU(t *testing.T) {
	Lock()
	defer Unlock()
	t0 := Now()
	time.Sleep(30 * time.Millisecond)
	slept := Now() - t0
	if slept > 10*time.Millisecond {
		t.Errorf("sleeping 30 ms used %v of CPU", slept)
	}
	t0 = Now()
	wall := time.Now()
	for time.Since(wall) < 30*time.Millisecond {
	}
	if spun := Now() - t0; spun < time.Millisecond {
		t.Errorf("spinning 30 ms used only %v of CPU", spun)
	}
}
