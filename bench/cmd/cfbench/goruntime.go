package main

import "runtime/metrics"

// The Go runtime's own account of a service's CPU (runtime/metrics
// /cpu/classes/..., on every service's /metrics through pkg/ops): how much of
// a stage's CPU per event is its garbage collector, and how much of that the
// idle-priority mark workers did — GC work the runtime schedules only on a P
// with nothing else to run, so it grows with the machine's spare CPU.
//
// The classes are the runtime's estimate in P-time (GOMAXPROCS × wall, split
// by what each P did), not the kernel's CPU time: a P's thread that the kernel
// does not run (a loaded machine) still accrues its class. Compare them with
// each other and use them as shares, not as exact seconds.

// goRuntimeMetrics are the runtime metrics recorded per service: key in the
// run JSON, Prometheus name (client_golang's Go collector), runtime/metrics
// name (cfbench's own process, the pass-through baselines).
var goRuntimeMetrics = []struct{ key, prom, rt string }{
	{"gc_mark_assist_s", "go_cpu_classes_gc_mark_assist_cpu_seconds_total", "/cpu/classes/gc/mark/assist:cpu-seconds"},
	{"gc_mark_dedicated_s", "go_cpu_classes_gc_mark_dedicated_cpu_seconds_total", "/cpu/classes/gc/mark/dedicated:cpu-seconds"},
	{"gc_mark_idle_s", "go_cpu_classes_gc_mark_idle_cpu_seconds_total", "/cpu/classes/gc/mark/idle:cpu-seconds"},
	{"gc_pause_s", "go_cpu_classes_gc_pause_cpu_seconds_total", "/cpu/classes/gc/pause:cpu-seconds"},
	{"gc_total_s", "go_cpu_classes_gc_total_cpu_seconds_total", "/cpu/classes/gc/total:cpu-seconds"},
	{"scavenge_s", "go_cpu_classes_scavenge_total_cpu_seconds_total", "/cpu/classes/scavenge/total:cpu-seconds"},
	{"user_s", "go_cpu_classes_user_cpu_seconds_total", "/cpu/classes/user:cpu-seconds"},
	{"idle_s", "go_cpu_classes_idle_cpu_seconds_total", "/cpu/classes/idle:cpu-seconds"},
	{"gc_cycles", "go_gc_cycles_total_gc_cycles_total", "/gc/cycles/total:gc-cycles"},
	{"heap_goal_bytes", "go_gc_heap_goal_bytes", "/gc/heap/goal:bytes"},
}

// heapGoal is the one gauge of goRuntimeMetrics: goRuntimeOver keeps its
// value at the end instead of a difference.
const heapGoal = "heap_goal_bytes"

// readGoRuntime reads a service's runtime metrics from its /metrics; nil when
// it does not answer or exposes none of them.
func readGoRuntime(opsAddr string) map[string]float64 {
	names := make([]string, len(goRuntimeMetrics))
	for i, m := range goRuntimeMetrics {
		names[i] = m.prom
	}
	got := metricFamilies(opsAddr, names...)
	if len(got) == 0 {
		return nil
	}
	out := map[string]float64{}
	for _, m := range goRuntimeMetrics {
		if v, ok := got[m.prom]; ok {
			out[m.key] = v
		}
	}
	return out
}

// selfGoRuntime reads cfbench's own runtime metrics (the pass-through loops
// run in this process).
func selfGoRuntime() map[string]float64 {
	samples := make([]metrics.Sample, len(goRuntimeMetrics))
	for i, m := range goRuntimeMetrics {
		samples[i].Name = m.rt
	}
	metrics.Read(samples)
	out := map[string]float64{}
	for i, m := range goRuntimeMetrics {
		switch samples[i].Value.Kind() {
		case metrics.KindFloat64:
			out[m.key] = samples[i].Value.Float64()
		case metrics.KindUint64:
			out[m.key] = float64(samples[i].Value.Uint64())
		}
	}
	return out
}

// goRuntimeOver is what the runtime counted between two readings (the heap
// goal: its value at the second); nil unless both readings have figures.
func goRuntimeOver(before, after map[string]float64) map[string]float64 {
	if len(before) == 0 || len(after) == 0 {
		return nil
	}
	out := map[string]float64{}
	for k, v := range after {
		b, ok := before[k]
		switch {
		case k == heapGoal:
			out[k] = v
		case ok:
			out[k] = round(v-b, 3)
		}
	}
	return out
}

// sumGoRuntime adds the readings of a group's processes (heap goal: the
// largest); nil if any process has none.
func sumGoRuntime(each []map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range each {
		if m == nil {
			return nil
		}
		for k, v := range m {
			if k == heapGoal {
				out[k] = max(out[k], v)
			} else {
				out[k] += v
			}
		}
	}
	return out
}

// withoutIdleGC is a process's CPU seconds less the runtime's idle-priority
// GC mark time (at most all of it): the CPU the stage costs when the machine
// has no spare core for the runtime to spend on marking early. ok is false
// without a runtime reading.
func withoutIdleGC(cpu float64, rt map[string]float64) (float64, bool) {
	idle, ok := rt["gc_mark_idle_s"]
	if !ok {
		return cpu, false
	}
	return max(0, cpu-idle), true
}

// gcDetail is what a `*.cpu` figure's detail says about the runtime over the
// measurement: the readings themselves, GC and idle-mark CPU per event and
// their shares of the process CPU (cpu seconds).
func gcDetail(rt map[string]float64, cpu float64, records int64) map[string]any {
	if rt == nil || records <= 0 {
		return nil
	}
	per := func(s float64) float64 { return round(s*1e6/float64(records), 1) }
	share := func(s float64) float64 {
		if cpu <= 0 {
			return 0
		}
		return round(s/cpu, 3)
	}
	d := map[string]any{"runtime": rt,
		"gc_us_per_event": per(rt["gc_total_s"]), "gc_mark_idle_us_per_event": per(rt["gc_mark_idle_s"]),
		"gc_share": share(rt["gc_total_s"]), "gc_mark_idle_share": share(rt["gc_mark_idle_s"]),
		"gc_cycles_per_10k_events": round(rt["gc_cycles"]*1e4/float64(records), 2)}
	if c, ok := withoutIdleGC(cpu, rt); ok {
		d["cpu_us_per_event_without_idle_gc"] = per(c)
	}
	return d
}

// goRuntime reads every chain service's runtime metrics.
func (c *chain) goRuntime() map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for name, p := range c.procs {
		if rt := readGoRuntime(p.OpsAddr); rt != nil {
			out[name] = rt
		}
	}
	return out
}

// goRuntime reads the group's runtime metrics, summed over its processes.
func (g procGroup) goRuntime() map[string]float64 {
	each := make([]map[string]float64, len(g))
	for i, p := range g {
		each[i] = readGoRuntime(p.OpsAddr)
	}
	return sumGoRuntime(each)
}
