package main

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"
)

// The calibration's figures: CPU and wall nanoseconds per unit, and wall ÷
// CPU, the share of the time the thread was not running.
func TestCalibrationMaths(t *testing.T) {
	got := calibration(2000, 70*time.Millisecond, 98*time.Millisecond)
	want := Calibration{Units: 2000, CPUNs: 35000, WallNs: 49000, WallOnCPU: 1.4}
	if got == nil || *got != want {
		t.Fatalf("calibration(2000, 70ms, 98ms) = %+v, want %+v", got, want)
	}
	// 3 units in 1,000 ns: 333.3 ns per unit (rounded to 0.1), wall = CPU.
	if got := calibration(3, time.Microsecond, time.Microsecond); got == nil || got.CPUNs != 333.3 || got.WallOnCPU != 1 {
		t.Fatalf("calibration(3, 1µs, 1µs) = %+v", got)
	}
	// No CPU clock (0) or no units: no calibration, not a division by zero.
	if got := calibration(2000, 0, time.Second); got != nil {
		t.Fatalf("no CPU time: %+v, want nil", got)
	}
	if got := calibration(0, time.Second, time.Second); got != nil {
		t.Fatalf("no units: %+v, want nil", got)
	}
}

// The memory unit's table is one cycle through every entry (Hull–Dobell),
// checked by walking it, and its steps jump far (not a sequential scan a
// prefetcher would follow).
func TestMemoryWalkIsOneFullCycle(t *testing.T) {
	const n = 1 << 12
	tab := lcgCycle(n)
	seen := make([]bool, n)
	p := uint32(0)
	near := 0
	for i := 0; i < n; i++ {
		if seen[p] {
			t.Fatalf("entry %d visited twice after %d steps: the walk is not one cycle of %d", p, i, n)
		}
		seen[p] = true
		d := int(tab[p]) - int(p)
		if d > -16 && d < 16 { // within one 64-byte line of uint32s
			near++
		}
		p = tab[p]
	}
	if p != 0 {
		t.Fatalf("after %d steps the walk is at %d, not back at 0", n, p)
	}
	if near > n/100 {
		t.Fatalf("%d of %d steps stay within a cache line", near, n)
	}
	if got := memWalk(tab, n); got != 0 {
		t.Fatalf("memWalk(n) = %d, want 0 (a full cycle)", got)
	}
	if got, want := memWalk(tab, 3), tab[tab[tab[0]]]; got != want {
		t.Fatalf("memWalk(3) = %d, want %d", got, want)
	}
}

// The memory part: ns per load, and wall ÷ CPU over both parts.
func TestCalibrationWithMemory(t *testing.T) {
	c := calibration(2000, 70*time.Millisecond, 70*time.Millisecond)
	c.withMem(1000, 30*time.Millisecond, 130*time.Millisecond)
	// 30 ms / 1,000 loads = 30,000 ns; wall (70+130) ÷ CPU (70+30) = 2.
	if c.MemSteps != 1000 || c.MemCPUNs != 30000 || c.MemWallNs != 130000 || c.WallOnCPU != 2 {
		t.Fatalf("withMem: %+v", c)
	}
	c2 := calibration(2000, 70*time.Millisecond, 70*time.Millisecond)
	c2.withMem(1000, 0, time.Second)
	if c2.MemSteps != 0 || c2.WallOnCPU != 1 {
		t.Fatalf("no CPU time for the walk: %+v, want the hash part alone", c2)
	}
}

// The work unit is fixed: the digest chain over the fixed buffer, the same
// in every run, computed here with one-shot sha256.Sum256 of the
// concatenation (not calWork's reused hash).
func TestCalibrationWorkIsFixed(t *testing.T) {
	if len(calBuf) != calBytes || calBuf[0] != 7 || calBuf[1] != 38 || calBuf[9] != 30 /* 286 mod 256 */ {
		t.Fatalf("calBuf is not the fixed pattern: % x…", calBuf[:10])
	}
	var want [sha256.Size]byte
	for range 5 {
		want = sha256.Sum256(append(append([]byte(nil), want[:]...), calBuf...))
	}
	if got := calWork(5); got != want {
		t.Fatalf("calWork(5) = %x, want %x", got, want)
	}
	if calWork(5) != calWork(5) || calWork(5) == calWork(4) {
		t.Fatal("calWork must be deterministic and depend on the number of units")
	}
}

// calibrate measures: CPU time is positive and the wall time at least the
// CPU time (give or take the clocks' granularity).
func TestCalibrateMeasures(t *testing.T) {
	c := calibrate()
	t.Logf("calibration here: %+v", c)
	if c == nil || c.Units != calUnits || c.CPUNs <= 0 || c.WallNs <= 0 || c.MemSteps != calMemSteps || c.MemCPUNs <= 0 {
		t.Fatalf("calibrate() = %+v", c)
	}
	if c.WallOnCPU < 0.95 {
		t.Fatalf("wall ÷ CPU = %v: a single thread cannot use more CPU than wall time", c.WallOnCPU)
	}
}

func TestStealOver(t *testing.T) {
	// 1.2 s of steal over 10 s on 2 cores: 6 % of the machine's CPU.
	if s, share := stealOver(100, 101.2, 10, 2); s != 1.2 || share != 0.06 {
		t.Fatalf("stealOver = %v, %v, want 1.2, 0.06", s, share)
	}
	// A counter that went backwards (a reading failed: 0) is no negative steal.
	if s, share := stealOver(100, 0, 10, 2); s != 0 || share != 0 {
		t.Fatalf("stealOver backwards = %v, %v", s, share)
	}
	if _, share := stealOver(1, 2, 0, 2); share != 0 {
		t.Fatalf("no wall time: share %v", share)
	}
}

// A /proc/PID/status as Linux 6.x writes it (trimmed): the memory lines are
// read, in kB.
const statusFixture = `Name:	dataset-sink
Umask:	0022
State:	S (sleeping)
Pid:	4242
VmPeak:	 2459680 kB
VmSize:	 2393120 kB
VmLck:	       0 kB
VmPin:	       0 kB
VmHWM:	  148480 kB
VmRSS:	  131072 kB
RssAnon:	   61440 kB
RssFile:	   68608 kB
RssShmem:	    1024 kB
VmData:	  262144 kB
VmStk:	     132 kB
Threads:	9
`

func TestParseStatus(t *testing.T) {
	s, ok := parseStatus(strings.NewReader(statusFixture))
	want := memStatus{HWM: 148480, RSS: 131072, Anon: 61440, File: 68608, Shmem: 1024}
	if !ok || s != want {
		t.Fatalf("parseStatus = %+v, %v, want %+v", s, ok, want)
	}
	// A kernel thread has no Vm lines: not a sample.
	if _, ok := parseStatus(strings.NewReader("Name:\tkthreadd\nState:\tS (sleeping)\n")); ok {
		t.Fatal("a status without VmRSS must not be a sample")
	}
	// A unit other than kB is refused rather than misread.
	if _, ok := parseStatus(strings.NewReader("VmRSS:\t 12 MB\n")); ok {
		t.Fatal("VmRSS in MB must be refused")
	}
}

// The tracker keeps the parts of RSS at the sample with the highest VmRSS,
// and the highest VmHWM seen.
func TestMemTrackerKeepsThePeakSample(t *testing.T) {
	var m memTracker
	if m.result() != nil {
		t.Fatal("no sample: no result")
	}
	m.add(memStatus{HWM: 100 << 10, RSS: 100 << 10, Anon: 30 << 10, File: 70 << 10})
	m.add(memStatus{HWM: 150 << 10, RSS: 150 << 10, Anon: 90 << 10, File: 60 << 10})
	m.add(memStatus{HWM: 150 << 10, RSS: 120 << 10, Anon: 50 << 10, File: 70 << 10})
	got := m.result()
	want := MemPeak{HWM: 150, RSS: 150, Anon: 90, File: 60, Samples: 3}
	if got == nil || *got != want {
		t.Fatalf("result = %+v, want %+v", got, want)
	}
}
