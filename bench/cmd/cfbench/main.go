// Command cfbench is `make bench`: it measures consentflow against the real
// services (Kafka, Redis, schema registry of scripts/services.sh), every figure
// next to a baseline measured in the same run, and writes one JSON file per run
// to bench/results/. See BENCHMARKS.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// Figure is one measured number and, when it has one, its baseline.
type Figure struct {
	ID       string  `json:"id"`
	Stage    string  `json:"stage"`
	What     string  `json:"what"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline string  `json:"baseline,omitempty"`
	// BaselineValue and Ratio (value / baseline) are filled in at the end.
	BaselineValue float64 `json:"baseline_value,omitempty"`
	Ratio         float64 `json:"ratio,omitempty"`
	Noise         Noise   `json:"noise"`
	Detail        any     `json:"detail,omitempty"`
}

// Result is the JSON file of one run.
type Result struct {
	RunID      string             `json:"run_id"`
	StartedAt  time.Time          `json:"started_at"`
	FinishedAt time.Time          `json:"finished_at"`
	Machine    Machine            `json:"machine"`
	Settings   Settings           `json:"settings"`
	Figures    []*Figure          `json:"figures"`
	Withdrawal *WithdrawalResult  `json:"withdrawal,omitempty"`
	E2E        map[string]any     `json:"e2e,omitempty"`
	PeakRSSMiB map[string]float64 `json:"peak_rss_mib"`
	// PeakMem: the same processes' VmHWM with the parts of RSS (anonymous,
	// file, shmem) at their highest sampled RSS.
	PeakMem  map[string]*MemPeak `json:"peak_mem,omitempty"`
	Profiles map[string]string   `json:"profiles,omitempty"`
	// Discarded are figures measured while the machine was busy with someone
	// else's work and measured again.
	Discarded []*Figure `json:"discarded_noisy,omitempty"`
	Errors    []string  `json:"errors,omitempty"`
	Notes     []string  `json:"notes,omitempty"`
}

// Settings are the knobs of the run.
type Settings struct {
	Prefix       string            `json:"topic_prefix"`
	StageEvents  int               `json:"stage_events"`
	IngestEvents int               `json:"ingest_events_per_config"`
	Clients      int               `json:"ingest_clients"`
	PerfRecords  int               `json:"perf_records"`
	RecordBytes  int               `json:"avg_raw_record_bytes"`
	Users        int               `json:"consent_users"`
	ConsentRecs  int               `json:"consent_records"`
	SinkRows     int               `json:"sink_rows"`
	FixedRate    float64           `json:"e2e_fixed_rate"`
	FixedSeconds int               `json:"e2e_fixed_seconds"`
	MaxEvents    int               `json:"e2e_max_events"`
	Withdrawals  int               `json:"withdrawals"`
	BusyLimit    float64           `json:"cpu_busy_limit"`
	FilterEnv    map[string]string `json:"e2e_filter_env_overrides,omitempty"`
	SinkEnv      map[string]string `json:"e2e_sink_env_overrides,omitempty"`
	ProducerEnv  map[string]string `json:"e2e_producer_env_overrides,omitempty"`
	ServicesEnv  map[string]string `json:"services_env_overrides,omitempty"`
	ABEnv        map[string]string `json:"stage_ab_env,omitempty"`
}

type bench struct {
	ctx      context.Context
	brokers  []string      // for Kafka's own perf tools (plaintext)
	kafka    stream.Config // for everything else
	registry string
	redis    string
	bin      string
	cfsvc    string
	testbin  string
	repo     string
	work     string // scratch dir (logs, datasets)
	outDir   string // bench/results/<run>/
	res      *Result
	names    topics.Names
	// base is the run's chain settings (names, environments) for the stage
	// benchmarks, which start one service at a time.
	base     *launch.Chain
	prefix   string
	token    string
	auditKey string
	pseudKey string
	data     *dataset
	deadline time.Time
	// extraFilterEnv is added to the e2e consent-filter's environment.
	extraFilterEnv map[string]string
	// extraSinkEnv is added to the e2e dataset-sink's environment.
	extraSinkEnv map[string]string
	// extraProducerEnv is added to the e2e producer's environment.
	extraProducerEnv map[string]string
	// servicesEnv is added to every service's environment, stage drains
	// and e2e (before the per-service overrides).
	servicesEnv map[string]string
	// abEnv (-ab-env): the stage drains run the filter and the anonymizer a
	// second time with it (filter.ab.*, anonymizer.ab.*, next to the first);
	// abRun is set while they do.
	abEnv map[string]string
	abRun bool
}

func main() {
	var (
		bin       = flag.String("bin", "bin", "directory with the service binaries")
		cfsvc     = flag.String("cfsvc", "bin/bench/cfsvc", "in-process service runner with CPU profile")
		testbin   = flag.String("testbin", "bin/bench", "directory with redact.test, anonymizer.test, dataset-sink.test")
		results   = flag.String("results", "bench/results", "where the run's JSON goes")
		events    = flag.Int("events", 200_000, "events pre-filled for the stage drains")
		ingest    = flag.Int("ingest", 200_000, "events per ingest configuration")
		perf      = flag.Int("perf", 500_000, "records for Kafka's perf tools")
		sinkRows  = flag.Int("sink-rows", 300_000, "rows for BenchmarkSinkLive")
		rate      = flag.Float64("rate", 1000, "fixed e2e rate (events/s)")
		fixedSecs = flag.Int("fixed-seconds", 60, "length of the fixed-rate e2e run")
		maxEvents = flag.Int("max-events", 100_000, "events of the max-rate e2e run")
		wd        = flag.Int("withdrawals", 150, "withdrawals timed during the fixed-rate run")
		only      = flag.String("only", "", "comma-separated phases to run (default all): perf,ingest,stages,sink,e2e,micro,redactor,profile")
		filterEnv = flag.String("filter-env", "", "extra environment of the e2e consent-filter, comma-separated K=V (experiments; recorded in the JSON)")
		abEnv     = flag.String("ab-env", "", "stage drains: drain again with one filter and one anonymizer with this extra environment, comma-separated K=V, next to the first drain of the same run (experiments, e.g. GOGC; recorded in the JSON)")
		allEnv    = flag.String("services-env", "", "extra environment of every service, stage drains and e2e, comma-separated K=V (experiments, e.g. GOGC; recorded in the JSON)")
		prodEnv   = flag.String("producer-env", "", "extra environment of the e2e producer, comma-separated K=V (experiments, e.g. PRODUCER_BATCH_TIMEOUT; recorded in the JSON)")
		sinkEnv   = flag.String("sink-env", "", "extra environment of the e2e dataset-sink, comma-separated K=V (experiments, e.g. SINK_PPROF_ADDR; recorded in the JSON)")
		budget    = flag.Duration("budget", 14*time.Minute, "hard time budget of the run")
	)
	flag.Parse()
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(sigCtx, *budget)
	defer cancel()
	repo, _ := os.Getwd()
	for _, v := range []string{"KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "REDIS_ADDR", "KAFKA_LIBS"} {
		if os.Getenv(v) == "" {
			fmt.Fprintf(os.Stderr, "cfbench: %s is not set: eval \"$(bash scripts/services.sh env)\"\n", v)
			os.Exit(2)
		}
	}
	for _, v := range []string{"KAFKA_SASL_MECHANISM", "KAFKA_TLS_CA_FILE", "REDIS_USERNAME"} {
		if os.Getenv(v) != "" {
			// Kafka's own perf tools (the baselines) and the stage figures are plaintext.
			fmt.Fprintf(os.Stderr, "cfbench: %s is set: the benchmarks measure the plaintext services (unset CONSENTFLOW_SECURE, eval \"$(bash scripts/services.sh env)\")\n", v)
			os.Exit(2)
		}
	}
	start := time.Now().UTC()
	runID := start.Format("20060102T150405Z")
	prefix := "bench-" + runID + "-" + launch.RandomHex(2) + "."
	brokers := strings.Split(os.Getenv("KAFKA_BROKERS"), ",")
	b := &bench{
		ctx: ctx, brokers: brokers, kafka: stream.Config{Brokers: brokers}, registry: os.Getenv("SCHEMA_REGISTRY_URL"),
		redis: os.Getenv("REDIS_ADDR"), bin: abs(*bin), cfsvc: abs(*cfsvc), testbin: abs(*testbin), repo: repo,
		work: filepath.Join(os.TempDir(), "cfbench-"+runID), outDir: filepath.Join(abs(*results), runID),
		prefix: prefix, token: launch.RandomHex(16), auditKey: launch.RandomBase64(32), pseudKey: launch.RandomBase64(32),
		deadline: time.Now().Add(*budget),
		res: &Result{RunID: runID, StartedAt: start, PeakRSSMiB: map[string]float64{}, PeakMem: map[string]*MemPeak{}, Profiles: map[string]string{},
			Settings: Settings{Prefix: prefix, StageEvents: *events, IngestEvents: *ingest, Clients: 8, PerfRecords: *perf,
				SinkRows: *sinkRows, FixedRate: *rate, FixedSeconds: *fixedSecs, MaxEvents: *maxEvents, Withdrawals: *wd, BusyLimit: busyLimit}},
	}
	b.extraFilterEnv = map[string]string{}
	for _, kv := range strings.Split(*filterEnv, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			b.extraFilterEnv[k] = v
		}
	}
	b.res.Settings.FilterEnv = b.extraFilterEnv
	b.extraSinkEnv = map[string]string{"SINK_ROTATE_INTERVAL": "5s"}
	for _, kv := range strings.Split(*sinkEnv, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			b.extraSinkEnv[k] = v
		}
	}
	if *sinkEnv != "" {
		b.res.Settings.SinkEnv = b.extraSinkEnv
	}
	b.extraProducerEnv = map[string]string{}
	for _, kv := range strings.Split(*prodEnv, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			b.extraProducerEnv[k] = v
		}
	}
	if *prodEnv != "" {
		b.res.Settings.ProducerEnv = b.extraProducerEnv
	}
	b.servicesEnv = map[string]string{}
	for _, kv := range strings.Split(*allEnv, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			b.servicesEnv[k] = v
		}
	}
	if *allEnv != "" {
		b.res.Settings.ServicesEnv = b.servicesEnv
	}
	b.abEnv = map[string]string{}
	for _, kv := range strings.Split(*abEnv, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			b.abEnv[k] = v
		}
	}
	if *abEnv != "" {
		b.res.Settings.ABEnv = b.abEnv
	}
	must(os.MkdirAll(b.work, 0o755))
	must(os.MkdirAll(b.outDir, 0o755))
	b.res.Machine = machineInfo()
	b.logf("run %s, prefix %s, scratch %s", runID, prefix, b.work)
	base, err := launch.New(b.chainOptions(prefix, b.work), nil)
	must(err)
	b.base, b.names = base, base.Names

	want := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		if p != "" {
			want[p] = true
		}
	}
	phase := func(name string, fn func() error) {
		if len(want) > 0 && !want[name] && name != "prep" {
			return
		}
		if ctx.Err() != nil {
			b.fail(fmt.Errorf("%s: skipped, time budget exhausted", name))
			return
		}
		t := time.Now()
		b.logf("== phase %s", name)
		if err := b.waitServices(3 * time.Minute); err != nil {
			b.fail(fmt.Errorf("%s: %w", name, err))
			return
		}
		if err := fn(); err != nil {
			b.fail(fmt.Errorf("%s: %w", name, err))
		}
		b.logf("== phase %s done in %s", name, time.Since(t).Round(time.Second))
		b.save() // partial results survive a later failure
	}
	phase("prep", b.prep)
	phase("micro", b.micro)
	phase("redactor", b.redactorVsPresidio)
	phase("perf", b.kafkaPerf)
	phase("ingest", b.ingest)
	phase("stages", b.stages)
	phase("sink", b.sink)
	phase("e2e", b.e2e)
	phase("profile", b.profile)
	b.res.FinishedAt = time.Now().UTC()
	b.ratios()
	path := b.save()
	b.logf("wrote %s (%s)", path, time.Since(start).Round(time.Second))
	b.printTable()
	if len(b.res.Errors) > 0 {
		os.Exit(1)
	}
}

func (b *bench) fig(f *Figure) *Figure {
	b.res.Figures = append(b.res.Figures, f)
	host := ""
	if c0, c1 := f.Noise.CalBefore, f.Noise.CalAfter; c0 != nil && c1 != nil {
		host = fmt.Sprintf(" host=%.1f→%.1fµs/unit wall/cpu=%.2f→%.2f steal=%.1f%%", c0.CPUNs/1000, c1.CPUNs/1000, c0.WallOnCPU, c1.WallOnCPU, 100*f.Noise.StealShare)
	}
	if f.Baseline != "" {
		b.logf("  %-28s %12.1f %-8s (baseline %s) load1=%.2f busy=%.2f%s", f.ID, f.Value, f.Unit, f.Baseline, f.Noise.Load1, f.Noise.Busy1s, host)
	} else {
		b.logf("  %-28s %12.1f %-8s load1=%.2f busy=%.2f%s", f.ID, f.Value, f.Unit, f.Noise.Load1, f.Noise.Busy1s, host)
	}
	return f
}

// measure runs fn; when a figure it produced started while the machine was busy
// with other work (CPU busy >= busyLimit in the idle second before), those figures
// are kept under discarded_noisy and fn runs once more (time budget permitting).
func (b *bench) measure(name string, fn func(attempt int) error) error {
	for attempt := 0; ; attempt++ {
		n0 := len(b.res.Figures)
		pid := servicePIDs()
		err := fn(attempt)
		restarted := servicePIDs() != pid
		noisy := restarted
		for _, f := range b.res.Figures[n0:] {
			f.Noise.Attempt = attempt
			if restarted {
				f.Noise.Noisy, f.Noise.ServiceRestarted = true, true
			}
			noisy = noisy || f.Noise.Noisy
		}
		if (err == nil && !noisy) || attempt >= 1 || b.ctx.Err() != nil || time.Until(b.deadline) < 6*time.Minute {
			return err
		}
		if err != nil {
			b.logf("%s failed (%s); waiting for the services and measuring again", name, short(err))
			b.res.Notes = append(b.res.Notes, fmt.Sprintf("%s: attempt %d failed and was repeated: %s", name, attempt, short(err)))
		} else {
			b.logf("%s: machine busy with other work (or a service restarted) when measuring; waiting and measuring again", name)
		}
		b.res.Discarded = append(b.res.Discarded, b.res.Figures[n0:]...)
		b.res.Figures = b.res.Figures[:n0]
		if werr := b.waitServices(3 * time.Minute); werr != nil {
			return errors.Join(err, werr)
		}
		quiet(30 * time.Second)
	}
}

// short keeps error messages readable (kafka-go joins one error per message).
func short(err error) string {
	s := err.Error()
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func (b *bench) figByID(id string) *Figure {
	for _, f := range b.res.Figures {
		if f.ID == id {
			return f
		}
	}
	return nil
}

func (b *bench) ratios() {
	for _, f := range b.res.Figures {
		if base := b.figByID(f.Baseline); base != nil && base.Value != 0 {
			f.BaselineValue = base.Value
			f.Ratio = round(f.Value/base.Value, 3)
		}
	}
}

func (b *bench) save() string {
	path := filepath.Join(filepath.Dir(b.outDir), b.res.RunID+".json")
	buf, _ := json.MarshalIndent(b.res, "", "  ")
	must(os.WriteFile(path, append(buf, '\n'), 0o644))
	return path
}

func (b *bench) printTable() {
	fmt.Printf("\n%-30s %14s %-8s %14s %8s %6s\n", "figure", "value", "unit", "baseline", "ratio", "load1")
	for _, f := range b.res.Figures {
		base := ""
		if f.BaselineValue != 0 {
			base = fmt.Sprintf("%.1f", f.BaselineValue)
		}
		ratio := ""
		if f.Ratio != 0 {
			ratio = fmt.Sprintf("%.3f", f.Ratio)
		}
		fmt.Printf("%-30s %14.1f %-8s %14s %8s %6.2f\n", f.ID, f.Value, f.Unit, base, ratio, f.Noise.Load1)
	}
	if w := b.res.Withdrawal; w != nil {
		fmt.Printf("withdrawal propagation: n=%d p50=%.1fms p99=%.1fms max=%.1fms stale_allows=%d\n", w.Latency.N, w.Latency.P50, w.Latency.P99, w.Latency.Max, w.StaleAllows)
	}
	for k, v := range b.res.PeakRSSMiB {
		fmt.Printf("peak RSS %-28s %8.1f MiB", k, v)
		if m := b.res.PeakMem[k]; m != nil {
			fmt.Printf("  (at the highest sample: RSS %.1f = anon %.1f + file %.1f + shmem %.1f)", m.RSS, m.Anon, m.File, m.Shmem)
		}
		fmt.Println()
	}
	for _, e := range b.res.Errors {
		fmt.Printf("ERROR: %s\n", e)
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s cfbench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) fail(err error) {
	b.logf("ERROR %s", short(err))
	b.res.Errors = append(b.res.Errors, short(err))
}

func (b *bench) note(format string, args ...any) {
	b.res.Notes = append(b.res.Notes, fmt.Sprintf(format, args...))
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cfbench:", err)
		os.Exit(1)
	}
}
