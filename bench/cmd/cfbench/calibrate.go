package main

import (
	"crypto/sha256"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Calibration of the host: how long a fixed, deterministic CPU-bound work unit
// took right before or right after a measurement. The same binary on the same
// VM has run the same drain at 32 and at 50 µs of CPU per event (issue 16):
// the host's speed moves, and a CPU-per-event figure can only be compared
// across runs next to how fast the host was when it was measured.
//
// The unit is SHA-256 over calBytes of a fixed buffer, chained (each digest
// is hashed with the buffer again), calUnits times, on one goroutine locked to
// its thread: pure CPU work, no allocation, no I/O, the same instructions in
// every run. It is timed with the thread's CPU clock (how fast the host ran
// the work while it ran it: frequency, cache and memory contention from
// other guests) and with the wall clock (how long it took to get done);
// wall ÷ CPU above 1 is time the thread was not running: other runnable
// threads on this guest's cores, or the hypervisor's steal.
type Calibration struct {
	Units     int     `json:"units"`
	CPUNs     float64 `json:"cpu_ns_per_unit"`
	WallNs    float64 `json:"wall_ns_per_unit"`
	WallOnCPU float64 `json:"wall_per_cpu"`
}

const (
	calBytes = 64 << 10
	calUnits = 2048 // ~70 ms of CPU on the 2-core dev VM (sha_ni)
)

// calBuf is the fixed input: the same bytes in every run.
var calBuf = func() []byte {
	b := make([]byte, calBytes)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}()

// calWork is the work unit, n times; it returns the last digest (so that the
// work cannot be optimised away, and so that a test can tell it is the same
// work every time).
func calWork(n int) [sha256.Size]byte {
	var sum [sha256.Size]byte
	h := sha256.New()
	for range n {
		h.Reset()
		h.Write(sum[:])
		h.Write(calBuf)
		h.Sum(sum[:0])
	}
	return sum
}

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID); 0
// when the system refuses it.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// calibrate runs the work unit calUnits times and times it.
func calibrate() *Calibration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w0, c0 := time.Now(), threadCPU()
	calWork(calUnits)
	c1, w1 := threadCPU(), time.Now()
	return calibration(calUnits, c1-c0, w1.Sub(w0))
}

// calibration is what n units that took cpu of the thread's CPU and wall of
// the wall clock say about the host; nil when the CPU clock gave nothing.
func calibration(n int, cpu, wall time.Duration) *Calibration {
	if n <= 0 || cpu <= 0 {
		return nil
	}
	return &Calibration{
		Units:     n,
		CPUNs:     round(float64(cpu.Nanoseconds())/float64(n), 1),
		WallNs:    round(float64(wall.Nanoseconds())/float64(n), 1),
		WallOnCPU: round(float64(wall)/float64(cpu), 3),
	}
}
