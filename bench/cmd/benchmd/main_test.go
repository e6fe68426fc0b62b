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
