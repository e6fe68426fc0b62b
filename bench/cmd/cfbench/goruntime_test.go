package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/ops"
	"go.uber.org/zap"
)

// Every runtime figure cfbench records is read from a real service registry
// (pkg/ops) and from cfbench's own runtime: a renamed metric on either side
// would silently leave the GC figures out of every run.
func TestGoRuntimeReadsEveryFigure(t *testing.T) {
	srv := httptest.NewServer(ops.New(ops.NewRegistry(), zap.NewNop()).Handler())
	defer srv.Close()
	fromService := readGoRuntime(strings.TrimPrefix(srv.URL, "http://"))
	self := selfGoRuntime()
	for _, m := range goRuntimeMetrics {
		if _, ok := fromService[m.key]; !ok {
			t.Errorf("service /metrics has no %s (%s)", m.key, m.prom)
		}
		if _, ok := self[m.key]; !ok {
			t.Errorf("runtime/metrics has no %s (%s)", m.key, m.rt)
		}
	}
	if fromService[heapGoal] <= 0 || self[heapGoal] <= 0 {
		t.Errorf("heap goal %v / %v, want > 0", fromService[heapGoal], self[heapGoal])
	}
	if readGoRuntime("127.0.0.1:1") != nil {
		t.Error("a service that does not answer has runtime figures")
	}
}

func TestGoRuntimeOverAGroupAndWithoutIdleMarking(t *testing.T) {
	before := []map[string]float64{
		{"gc_total_s": 1, "gc_mark_idle_s": 0.5, "gc_cycles": 10, heapGoal: 8 << 20},
		{"gc_total_s": 2, "gc_mark_idle_s": 1, "gc_cycles": 20, heapGoal: 9 << 20},
	}
	after := []map[string]float64{
		{"gc_total_s": 2.5, "gc_mark_idle_s": 1.5, "gc_cycles": 30, heapGoal: 12 << 20},
		{"gc_total_s": 3, "gc_mark_idle_s": 1.5, "gc_cycles": 25, heapGoal: 10 << 20},
	}
	rt := goRuntimeOver(sumGoRuntime(before), sumGoRuntime(after))
	want := map[string]float64{"gc_total_s": 2.5, "gc_mark_idle_s": 1.5, "gc_cycles": 25, heapGoal: 12 << 20}
	for k, v := range want {
		if rt[k] != v {
			t.Fatalf("%s = %v, want %v (all %v)", k, rt[k], v, rt)
		}
	}
	// 10 s of process CPU over 100,000 events: 100 µs/event, 25 of them GC,
	// 15 idle-priority marking; without it 85.
	d := gcDetail(rt, 10, 100_000)
	for k, v := range map[string]float64{"gc_us_per_event": 25, "gc_mark_idle_us_per_event": 15, "gc_share": 0.25,
		"gc_mark_idle_share": 0.15, "cpu_us_per_event_without_idle_gc": 85, "gc_cycles_per_10k_events": 2.5} {
		if d[k] != v {
			t.Fatalf("%s = %v, want %v (all %v)", k, d[k], v, d)
		}
	}
	if c, ok := withoutIdleGC(1, map[string]float64{"gc_mark_idle_s": 1.5}); !ok || c != 0 {
		t.Fatalf("withoutIdleGC beyond the process CPU = %v, %v; want 0, true", c, ok)
	}
	// A process of the group without figures: none for the group, none over the run.
	if sumGoRuntime([]map[string]float64{before[0], nil}) != nil || goRuntimeOver(nil, after[0]) != nil || gcDetail(nil, 10, 1) != nil {
		t.Fatal("figures invented for a group with a process that has none")
	}
}

func TestNoIdleGCFigureIsTheSecondFigure(t *testing.T) {
	f := noIdleGCFigure("filter.cpu", "consent-filter", "passthrough.raw.cpu", 4, map[string]float64{"gc_mark_idle_s": 1}, 100_000)
	if f == nil || f.ID != "filter.cpu.no_idle_gc" || f.Value != 30 || f.Baseline != "passthrough.raw.cpu.no_idle_gc" || f.Unit != "µs/event" {
		t.Fatalf("figure %+v; want filter.cpu.no_idle_gc = 30 µs/event next to passthrough.raw.cpu.no_idle_gc", f)
	}
	if f := noIdleGCFigure("passthrough.raw.cpu", "baseline", "", 4, map[string]float64{"gc_mark_idle_s": 1}, 100_000); f == nil || f.Baseline != "" {
		t.Fatalf("baseline figure %+v, want one without a baseline", f)
	}
	if noIdleGCFigure("filter.cpu", "consent-filter", "", 4, nil, 100_000) != nil {
		t.Fatal("a figure without a runtime reading")
	}
}
