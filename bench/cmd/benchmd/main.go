// Command benchmd writes BENCHMARKS.md from the result files of `make bench`
// (bench/results/*.json), the list of fixes that made earlier measurements stale
// (bench/results/fixes.json) and the prose around the tables
// (bench/BENCHMARKS.tmpl.md). Nothing in the tables is typed by hand: every figure
// is the median of the comparable, current runs with its min–max and the number
// of runs; fewer than three runs are marked insufficient; measurements taken
// before a later fix are marked stale and kept apart; every run and every value
// is listed. A test (TestBenchmarksMDIsGenerated) fails when BENCHMARKS.md and
// the results disagree.
//
//	go run ./bench/cmd/benchmd            # rewrite BENCHMARKS.md
//	go run ./bench/cmd/benchmd -check     # exit 1 when BENCHMARKS.md is stale
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// MinRuns is how many comparable current runs a figure needs to be reported as
// a measurement rather than marked insufficient.
const MinRuns = 3

type figure struct {
	ID            string  `json:"id"`
	Stage         string  `json:"stage"`
	What          string  `json:"what"`
	Value         float64 `json:"value"`
	Unit          string  `json:"unit"`
	Baseline      string  `json:"baseline"`
	BaselineValue float64 `json:"baseline_value"`
	Ratio         float64 `json:"ratio"`
	Noise         struct {
		Load1      float64      `json:"load1"`
		Busy       float64      `json:"cpu_busy_1s_before"`
		Noisy      bool         `json:"noisy"`
		CalBefore  *calibration `json:"calibration_before"`
		CalAfter   *calibration `json:"calibration_after"`
		StealShare float64      `json:"steal_share"`
	} `json:"noise"`
}

// calibration is cfbench's host calibration (bench/cmd/cfbench/calibrate.go):
// the CPU and wall time of a fixed work unit right before or after a
// measurement.
type calibration struct {
	CPUNs     float64 `json:"cpu_ns_per_unit"`
	WallOnCPU float64 `json:"wall_per_cpu"`
	MemCPUNs  float64 `json:"mem_cpu_ns_per_step"`
}

// The two parts of a calibration: the hashing unit (CPU ns per unit), which
// the host-normalised figures use, and the memory walk (CPU ns per load).
func hashPart(c *calibration) float64 { return c.CPUNs }
func memPart(c *calibration) float64  { return c.MemCPUNs }

// hostNs is the host's speed when the figure was measured: the mean CPU ns
// per hashing unit of its calibrations before and after; 0 without one
// (runs before the calibration existed).
func (f figure) hostNs() float64 { return f.cal(hashPart) }

// cal is the mean of one part of the figure's calibrations, 0 without.
func (f figure) cal(part func(*calibration) float64) float64 {
	var sum float64
	var n int
	for _, c := range []*calibration{f.Noise.CalBefore, f.Noise.CalAfter} {
		if c != nil && part(c) > 0 {
			sum += part(c)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// wallOnCPU is the larger wall ÷ CPU of the figure's calibrations (how much
// the calibrating thread waited for a core), 0 without one.
func (f figure) wallOnCPU() float64 {
	var w float64
	for _, c := range []*calibration{f.Noise.CalBefore, f.Noise.CalAfter} {
		if c != nil {
			w = math.Max(w, c.WallOnCPU)
		}
	}
	return w
}

type run struct {
	RunID      string             `json:"run_id"`
	StartedAt  time.Time          `json:"started_at"`
	FinishedAt time.Time          `json:"finished_at"`
	Machine    map[string]any     `json:"machine"`
	Settings   map[string]any     `json:"settings"`
	Figures    []figure           `json:"figures"`
	Discarded  []figure           `json:"discarded_noisy"`
	Errors     []string           `json:"errors"`
	RSS        map[string]float64 `json:"peak_rss_mib"`
	// Mem: the parts of RSS at the highest sample (cfbench MemPeak).
	Mem map[string]*struct {
		Anon float64 `json:"rss_anon_mib"`
		File float64 `json:"rss_file_mib"`
	} `json:"peak_mem"`
	Withdrawal *struct {
		StaleAllows int `json:"stale_allows"`
		WrongReason int `json:"wrong_reason"`
		Timeouts    int `json:"timeouts"`
	} `json:"withdrawal"`
	file string
}

// fix is an entry of fixes.json: a change to the code after which the
// measurements of the matching figures taken in earlier runs are stale.
type fix struct {
	ID       string   `json:"id"`
	Commit   string   `json:"commit"`
	Title    string   `json:"title"`
	FirstRun string   `json:"first_run"` // the first run measured with the fix
	Figures  []string `json:"figures"`   // path.Match patterns over figure ids
}

func (f fix) covers(id string) bool {
	for _, p := range f.Figures {
		if ok, _ := path.Match(p, id); ok {
			return true
		}
	}
	return false
}

type input struct {
	runs        []*run // by run id
	experiments []*run
	fixes       []fix
	tmpl        string
	budget      string // BENCH_BUDGET of mk/bench.mk, e.g. "14m"
}

func readRuns(dir string) ([]*run, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*run
	for _, f := range files {
		if filepath.Base(f) == "fixes.json" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r run
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		r.file = f
		out = append(out, &r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RunID < out[j].RunID })
	return out, nil
}

func load(root string) (*input, error) {
	in := &input{}
	var err error
	if in.runs, err = readRuns(filepath.Join(root, "bench", "results")); err != nil {
		return nil, err
	}
	if len(in.runs) == 0 {
		return nil, errors.New("no results in bench/results")
	}
	if in.experiments, err = readRuns(filepath.Join(root, "bench", "results", "experiments")); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, "bench", "results", "fixes.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &in.fixes); err != nil {
		return nil, fmt.Errorf("fixes.json: %w", err)
	}
	t, err := os.ReadFile(filepath.Join(root, "bench", "BENCHMARKS.tmpl.md"))
	if err != nil {
		return nil, err
	}
	in.tmpl = string(t)
	mk, err := os.ReadFile(filepath.Join(root, "mk", "bench.mk"))
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(string(mk), "\n") {
		if v, ok := strings.CutPrefix(l, "BENCH_BUDGET ?= "); ok {
			in.budget = strings.TrimSpace(v)
		}
	}
	if in.budget == "" {
		return nil, errors.New("mk/bench.mk: no BENCH_BUDGET ?= line")
	}
	return in, nil
}

// settingsKey is a run's settings without what differs by design (names).
func settingsKey(r *run) string {
	s := map[string]any{}
	for k, v := range r.Settings {
		if k != "topic_prefix" {
			s[k] = v
		}
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// measurement is one value of one figure in one run.
type measurement struct {
	run          *run
	value, ratio float64
	hostNs       float64  // the host's calibration when measured (figure.hostNs), 0 without
	memNs        float64  // its memory walk's, 0 without
	staleBy      []string // ids of the fixes made after it
	otherSetting bool
	discarded    bool
}

// series gathers every measurement of a figure.
type series struct {
	id, stage, what, unit, baseline string
	all                             []measurement
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 { // a run of some phases only (make bench BENCH_ARGS=-only=sink)
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minmax(xs []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func num(v float64, unit string) string {
	switch {
	case unit == "ms" || unit == "MB/s" || unit == "MiB":
		return trimZero(fmt.Sprintf("%.1f", v))
	case unit == "ratio":
		return fmt.Sprintf("%.3f", v)
	case math.Abs(v) >= 1000:
		return commas(int64(math.Round(v)))
	default:
		return trimZero(fmt.Sprintf("%.2f", v))
	}
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// summary formats "median (min–max, n runs)".
func summary(xs []float64, unit string) string {
	if len(xs) == 0 {
		return "—"
	}
	if len(xs) == 1 {
		return num(xs[0], unit) + " (1 run)"
	}
	lo, hi := minmax(xs)
	return fmt.Sprintf("%s (%s–%s, %d runs)", num(median(xs), unit), num(lo, unit), num(hi, unit), len(xs))
}

type report struct {
	in      *input
	current string // settings of the newest run: the comparable set
	series  []*series
}

func build(in *input) *report {
	rp := &report{in: in, current: settingsKey(in.runs[len(in.runs)-1])}
	byID := map[string]*series{}
	add := func(r *run, f figure, discarded bool) {
		s := byID[f.ID]
		if s == nil {
			s = &series{id: f.ID, stage: f.Stage, what: f.What, unit: f.Unit, baseline: f.Baseline}
			byID[f.ID] = s
			rp.series = append(rp.series, s)
		}
		m := measurement{run: r, value: f.Value, ratio: f.Ratio, hostNs: f.hostNs(), memNs: f.cal(memPart), discarded: discarded, otherSetting: settingsKey(r) != rp.current}
		for _, fx := range in.fixes {
			if r.RunID < fx.FirstRun && fx.covers(f.ID) {
				m.staleBy = append(m.staleBy, fx.ID)
			}
		}
		s.all = append(s.all, m)
	}
	for _, r := range in.runs {
		for _, f := range r.Figures {
			add(r, f, false)
		}
		for _, f := range r.Discarded {
			add(r, f, true)
		}
		// Figures the runs record outside "figures": stale ALLOWs of the
		// withdrawal benchmark and the peak RSS of every process.
		if w := r.Withdrawal; w != nil && hasFigure(r, "withdrawal.p50") {
			add(r, figure{ID: "withdrawal.stale_allows", Stage: "consent-filter", What: "withdrawals not yet enforced for the next event (of the withdrawal benchmark's users)", Value: float64(w.StaleAllows), Unit: "events"}, false)
		}
		keys := make([]string, 0, len(r.RSS))
		for k := range r.RSS {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			id := "rss." + strings.NewReplacer(" (", ".", ")", "", " ", "_").Replace(k)
			add(r, figure{ID: id, Stage: "memory", What: "peak RSS (VmHWM) of " + k, Value: r.RSS[k], Unit: "MiB"}, false)
			if m := r.Mem[k]; m != nil {
				add(r, figure{ID: id + ".anon", Stage: "memory", What: "RssAnon (heap, stacks, Go memory) of " + k + " at its highest sampled RSS", Value: m.Anon, Unit: "MiB"}, false)
				add(r, figure{ID: id + ".file", Stage: "memory", What: "RssFile (mapped files: mostly its binary) of " + k + " at its highest sampled RSS", Value: m.File, Unit: "MiB"}, false)
			}
		}
	}
	return rp
}

func hasFigure(r *run, id string) bool {
	for _, f := range r.Figures {
		if f.ID == id {
			return true
		}
	}
	return false
}

// usable are the measurements a figure is reported from.
func (s *series) usable() []measurement {
	var out []measurement
	for _, m := range s.all {
		if !m.discarded && !m.otherSetting && len(m.staleBy) == 0 {
			out = append(out, m)
		}
	}
	return out
}

func (s *series) stale() []measurement {
	var out []measurement
	for _, m := range s.all {
		if !m.discarded && !m.otherSetting && len(m.staleBy) > 0 {
			out = append(out, m)
		}
	}
	return out
}

func values(ms []measurement, ratio bool) []float64 {
	var out []float64
	for _, m := range ms {
		if ratio {
			if m.ratio != 0 {
				out = append(out, m.ratio)
			}
		} else {
			out = append(out, m.value)
		}
	}
	return out
}

// normalised are a CPU-per-event series' values on a host of the median
// speed: value × (median calibration of the measurements ÷ the measurement's
// calibration), so a run measured while the host ran the calibration 1.4×
// slower counts 1/1.4 of its raw value. Measurements without a calibration
// are left out; nil when fewer than all of ms have one (a median of some
// normalised and some raw values would compare nothing).
func normalised(ms []measurement) []float64 {
	var cals []float64
	for _, m := range ms {
		if m.hostNs <= 0 {
			return nil
		}
		cals = append(cals, m.hostNs)
	}
	ref := median(cals)
	var out []float64
	for _, m := range ms {
		out = append(out, m.value*ref/m.hostNs)
	}
	return out
}

// isCPUPerEvent: the figures normalised by the host's calibration.
func isCPUPerEvent(s *series) bool { return s.unit == "µs/event" }

func (rp *report) summaryTable() string {
	var b strings.Builder
	b.WriteString("| figure | stage | what | current: median (min–max, runs) | ratio to the same-run baseline | status | before a later fix (stale) |\n")
	b.WriteString("|---|---|---|---:|---:|---|---:|\n")
	for _, s := range rp.series {
		cur, old := s.usable(), s.stale()
		status := "ok"
		switch {
		case len(cur) == 0 && len(old) > 0:
			status = "**stale**: no run since " + strings.Join(uniq(staleIDs(old)), ", ")
		case len(cur) == 0:
			status = "no comparable run"
		case len(cur) < MinRuns:
			status = fmt.Sprintf("insufficient: %d of %d runs", len(cur), MinRuns)
		}
		what := s.what
		if s.baseline != "" {
			what += " (baseline `" + s.baseline + "`)"
		}
		curText := summary(values(cur, false), s.unit)
		if len(cur) > 0 {
			curText += " " + s.unit
		}
		if n := normalised(cur); isCPUPerEvent(s) && len(n) > 0 {
			curText += "; host-normalised " + summary(n, s.unit) + " " + s.unit
		}
		ratio := ""
		if rs := values(cur, true); len(rs) > 0 {
			ratio = summary(rs, "ratio")
		}
		staleText := ""
		if len(old) > 0 {
			staleText = summary(values(old, false), s.unit) + " " + s.unit
			if rs := values(old, true); len(rs) > 0 {
				staleText += "; ratio " + summary(rs, "ratio")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", s.id, s.stage, escape(what), curText, ratio, status, staleText)
	}
	return b.String()
}

func staleIDs(ms []measurement) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.staleBy...)
	}
	return out
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func escape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func (rp *report) fixesTable() string {
	var b strings.Builder
	b.WriteString("| fix | commit | first run with it | figures it makes stale in earlier runs |\n|---|---|---|---|\n")
	for _, f := range rp.in.fixes {
		fmt.Fprintf(&b, "| `%s`: %s | `%s` | `%s` | %s |\n", f.ID, escape(f.Title), f.Commit, f.FirstRun, "`"+strings.Join(f.Figures, "`, `")+"`")
	}
	return b.String()
}

func (rp *report) runsTable() string {
	var b strings.Builder
	b.WriteString("| run | started (UTC) | duration | figures | settings | host calibration | discarded as noisy | errors | file |\n|---|---|---:|---:|---|---|---|---|---|\n")
	for _, r := range rp.in.runs {
		settings := "current"
		if settingsKey(r) != rp.current {
			settings = "other (" + settingsDiff(r, rp.in.runs[len(rp.in.runs)-1]) + "): not pooled"
		}
		var disc []string
		for _, d := range r.Discarded {
			disc = append(disc, d.ID)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %.1f min | %d | %s | %s | %s | %s | `%s` |\n", r.RunID, r.StartedAt.UTC().Format("2006-01-02 15:04"),
			r.FinishedAt.Sub(r.StartedAt).Minutes(), len(r.Figures), settings, hostText(r, rp.in.runs), orDash(strings.Join(disc, ", ")),
			orDash(escape(strings.Join(r.Errors, "; "))), "bench/results/"+filepath.Base(r.file))
	}
	return b.String()
}

// cal is a run's host speed by one part of the calibration: the median of
// its figures'.
func (r *run) cal(part func(*calibration) float64) float64 {
	var cals []float64
	for _, f := range r.Figures {
		if c := f.cal(part); c > 0 {
			cals = append(cals, c)
		}
	}
	return median(cals)
}

// hostRef is the reference host speed of a table of runs: the median of the
// runs' hashing calibrations (0 when none has one).
func hostRef(runs []*run) float64 { return calRef(runs, hashPart) }

func calRef(runs []*run, part func(*calibration) float64) float64 {
	var cals []float64
	for _, r := range runs {
		if c := r.cal(part); c > 0 {
			cals = append(cals, c)
		}
	}
	return median(cals)
}

// hostText says how slow a run's host was: its median hashing calibration
// (µs of CPU per unit), that relative to the table's median run (1.40× =
// the work took 1.4 times its CPU time), the range of its figures'
// calibrations relative to it (phases); the same for the memory walk (ns of
// CPU per load) where the run has it; the largest wall ÷ CPU of a
// calibration (the calibrating thread waiting for a core) and the largest
// steal share of a measurement.
func hostText(r *run, runs []*run) string {
	part := func(p func(*calibration) float64, unit string, div float64) string {
		c, ref := r.cal(p), calRef(runs, p)
		if c <= 0 || ref <= 0 {
			return ""
		}
		var rel []float64
		for _, f := range r.Figures {
			if h := f.cal(p); h > 0 {
				rel = append(rel, h/ref)
			}
		}
		lo, hi := minmax(rel)
		return fmt.Sprintf("%s %s, %.2f× (phases %.2f–%.2f×)", num(c/div, ""), unit, c/ref, lo, hi)
	}
	hash := part(hashPart, "µs/unit", 1000)
	if hash == "" {
		return "—"
	}
	if mem := part(memPart, "ns/load", 1); mem != "" {
		hash += "; memory " + mem
	}
	var wall, steal float64
	for _, f := range r.Figures {
		wall = math.Max(wall, f.wallOnCPU())
		steal = math.Max(steal, f.Noise.StealShare)
	}
	return fmt.Sprintf("%s; wall/CPU ≤ %.2f, steal ≤ %.1f %%", hash, wall, 100*steal)
}

// settingsDiff lists r's settings that differ from ref's, including those
// ref does not have (an experiment's overrides).
func settingsDiff(r, ref *run) string {
	var diffs []string
	for k, v := range r.Settings {
		if k == "topic_prefix" {
			continue
		}
		if w, ok := ref.Settings[k]; !ok || fmt.Sprint(w) != fmt.Sprint(v) {
			diffs = append(diffs, fmt.Sprintf("%s %v", k, v))
		}
	}
	for k := range ref.Settings {
		if _, ok := r.Settings[k]; !ok && k != "topic_prefix" {
			diffs = append(diffs, fmt.Sprintf("%s <nil>", k))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// matrix lists every value of every run: nothing measured is left out.
func (rp *report) matrix() string {
	var b strings.Builder
	b.WriteString("| figure | unit |")
	for _, r := range rp.in.runs {
		fmt.Fprintf(&b, " `%s` |", strings.TrimPrefix(r.RunID, "2026"))
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---:|", len(rp.in.runs)) + "\n")
	ref, memRef := hostRef(rp.in.runs), calRef(rp.in.runs, memPart)
	for _, s := range rp.series {
		fmt.Fprintf(&b, "| `%s` | %s |", s.id, s.unit)
		for _, r := range rp.in.runs {
			cell := ""
			for _, m := range s.all {
				if m.run != r {
					continue
				}
				v := num(m.value, s.unit)
				if isCPUPerEvent(s) && m.hostNs > 0 && ref > 0 {
					if m.memNs > 0 && memRef > 0 {
						v += fmt.Sprintf(" (host %.2f×, memory %.2f×)", m.hostNs/ref, m.memNs/memRef)
					} else {
						v += fmt.Sprintf(" (host %.2f×)", m.hostNs/ref)
					}
				}
				switch {
				case m.discarded:
					v = "(" + v + " noisy, discarded)"
				case len(m.staleBy) > 0:
					v += "†"
				}
				if cell != "" {
					cell += " / "
				}
				cell += v
			}
			fmt.Fprintf(&b, " %s |", orDash(cell))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n† measured before a later fix (stale). Runs with other settings are listed, not pooled. (host 1.40×, memory 1.10×): the host's calibration (hashing; memory walk) when that CPU-per-event value was measured, relative to the median run's (1.40× = 40 % slower).\n")
	return b.String()
}

func (rp *report) experimentsTable() string {
	if len(rp.in.experiments) == 0 {
		return "None.\n"
	}
	var b strings.Builder
	b.WriteString("| run | file | settings different from the runs above | figures kept | discarded as noisy | host calibration (relative to the experiments' median) | errors |\n|---|---|---|---:|---:|---|---|\n")
	for _, r := range rp.in.experiments {
		fmt.Fprintf(&b, "| `%s` | `bench/results/experiments/%s` | %s | %d | %d | %s | %s |\n", r.RunID, filepath.Base(r.file),
			orDash(escape(settingsDiff(r, rp.in.runs[len(rp.in.runs)-1]))), len(r.Figures), len(r.Discarded), hostText(r, rp.in.experiments), orDash(escape(strings.Join(r.Errors, "; "))))
	}
	return b.String()
}

// full runs measured every phase (a run of one phase, -only=..., lacks some),
// with the current settings.
func (rp *report) fullRuns() []*run {
	var out []*run
	for _, r := range rp.in.runs {
		if settingsKey(r) == rp.current && hasFigure(r, "kafka.producer_perf") && hasFigure(r, "ingest.http.batch50") && hasFigure(r, "sink.drain") {
			out = append(out, r)
		}
	}
	return out
}

// Duration is the phrase README.md and mk/bench.mk must state too; "" when
// no full run has the current settings (the newest run was of some phases
// only, with settings no full run had), and the files keep their phrase.
func (rp *report) Duration() string {
	var mins []float64
	for _, r := range rp.fullRuns() {
		mins = append(mins, r.FinishedAt.Sub(r.StartedAt).Minutes())
	}
	if len(mins) == 0 {
		return ""
	}
	lo, hi := minmax(mins)
	return fmt.Sprintf("a full run took %.1f–%.1f min (median %.1f, %d runs), budget %s", lo, hi, median(mins), len(mins),
		strings.Replace(rp.in.budget, "m", " min", 1))
}

func (rp *report) machine() string {
	r := rp.in.runs[len(rp.in.runs)-1]
	var b strings.Builder
	b.WriteString("| | newest run `" + r.RunID + "` |\n|---|---|\n")
	for _, k := range []string{"cpu_model", "nproc", "mem_total_gib", "kernel", "go_version", "kafka_go_version", "java_version", "kafka_version", "redis_version", "schema_registry"} {
		if v, ok := r.Machine[k]; ok {
			fmt.Fprintf(&b, "| %s | %v |\n", k, v)
		}
	}
	return b.String()
}

func generate(in *input) (string, error) {
	rp := build(in)
	parts := map[string]string{
		"summary": rp.summaryTable(), "fixes": rp.fixesTable(), "runs": rp.runsTable(), "matrix": rp.matrix(),
		"experiments": rp.experimentsTable(), "machine": rp.machine(),
	}
	duration := rp.Duration()
	if duration == "" {
		duration = "no full run with the current settings yet"
	}
	inline := strings.NewReplacer("{{min_runs}}", fmt.Sprint(MinRuns), "{{duration}}", duration)
	var out bytes.Buffer
	out.WriteString("<!-- Generated by `go run ./bench/cmd/benchmd` from bench/results/ and bench/BENCHMARKS.tmpl.md: edit those, not this file. -->\n")
	used := map[string]bool{}
	for _, line := range strings.SplitAfter(in.tmpl, "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(line), "<!-- generated:")
		if ok {
			name = strings.TrimSuffix(name, " -->")
			text, known := parts[name]
			if !known {
				return "", fmt.Errorf("template: unknown block %q", name)
			}
			used[name] = true
			out.WriteString(text)
			continue
		}
		out.WriteString(inline.Replace(line))
	}
	for _, need := range []string{"summary", "runs", "matrix", "fixes"} {
		if !used[need] {
			return "", fmt.Errorf("template: block %q missing", need)
		}
	}
	return out.String(), nil
}

// durationRE matches the duration phrase wherever it is stated.
var durationRE = regexp.MustCompile(`a full run took [0-9.]+–[0-9.]+ min \(median [0-9.]+, [0-9]+ runs?\), budget [0-9]+ min`)

// DurationFiles state the bench duration besides BENCHMARKS.md; the generator
// keeps their phrase equal to the measured one.
var DurationFiles = []string{"README.md", filepath.Join("mk", "bench.mk")}

func main() {
	root := flag.String("root", ".", "repository root")
	check := flag.Bool("check", false, "do not write; exit 1 when BENCHMARKS.md differs from what the results give")
	flag.Parse()
	in, err := load(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmd:", err)
		os.Exit(2)
	}
	text, err := generate(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmd:", err)
		os.Exit(2)
	}
	target := filepath.Join(*root, "BENCHMARKS.md")
	phrase := build(in).Duration()
	if *check {
		old, _ := os.ReadFile(target)
		ok := string(old) == text
		if !ok {
			fmt.Fprintln(os.Stderr, "benchmd: BENCHMARKS.md is not what bench/results gives: run `go run ./bench/cmd/benchmd`")
		}
		for _, f := range DurationFiles {
			b, _ := os.ReadFile(filepath.Join(*root, f))
			if phrase != "" && !strings.Contains(string(b), phrase) {
				fmt.Fprintf(os.Stderr, "benchmd: %s does not say %q\n", f, phrase)
				ok = false
			}
		}
		if !ok {
			os.Exit(1)
		}
		return
	}
	if err := os.WriteFile(target, []byte(text), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchmd:", err)
		os.Exit(2)
	}
	for _, f := range DurationFiles {
		if phrase == "" {
			break
		}
		p := filepath.Join(*root, f)
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchmd:", err)
			os.Exit(2)
		}
		if !durationRE.Match(b) {
			fmt.Fprintf(os.Stderr, "benchmd: %s states no bench duration (%q) to update\n", f, durationRE)
			os.Exit(2)
		}
		if err := os.WriteFile(p, durationRE.ReplaceAll(b, []byte(phrase)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchmd:", err)
			os.Exit(2)
		}
	}
	fmt.Println("wrote", target, "from", len(in.runs), "runs; duration in", strings.Join(DurationFiles, ", "), "updated")
}
