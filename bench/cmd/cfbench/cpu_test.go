package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestBusySecondsCountsEveryFieldButIdleAndIOWait(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	stat := "cpu  1000 200 300 9000 500 10 20 30 40 50\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n"
	// 1000+200+300+10+20+30 ticks = 1560 = 15.6 s; idle, iowait and guest (in user) left out.
	// steal is the 8th field: 30 ticks.
	if got, steal := busySeconds(strings.NewReader(stat)); got != 15.6 || steal != 0.3 {
		t.Fatalf("busySeconds = %v, %v, want 15.6, 0.3", got, steal)
	}
	if got, steal := busySeconds(strings.NewReader("intr 1\n")); got != 0 || steal != 0 {
		t.Fatalf("no cpu line: %v, %v, want 0, 0", got, steal)
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
