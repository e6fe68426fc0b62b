package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Two /proc/stat readings 10 s apart on a 2-CPU machine whose kernel charges
// busy time by ticks: the busy fields (user … steal) grew by 2.2 s only, while
// the processes' own utime+stime grew by 3.5 s (short bursts between ticks are
// never charged to the busy fields; idle is measured exactly). The machine's
// busy time is its wall time less idle and iowait: 20 − 15.5 − 0.5 = 4 s, so
// what no process accounts for is 0.5 s, never negative.
func TestMachineBusyIsWallLessIdle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// user nice system idle iowait irq softirq steal guest guest_nice
	before := "cpu  1000 200 300 9000 500 10 20 30 40 50\ncpu0 1 2 3 4 5 6 7 8 9 10\ncpu1 1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n"
	after := "cpu  1150 200 360 10550 550 10 20 40 40 50\ncpu0 1 2 3 4 5 6 7 8 9 10\ncpu1 1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n"
	a, okA := parseCPUSample(strings.NewReader(before), t0)
	b, okB := parseCPUSample(strings.NewReader(after), t0.Add(10*time.Second))
	if !okA || !okB || a.cpus != 2 {
		t.Fatalf("parse: %+v %v, %+v %v", a, okA, b, okB)
	}
	if got := b.ticked - a.ticked; math.Abs(got-2.2) > 1e-9 {
		t.Fatalf("busy fields grew by %v, want 2.2", got)
	}
	busy, steal := machineBusy(a, b)
	if math.Abs(busy-4) > 1e-9 || math.Abs(steal-0.1) > 1e-9 {
		t.Fatalf("machineBusy = %v, %v; want 4 (20 CPU-seconds less 15.5 idle, 0.5 iowait), 0.1 steal", busy, steal)
	}
	acc := cpuAccount(map[string]float64{"consent-filter": 2.0, "kafka broker": 1.5}, busy, steal, 10)
	if acc[cpuUnmeasured] != 0.5 {
		t.Fatalf("unmeasured = %v, want 0.5 (all: %v)", acc[cpuUnmeasured], acc)
	}
	// No cpu line, no cpuN lines, a CPU brought online in between, or readings
	// out of order: no machine figure rather than a wrong one.
	if _, ok := parseCPUSample(strings.NewReader("intr 1\n"), t0); ok {
		t.Fatal("parsed a sample without a cpu line")
	}
	three, _ := parseCPUSample(strings.NewReader(after+"cpu2 1 2 3 4 5 6 7 8 9 10\n"), t0.Add(10*time.Second))
	if busy, _ := machineBusy(a, three); busy != 0 {
		t.Fatalf("machineBusy across a CPU count change = %v, want 0", busy)
	}
	if busy, _ := machineBusy(b, a); busy != 0 {
		t.Fatalf("machineBusy backwards = %v, want 0", busy)
	}
}

func TestCPUAccountNamesWhatNoProcessAccountsFor(t *testing.T) {
	got := cpuAccount(map[string]float64{"producer": 5.0, "kafka broker": 8.5}, 20.25, 1.5, 18.8624)
	want := map[string]float64{"producer": 5, "kafka broker": 8.5, "machine": 20.25, "unmeasured": 6.75, "steal": 1.5, "wall": 18.862}
	if len(got) != len(want) {
		t.Fatalf("cpuAccount = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("cpuAccount[%q] = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	// Without a machine figure (no /proc/stat) nothing is invented.
	if got := cpuAccount(map[string]float64{"producer": 1}, 0, 0, 2); len(got) != 2 {
		t.Fatalf("cpuAccount without machine = %v", got)
	}
}

func TestCPUPerEventIsMicrosecondsPerRawEvent(t *testing.T) {
	got := cpuPerEvent(map[string]float64{"wall": 18.9, "dataset-sink": 5.56, "machine": 37.7}, 100_000)
	if len(got) != 2 || got["dataset-sink"] != 55.6 || got["machine"] != 377 {
		t.Fatalf("cpuPerEvent = %v, want dataset-sink 55.6, machine 377, no wall", got)
	}
	if got := cpuPerEvent(map[string]float64{"producer": 1}, 0); len(got) != 0 {
		t.Fatalf("no events: %v", got)
	}
}

func TestInfraPIDsReadsRunningServicesOnly(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "pids"), 0o755))
	self := os.Getpid()
	must(os.WriteFile(filepath.Join(dir, "pids", "kafka.pid"), []byte(strconv.Itoa(self)+"\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "pids", "redis.pid"), []byte("not a pid"), 0o644))
	// A pid far above pid_max: a process that no longer runs.
	must(os.WriteFile(filepath.Join(dir, "pids", "schema-registry.pid"), []byte("2147483646"), 0o644))
	got := infraPIDs(dir)
	if len(got) != 1 || got["kafka broker"] != self {
		t.Fatalf("infraPIDs = %v, want only kafka broker = %d", got, self)
	}
	if got := infraPIDs(""); len(got) != 0 {
		t.Fatalf("no services dir: %v", got)
	}
}

func TestCPUFigureIDs(t *testing.T) {
	for name, want := range map[string]string{
		"kafka broker":      "e2e.max.cpu.kafka_broker",
		"cfbench (loadgen)": "e2e.max.cpu.cfbench_loadgen",
		"dataset-sink":      "e2e.max.cpu.dataset_sink",
		"machine":           "e2e.max.cpu.machine",
	} {
		if got := cpuFigureID("max", name); got != want {
			t.Errorf("cpuFigureID(%q) = %q, want %q", name, got, want)
		}
	}
}
