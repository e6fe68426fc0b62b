package cputime

import (
	"testing"
	"time"
)

var sink uint64

// TestProcessCountsCPUNotWallTime: a busy loop shows as CPU time, a sleep
// does not, however long either takes on a loaded machine.
func TestProcessCountsCPUNotWallTime(t *testing.T) {
	const want = 50 * time.Millisecond

	// Sleeping uses (almost) no CPU: a wall clock would count all of it.
	before := Process(t)
	time.Sleep(4 * want)
	if slept := Process(t) - before; slept >= want {
		t.Errorf("a sleep of %v counted %v of CPU time, want well under %v", 4*want, slept, want)
	}

	// Spinning uses CPU: the loop ends once Process has counted want of it,
	// or after a bound of work (seconds of CPU) no machine finds 50 ms short
	// of (nothing counted, or the children's time counted instead).
	before = Process(t)
	x := uint64(1)
	var spun time.Duration
	for i := 0; i < 1<<18 && spun < want; i++ {
		for j := 0; j < 1<<14; j++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		spun = Process(t) - before
	}
	sink = x
	if spun < want {
		t.Errorf("a busy loop counted %v of CPU time, want at least %v", spun, want)
	}
}
