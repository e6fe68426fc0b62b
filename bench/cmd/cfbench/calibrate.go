package main

import (
	"crypto/sha256"
	"runtime"
	"sync"
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
//
// SHA-256 runs in the core's own execution units (sha_ni) on data that stays
// in L1/L2: it tells a slower clock, not a contended memory system. The
// services' work is mostly cache misses (maps, Avro buffers, the GC), so a
// second unit walks a fixed random cycle through a 64 MiB table (twice the
// L3 of the dev VM's EPYC): calMemSteps dependent loads, each a likely
// miss to memory, timed the same way (Mem*: ns per load).
type Calibration struct {
	Units  int     `json:"units"`
	CPUNs  float64 `json:"cpu_ns_per_unit"`
	WallNs float64 `json:"wall_ns_per_unit"`
	// WallOnCPU is over both parts.
	WallOnCPU float64 `json:"wall_per_cpu"`
	MemSteps  int     `json:"mem_steps,omitempty"`
	MemCPUNs  float64 `json:"mem_cpu_ns_per_step,omitempty"`
	MemWallNs float64 `json:"mem_wall_ns_per_step,omitempty"`
}

const (
	calBytes = 64 << 10
	calUnits = 2048 // ~60 ms of CPU on the 2-core dev VM (sha_ni)

	calMemEntries = 1 << 24 // uint32: 64 MiB
	calMemSteps   = 1 << 18
)

// calMem is the memory unit's table, built once: entry i holds the next
// index of a full-period linear congruential sequence (lcgCycle).
var calMem = sync.OnceValue(func() []uint32 { return lcgCycle(calMemEntries) })

// lcgCycle is t[i] = (a·i + c) mod n for a power of two n, with a ≡ 1 (mod 4)
// and c odd: by the Hull–Dobell theorem the walk i → t[i] visits every entry
// once before it returns (one cycle of length n), and a large multiplier
// makes each step land far from the last.
func lcgCycle(n int) []uint32 {
	const a, c = 2654435761, 12345
	t := make([]uint32, n)
	for i := range t {
		t[i] = uint32((uint64(i)*a + c) & uint64(n-1))
	}
	return t
}

// memWalk follows the table for steps dependent loads from entry 0 and
// returns where it ended.
func memWalk(t []uint32, steps int) uint32 {
	var p uint32
	for range steps {
		p = t[p]
	}
	return p
}

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

// calibrate runs the hashing unit calUnits times and the memory walk
// calMemSteps steps, and times both.
func calibrate() *Calibration {
	table := calMem()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w0, c0 := time.Now(), threadCPU()
	calWork(calUnits)
	c1, w1 := threadCPU(), time.Now()
	memWalk(table, calMemSteps)
	c2, w2 := threadCPU(), time.Now()
	cal := calibration(calUnits, c1-c0, w1.Sub(w0))
	if cal != nil {
		cal.withMem(calMemSteps, c2-c1, w2.Sub(w1))
	}
	return cal
}

// withMem adds the memory walk's figures (steps loads in cpu and wall) and
// makes WallOnCPU cover both parts.
func (c *Calibration) withMem(steps int, cpu, wall time.Duration) {
	if steps <= 0 || cpu <= 0 {
		return
	}
	c.MemSteps = steps
	c.MemCPUNs = round(float64(cpu.Nanoseconds())/float64(steps), 2)
	c.MemWallNs = round(float64(wall.Nanoseconds())/float64(steps), 2)
	hashCPU, hashWall := c.CPUNs*float64(c.Units), c.WallNs*float64(c.Units)
	c.WallOnCPU = round((hashWall+float64(wall))/(hashCPU+float64(cpu)), 3)
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
