package threadcpu

import (
	"testing"
	"time"
)

// Now counts the thread's CPU time: sleeping 30 ms adds almost nothing (the
// wall clock would add 30 ms), and spinning makes it advance.
func TestNowCountsOnlyThisThreadsCPU(t *testing.T) {
	Lock()
	defer Unlock()
	t0 := Now()
	time.Sleep(30 * time.Millisecond)
	if slept := Now() - t0; slept > 10*time.Millisecond {
		t.Errorf("sleeping 30 ms used %v of CPU", slept)
	}
	// However loaded the machine, a spinning thread gets 2 ms of CPU
	// within 10 s of wall time.
	t0, wall := Now(), time.Now()
	for Now()-t0 < 2*time.Millisecond {
		if time.Since(wall) > 10*time.Second {
			t.Fatalf("spinning 10 s used only %v of CPU", Now()-t0)
		}
	}
}
