package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestBenchmarksMDIsGenerated: BENCHMARKS.md is exactly what bench/results and the
// template give, so no figure in it was typed or picked by hand.
func TestBenchmarksMDIsGenerated(t *testing.T) {
	root := repoRoot(t)
	in, err := load(root)
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("BENCHMARKS.md differs from bench/results at line %d:\n  file:      %q\n  generated: %q\nrun `go run ./bench/cmd/benchmd`", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("BENCHMARKS.md differs from bench/results (%d lines vs %d generated): run `go run ./bench/cmd/benchmd`", len(gl), len(wl))
	}
}

// TestBenchDurationsAgree: README.md and mk/bench.mk state the measured duration
// of `make bench` and the budget that BENCHMARKS.md states.
func TestBenchDurationsAgree(t *testing.T) {
	root := repoRoot(t)
	in, err := load(root)
	if err != nil {
		t.Fatal(err)
	}
	phrase := build(in).Duration()
	for _, f := range append([]string{"BENCHMARKS.md"}, DurationFiles...) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), phrase) {
			t.Errorf("%s does not state %q (run `go run ./bench/cmd/benchmd`)", f, phrase)
		}
		if n := len(durationRE.FindAll(b, -1)); n != 1 {
			t.Errorf("%s states the bench duration %d times, want once", f, n)
		}
	}
}

// The figures follow the rules: medians over current comparable runs, stale
// measurements apart, fewer than MinRuns marked.
func TestSummaryRules(t *testing.T) {
	mk := func(id string, runs ...float64) []*run {
		var out []*run
		for i, v := range runs {
			out = append(out, &run{RunID: "2026010" + string(rune('1'+i)) + "T000000Z", Settings: map[string]any{"a": 1},
				Figures: []figure{{ID: id, Value: v, Unit: "events/s"}}})
		}
		return out
	}
	in := &input{runs: mk("x.rate", 10, 30, 20, 1000), fixes: []fix{{ID: "f", FirstRun: "20260102T000000Z", Figures: []string{"x.*"}}}, budget: "5m"}
	in.runs[3].Settings = map[string]any{"a": 2} // the newest run's settings are current: only it is comparable
	rp := build(in)
	s := rp.series[0]
	if got := values(s.usable(), false); len(got) != 1 || got[0] != 1000 {
		t.Fatalf("usable %v", got)
	}
	in.runs[3].Settings = map[string]any{"a": 1}
	rp = build(in)
	s = rp.series[0]
	if got := values(s.usable(), false); len(got) != 3 || median(got) != 30 {
		t.Fatalf("usable %v: the run before the fix is stale, the others pooled", got)
	}
	if got := values(s.stale(), false); len(got) != 1 || got[0] != 10 {
		t.Fatalf("stale %v", got)
	}
	table := rp.summaryTable()
	if !strings.Contains(table, "30 (20–1,000, 3 runs) events/s") || !strings.Contains(table, "| ok |") {
		t.Fatalf("summary table:\n%s", table)
	}
	in.runs = in.runs[:3]
	if table := build(in).summaryTable(); !strings.Contains(table, "insufficient: 2 of 3 runs") {
		t.Fatalf("two current runs must be insufficient:\n%s", table)
	}
}

// TestNoFullRunKeepsTheDurationPhrase: when no full run has the newest run's
// settings (a run of some phases after the data generator changed), there is
// no duration to state — not "+Inf–-Inf min (0 runs)", which the files would
// then keep for good (the phrase pattern no longer matches it).
func TestNoFullRunKeepsTheDurationPhrase(t *testing.T) {
	in := &input{runs: []*run{{RunID: "20260101T000000Z", Settings: map[string]any{"stage_events": 1},
		Figures: []figure{{ID: "filter.drain", Value: 1}}}}, budget: "14m"}
	if d := build(in).Duration(); d != "" {
		t.Fatalf("Duration() = %q without a full run", d)
	}
}

// cal is a figure's noise record with calibrations before and after (CPU ns
// per unit).
func cal(f figure, before, after float64) figure {
	if before > 0 {
		f.Noise.CalBefore = &calibration{CPUNs: before, WallOnCPU: 1.1}
	}
	if after > 0 {
		f.Noise.CalAfter = &calibration{CPUNs: after, WallOnCPU: 1.3}
	}
	return f
}

// A CPU-per-event figure is shown next to its host-normalised value: raw ×
// (median calibration ÷ the run's calibration), each run's calibration the
// mean of before and after. Worked by hand: calibrations 30, 30 and 42 µs
// (the third host 1.4× slower: before 40, after 44), raw 30, 31 and 42
// µs/event; the median calibration is 30, so the third run counts 42 × 30/42
// = 30; normalised 30, 31, 30: median 30 (30–31).
func TestHostNormalisedCPUPerEvent(t *testing.T) {
	var runs []*run
	for i, c := range []struct{ before, after, value float64 }{{30000, 30000, 30}, {29000, 31000, 31}, {40000, 44000, 42}} {
		runs = append(runs, &run{RunID: "2026010" + string(rune('1'+i)) + "T000000Z", Settings: map[string]any{"a": 1},
			Figures: []figure{
				cal(figure{ID: "filter.cpu", Value: c.value, Unit: "µs/event"}, c.before, c.after),
				cal(figure{ID: "filter.drain", Value: 1000 / c.value, Unit: "events/s"}, c.before, c.after),
			}})
	}
	// The memory walk's calibration of the third run: 125 ns per load against
	// 100 for the others (before and after alike): 1.25×.
	for i, r := range runs {
		for j := range r.Figures {
			mem := 100.0
			if i == 2 {
				mem = 125
			}
			r.Figures[j].Noise.CalBefore.MemCPUNs, r.Figures[j].Noise.CalAfter.MemCPUNs = mem, mem
		}
	}
	rp := build(&input{runs: runs, budget: "5m"})
	if got := normalised(rp.series[0].usable()); len(got) != 3 || got[0] != 30 || got[1] != 31 || got[2] != 30 {
		t.Fatalf("normalised = %v, want [30 31 30]", got)
	}
	table := rp.summaryTable()
	if !strings.Contains(table, "| 31 (30–42, 3 runs) µs/event; host-normalised 30 (30–31, 3 runs) µs/event |") {
		t.Fatalf("the raw figure and, next to it, the host-normalised one:\n%s", table)
	}
	if strings.Contains(table, "events/s; host-normalised") {
		t.Fatalf("only CPU-per-event figures are normalised:\n%s", table)
	}
	// The runs table says how slow each run's host was, relative to the
	// median run: the third 42 / 30 = 1.40× (phases: both figures 1.40×).
	runsTable := rp.runsTable()
	if !strings.Contains(runsTable, "| 42 µs/unit, 1.40× (phases 1.40–1.40×); memory 125 ns/load, 1.25× (phases 1.25–1.25×); wall/CPU ≤ 1.30, steal ≤ 0.0 % |") ||
		!strings.Contains(runsTable, "| 30 µs/unit, 1.00× (phases 1.00–1.00×); memory 100 ns/load, 1.00×") {
		t.Fatalf("runs table:\n%s", runsTable)
	}
	if m := rp.matrix(); !strings.Contains(m, "42 (host 1.40×, memory 1.25×)") || strings.Contains(m, "1.4 (host") {
		t.Fatalf("matrix: the host factor next to CPU-per-event values only:\n%s", m)
	}
	// A run without a calibration (before it existed): nothing is normalised,
	// rather than a median of normalised and raw values.
	runs[1].Figures[0].Noise.CalBefore, runs[1].Figures[0].Noise.CalAfter = nil, nil
	rp = build(&input{runs: runs, budget: "5m"})
	if got := normalised(rp.series[0].usable()); got != nil {
		t.Fatalf("normalised with one run uncalibrated = %v, want nil", got)
	}
	if table := rp.summaryTable(); strings.Contains(table, "host-normalised") {
		t.Fatalf("no normalised figure with an uncalibrated run:\n%s", table)
	}
}

// The parts of RSS a run records are figures next to its peak RSS.
func TestRSSPartsAreFigures(t *testing.T) {
	r := &run{RunID: "20260101T000000Z", Settings: map[string]any{"a": 1}, RSS: map[string]float64{"dataset-sink (e2e)": 145}}
	r.Mem = map[string]*struct {
		Anon float64 `json:"rss_anon_mib"`
		File float64 `json:"rss_file_mib"`
	}{"dataset-sink (e2e)": {Anon: 60, File: 70}}
	got := map[string]float64{}
	for _, s := range build(&input{runs: []*run{r}, budget: "5m"}).series {
		got[s.id] = s.all[0].value
	}
	want := map[string]float64{"rss.dataset-sink.e2e": 145, "rss.dataset-sink.e2e.anon": 60, "rss.dataset-sink.e2e.file": 70}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("series %v, want %v", got, want)
		}
	}
}

// An experiment's overrides are settings the committed runs do not have: the
// experiments table must name them.
func TestSettingsDiffNamesSettingsOnlyOneRunHas(t *testing.T) {
	ref := &run{Settings: map[string]any{"topic_prefix": "a", "stage_events": 200000.0, "users": 1.0}}
	exp := &run{Settings: map[string]any{"topic_prefix": "b", "stage_events": 100000.0, "stage_ab_env": map[string]any{"GOGC": "200"}}}
	if got, want := settingsDiff(exp, ref), "stage_ab_env map[GOGC:200], stage_events 100000, users <nil>"; got != want {
		t.Fatalf("settingsDiff = %q, want %q", got, want)
	}
}
