package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/redisconn"
)

// chainOptions are the services' settings in the benchmark: the run's token and
// keys, warn-level logs, the e2e filter overrides (-filter-env), the
// allowlist the stage figures were first measured with, and files rotated every
// 5 s (plus the -sink-env overrides).
func (b *bench) chainOptions(prefix, dir string) launch.Options {
	return launch.Options{
		Stack:  launch.Stack{Kafka: b.kafka, Redis: redisconn.Config{Addr: b.redis}, Registry: avro.RegistryConfig{URL: b.registry}},
		Prefix: prefix, Dir: dir, Token: b.token, PseudonymKey: b.pseudKey, AuditKey: b.auditKey, LogLevel: "warn",
		Env: map[string]map[string]string{
			"consent-filter": b.withServicesEnv(b.extraFilterEnv),
			"anonymizer":     b.withServicesEnv(map[string]string{"PROPERTIES_ALLOWLIST": "space,project,priority,to_status,scope,feature,model"}),
			"dataset-sink":   b.withServicesEnv(b.extraSinkEnv),
			"producer":       b.withServicesEnv(b.extraProducerEnv),
		},
	}
}

// withServicesEnv is env over the -services-env settings.
func (b *bench) withServicesEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range b.servicesEnv {
		out[k] = v
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// serviceEnv is the environment of service alone on the run's topics (stage
// benchmarks and profiles): the launcher's, with a fresh ops address and extra.
func (b *bench) serviceEnv(service string, extra map[string]string) map[string]string {
	env := b.base.Env(service)
	env["OPS_ADDR"] = freeAddr()
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func (b *bench) filterEnv(n map[string]string, group string) map[string]string {
	env := map[string]string{"CONSENT_HTTP_ADDR": freeAddr(), "FILTER_GROUP_ID": group}
	for k, v := range n {
		env[k] = v
	}
	return b.serviceEnv("consent-filter", env)
}

func (b *bench) anonEnv(n map[string]string, group string) map[string]string {
	env := map[string]string{"TOPIC_CONSENT_CHANGES": b.prefix + "changes.idle",
		"ANONYMIZER_GROUP_ID": group, "ANONYMIZER_ERASURE_GROUP_ID": group + "-erasures"}
	for k, v := range n {
		env[k] = v
	}
	return b.serviceEnv("anonymizer", env)
}

// stages pre-fills events.raw and consent.changes, then drains events.raw with
// the pass-through loop and with the consent-filter, and events.consented with
// the pass-through loop and with the anonymizer.
func (b *bench) stages() error {
	if err := mustData(b); err != nil {
		return err
	}
	t := time.Now()
	var err error
	for try := 0; try < 3; try++ {
		// At least once: a retry after a broker restart may duplicate records,
		// which is harmless (totals below come from the topic's end offsets).
		if err = writeAll(b.ctx, b.kafka, b.data.changes, 1000, 2); err == nil {
			err = writeAll(b.ctx, b.kafka, b.data.raw, 1000, 4)
		}
		if err == nil {
			break
		}
		b.logf("pre-fill failed (%s); retrying", short(err))
		if werr := b.waitServices(3 * time.Minute); werr != nil {
			return werr
		}
	}
	if err != nil {
		return fmt.Errorf("pre-fill: %w", err)
	}
	n, _, err := totalEnd(b.ctx, b.kafka, b.names.Raw)
	if err != nil {
		return err
	}
	b.logf("pre-filled %d raw events and %d consent records in %s", n, len(b.data.changes), time.Since(t).Round(time.Millisecond))
	if err := createPlain(b.ctx, b.kafka, 6, false, b.prefix+"pt.out", b.prefix+"pt.out2"); err != nil {
		return err
	}
	if err := createPlain(b.ctx, b.kafka, 3, false, b.prefix+"changes.idle"); err != nil {
		return err
	}

	// Baseline: pass-through loop with the filter's batch settings.
	if err := b.measure("pass-through on events.raw", func(a int) error {
		g := fmt.Sprintf("%spt-raw-%d", b.prefix, a)
		noise := quiet(quietWait)
		cpu0, rt0 := selfCPU(), selfGoRuntime()
		stop := passThrough(b.ctx, b.kafka, g, b.names.Raw, b.prefix+"pt.out", 500, 5*time.Millisecond)
		d, err := drain(b.ctx, b.kafka, g, b.names.Raw, n, 3*time.Minute)
		cpu, rt := selfCPU()-cpu0, goRuntimeOver(rt0, selfGoRuntime())
		stop()
		noise.end()
		if err != nil {
			return err
		}
		b.cpuFig("passthrough.raw.cpu", "baseline", "", cpu, rt, d, noise, "CPU of the pass-through loop on events.raw (this process, over its drain)")
		b.fig(&Figure{ID: "passthrough.raw", Stage: "baseline", Unit: "events/s", Value: d.EventsPerSec, Noise: noise,
			What: "kafka-go pass-through loop (pkg/stream Loop, identity handler, batch 500, linger 5ms) on events.raw", Detail: d})
		return nil
	}); err != nil {
		return err
	}
	if err := b.measure("consent-filter", func(a int) error { return b.filterStage(n, a, 1) }); err != nil {
		return err
	}
	// Scaling: two instances in one consumer group on the same events.raw (6
	// partitions, 3 each), writing to a topic of their own so that the
	// anonymizer's figures below stay on one filter pass's output.
	if err := createPlain(b.ctx, b.kafka, 6, false, b.prefix+"consented.x2"); err != nil {
		return err
	}
	if len(b.abEnv) > 0 {
		b.abRun = true
		err := b.measure("consent-filter A/B", func(a int) error { return b.filterStage(n, a, 1) })
		b.abRun = false
		if err != nil {
			return err
		}
	}
	if err := b.measure("consent-filter ×2", func(a int) error { return b.filterStage(n, a, 2) }); err != nil {
		return err
	}
	// Anonymizer on what the filter let through.
	k, _, err := totalEnd(b.ctx, b.kafka, b.names.Consented)
	if err != nil || k == 0 {
		return fmt.Errorf("events.consented is empty (%v)", err)
	}
	if err := b.measure("pass-through on events.consented", func(a int) error {
		g := fmt.Sprintf("%spt-consented-%d", b.prefix, a)
		noise := quiet(quietWait)
		cpu0, rt0 := selfCPU(), selfGoRuntime()
		stop := passThrough(b.ctx, b.kafka, g, b.names.Consented, b.prefix+"pt.out2", 500, 20*time.Millisecond)
		d, err := drain(b.ctx, b.kafka, g, b.names.Consented, k, 3*time.Minute)
		cpu, rt := selfCPU()-cpu0, goRuntimeOver(rt0, selfGoRuntime())
		stop()
		noise.end()
		if err != nil {
			return err
		}
		b.cpuFig("passthrough.consented.cpu", "baseline", "", cpu, rt, d, noise, "CPU of the pass-through loop on events.consented (this process, over its drain)")
		b.fig(&Figure{ID: "passthrough.consented", Stage: "baseline", Unit: "events/s", Value: d.EventsPerSec, Noise: noise,
			What: "kafka-go pass-through loop (batch 500, linger 20ms: the anonymizer's) on events.consented", Detail: d})
		return nil
	}); err != nil {
		return err
	}
	if err := b.measure("anonymizer", func(a int) error { return b.anonymizerStage(k, a, 1) }); err != nil {
		return err
	}
	if err := createPlain(b.ctx, b.kafka, 6, false, b.prefix+"curated.x2"); err != nil {
		return err
	}
	if len(b.abEnv) > 0 {
		b.abRun = true
		err := b.measure("anonymizer A/B", func(a int) error { return b.anonymizerStage(k, a, 1) })
		b.abRun = false
		if err != nil {
			return err
		}
	}
	return b.measure("anonymizer ×2", func(a int) error { return b.anonymizerStage(k, a, 2) })
}

// filterStage drains the n pre-filled events.raw with instances consent-filter
// processes in one consumer group (one Redis namespace). With one instance
// its figures are filter.*, next to the pass-through's; with two they are
// filter.x2.*, next to the one instance's of this run: the group's drain rate
// and the CPU per event (both processes' CPU over the drain) should hold.
func (b *bench) filterStage(n int64, attempt, instances int) error {
	noise := quiet(quietWait)
	id, tag, ns := "filter", "", fmt.Sprintf("%sredis-%d", b.prefix, attempt)
	if instances > 1 {
		id, tag, ns = fmt.Sprintf("filter.x%d", instances), fmt.Sprintf(" ×%d", instances), fmt.Sprintf("%sredis-x%d-%d", b.prefix, instances, attempt)
	}
	if b.abRun {
		id, tag, ns = "filter.ab", " A/B", fmt.Sprintf("%sredis-ab-%d", b.prefix, attempt)
	}
	group := fmt.Sprintf("%s%s-%d", b.prefix, id, attempt)
	var envs []map[string]string
	for range instances {
		extra := map[string]string{"REDIS_NAMESPACE": ns}
		if instances > 1 || b.abRun {
			extra["TOPIC_EVENTS_CONSENTED"] = b.prefix + "consented.x2"
		}
		if b.abRun {
			maps.Copy(extra, b.abEnv)
		}
		envs = append(envs, b.filterEnv(extra, group))
	}
	g, ready, err := b.startGroup("consent-filter-stage"+strings.TrimSpace(tag), attempt, b.bin+"/consent-filter", envs, 2*time.Minute)
	if err != nil {
		return err
	}
	if instances == 1 && !b.abRun {
		b.fig(&Figure{ID: "filter.materialize", Stage: "consent-filter", Unit: "records/s", Noise: noise,
			Value:  round(float64(len(b.data.changes))/ready.Seconds(), 0),
			What:   fmt.Sprintf("start to ready: materializer loads %d consent records into empty Redis", len(b.data.changes)),
			Detail: map[string]any{"seconds": round(ready.Seconds(), 2)}})
	}
	cpu0, rt0 := g.cpu(), g.goRuntime()
	d, err := drain(b.ctx, b.kafka, group, b.names.Raw, n, 3*time.Minute)
	cpu, rt := g.cpu()-cpu0, goRuntimeOver(rt0, g.goRuntime())
	noise.end()
	var allow, deny, lookups, lookupSum float64
	for _, env := range envs {
		allow += metric(env["OPS_ADDR"], "consentflow_filter_decisions_total", `decision="ALLOW"`)
		deny += metric(env["OPS_ADDR"], "consentflow_filter_decisions_total", `decision="DENY"`)
		lookups += metric(env["OPS_ADDR"], "consentflow_filter_lookup_seconds_count", "")
		lookupSum += metric(env["OPS_ADDR"], "consentflow_filter_lookup_seconds_sum", "")
	}
	b.res.PeakRSSMiB["consent-filter (stage drain"+tag+")"] = g.peakRSS()
	b.res.PeakMem["consent-filter (stage drain"+tag+")"] = g.peakMem()
	g.stop()
	if err != nil {
		return err
	}
	cpuBase, drainBase, what := "passthrough.raw.cpu", "passthrough.raw", fmt.Sprintf("consent-filter drains %d pre-filled events.raw (real Redis, %d users' consent records)", n, b.res.Settings.Users)
	if instances > 1 {
		cpuBase, drainBase = "filter.cpu", "filter.drain"
		what = fmt.Sprintf("%d consent-filter instances in one consumer group drain the same %d events.raw (one Redis namespace); ratio to one instance of this run", instances, n)
	}
	if b.abRun {
		cpuBase, drainBase = "filter.cpu", "filter.drain"
		what = fmt.Sprintf("consent-filter with %v drains the same %d events.raw after filter.drain; ratio to it (experiment, -ab-env)", b.abEnv, n)
	}
	b.cpuFig(id+".cpu", "consent-filter", cpuBase, cpu, rt, d, noise, "CPU of the consent-filter "+processes(instances)+" over its drain")
	b.fig(&Figure{ID: id + ".drain", Stage: "consent-filter", Unit: "events/s", Value: d.EventsPerSec, Noise: noise, Baseline: drainBase, What: what,
		Detail: map[string]any{"drain": d, "instances": instances, "allow": allow, "deny": deny, "cpu_s": round(cpu, 2), "cpu_us_per_event": round(cpu*1e6/float64(max(1, d.Records)), 1),
			"lookups": lookups, "mean_lookup_ms": round(1000*lookupSum/max(1, lookups), 3)}})
	return nil
}

// anonymizerStage drains the k events.consented with instances anonymizer
// processes in one consumer group: anonymizer.* next to the pass-through with
// one, anonymizer.x2.* next to the one instance's of this run with two.
func (b *bench) anonymizerStage(k int64, attempt, instances int) error {
	noise := quiet(quietWait)
	id, tag := "anonymizer", ""
	if instances > 1 {
		id, tag = fmt.Sprintf("anonymizer.x%d", instances), fmt.Sprintf(" ×%d", instances)
	}
	if b.abRun {
		id, tag = "anonymizer.ab", " A/B"
	}
	group := fmt.Sprintf("%s%s-%d", b.prefix, id, attempt)
	var envs []map[string]string
	for range instances {
		var extra map[string]string
		if instances > 1 || b.abRun {
			extra = map[string]string{"TOPIC_EVENTS_CURATED": b.prefix + "curated.x2"}
		}
		if b.abRun {
			maps.Copy(extra, b.abEnv)
		}
		envs = append(envs, b.anonEnv(extra, group))
	}
	g, _, err := b.startGroup("anonymizer-stage"+strings.TrimSpace(tag), attempt, b.bin+"/anonymizer", envs, time.Minute)
	if err != nil {
		return err
	}
	cpu0, rt0 := g.cpu(), g.goRuntime()
	d, err := drain(b.ctx, b.kafka, group, b.names.Consented, k, 3*time.Minute)
	cpu, rt := g.cpu()-cpu0, goRuntimeOver(rt0, g.goRuntime())
	noise.end()
	b.res.PeakRSSMiB["anonymizer (stage drain"+tag+")"] = g.peakRSS()
	b.res.PeakMem["anonymizer (stage drain"+tag+")"] = g.peakMem()
	g.stop()
	if err != nil {
		return err
	}
	cpuBase, drainBase, what := "passthrough.consented.cpu", "passthrough.consented", fmt.Sprintf("anonymizer drains %d events.consented (real filter output: loadgen text with PII)", k)
	if instances > 1 {
		cpuBase, drainBase = "anonymizer.cpu", "anonymizer.drain"
		what = fmt.Sprintf("%d anonymizer instances in one consumer group drain the same %d events.consented; ratio to one instance of this run", instances, k)
	}
	if b.abRun {
		cpuBase, drainBase = "anonymizer.cpu", "anonymizer.drain"
		what = fmt.Sprintf("anonymizer with %v drains the same %d events.consented after anonymizer.drain; ratio to it (experiment, -ab-env)", b.abEnv, k)
	}
	b.cpuFig(id+".cpu", "anonymizer", cpuBase, cpu, rt, d, noise, "CPU of the anonymizer "+processes(instances)+" over its drain (redaction on)")
	b.fig(&Figure{ID: id + ".drain", Stage: "anonymizer", Unit: "events/s", Value: d.EventsPerSec, Noise: noise, Baseline: drainBase, What: what,
		Detail: map[string]any{"drain": d, "instances": instances, "cpu_s": round(cpu, 2), "cpu_us_per_event": round(cpu*1e6/float64(max(1, d.Records)), 1)}})
	return nil
}

// procGroup is the processes of one stage in one consumer group.
type procGroup []*Proc

// startGroup starts one process of bin per environment (named
// <name>-<attempt>-<i>) and waits until each is ready; on an error none is
// left running. ready is the slowest start.
func (b *bench) startGroup(name string, attempt int, bin string, envs []map[string]string, timeout time.Duration) (g procGroup, ready time.Duration, err error) {
	for i, env := range envs {
		p, err := startProc(fmt.Sprintf("%s-%d-%d", name, attempt, i), bin, nil, env, b.work)
		if err != nil {
			g.stop()
			return nil, 0, err
		}
		g = append(g, p)
	}
	for _, p := range g {
		r, err := p.WaitReady(b.ctx, timeout)
		if err != nil {
			g.stop()
			return nil, 0, err
		}
		ready = max(ready, r)
	}
	return g, ready, nil
}

func (g procGroup) stop() {
	for _, p := range g {
		p.Stop()
	}
}

// cpu is the group's CPU seconds (user + system) so far.
func (g procGroup) cpu() (c float64) {
	for _, p := range g {
		c += p.CPUSeconds()
	}
	return c
}

// peakRSS is the largest peak RSS of the group's processes.
func (g procGroup) peakRSS() (m float64) {
	for _, p := range g {
		m = max(m, p.PeakRSSMiB())
	}
	return m
}

// peakMem is the memory record of the group's process with the largest
// peak RSS (the one peakRSS reports).
func (g procGroup) peakMem() (m *MemPeak) {
	for _, p := range g {
		if pm := p.PeakMem(); pm != nil && (m == nil || pm.HWM > m.HWM) {
			m = pm
		}
	}
	return m
}

func processes(n int) string {
	if n > 1 {
		return "processes"
	}
	return "process"
}

// cpuFig records a stage's CPU cost per event: process CPU time (user +
// system, from /proc) over a drain, divided by the records drained. Unlike
// events/s it does not depend on how many cores the machine has or on what
// else runs on them, so it is the figure to size instances with; the ratio to
// the pass-through's says how much work the stage adds to moving the bytes.
// The pass-through runs in cfbench's own process: its figure includes the
// drain monitor's offset polls (a few per second), so it overstates the
// baseline's cost slightly.
//
// rt is the Go runtime's account over the drain (goruntime.go): its GC
// figures go in the detail ("gc": shares of GC and of idle-priority marking,
// and the CPU per event without the latter).
func (b *bench) cpuFig(id, stage, baseline string, cpu float64, rt map[string]float64, d Drain, noise Noise, what string) {
	if d.Records <= 0 || cpu <= 0 {
		return
	}
	detail := map[string]any{"cpu_s": round(cpu, 3), "records": d.Records,
		// the machine's steal over the measurement, per event like e2e.*.cpu.steal
		"steal_us_per_event": round(noise.StealS*1e6/float64(d.Records), 1)}
	if gc := gcDetail(rt, cpu, d.Records); gc != nil {
		detail["gc"] = gc
	}
	b.fig(&Figure{ID: id, Stage: stage, Unit: "µs/event", Value: round(cpu*1e6/float64(d.Records), 1), Noise: noise, Baseline: baseline,
		What: what + "; lower is better", Detail: detail})
	if f := noIdleGCFigure(id, stage, baseline, cpu, rt, d.Records); f != nil {
		f.Noise = noise
		b.fig(f)
	}
}

// noIdleGCFigure is the second CPU figure of a drain: the process CPU less the
// runtime's idle-priority GC marking (<id>.no_idle_gc, next to the baseline's
// own), the part of a stage's cost that depends on the machine's spare CPU
// rather than on the events (goruntime.go). Nil without a runtime reading.
func noIdleGCFigure(id, stage, baseline string, cpu float64, rt map[string]float64, records int64) *Figure {
	c, ok := withoutIdleGC(cpu, rt)
	if !ok || records <= 0 {
		return nil
	}
	if baseline != "" {
		baseline += ".no_idle_gc"
	}
	return &Figure{ID: id + ".no_idle_gc", Stage: stage, Unit: "µs/event", Value: round(c*1e6/float64(records), 1), Baseline: baseline,
		What:   "the same CPU per event less the Go runtime's idle-priority GC mark time (runtime/metrics /cpu/classes/gc/mark/idle, P-time: an estimate that overstates on a loaded machine); lower is better",
		Detail: map[string]any{"cpu_s": round(c, 3), "gc_mark_idle_s": rt["gc_mark_idle_s"], "records": records}}
}

// goBench runs a compiled test binary's benchmark and parses "value unit" pairs
// of every result line.
func (b *bench) goBench(testBin, dir, pattern, benchtime string, env []string, cpuprofile string) (map[string]map[string]float64, string, error) {
	args := []string{"-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime, "-test.benchmem"}
	if cpuprofile != "" {
		args = append(args, "-test.cpuprofile", cpuprofile)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, string(out), fmt.Errorf("%s: %v: %s", filepath.Base(testBin), err, tail(string(out)))
	}
	res := map[string]map[string]float64{}
	s := bufio.NewScanner(strings.NewReader(string(out)))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				m[f[i+1]] = v
			}
		}
		res[name] = m
	}
	return res, string(out), nil
}

// sink runs services/dataset-sink's BenchmarkSinkLive: the sink consumes a
// pre-filled curated topic into Parquet on local disk, next to a pass-through
// consumer group reading and committing the same topic.
func (b *bench) sink() error { return b.measure("dataset-sink", b.sinkOnce) }

func (b *bench) sinkOnce(int) error {
	noise := quiet(quietWait)
	env := []string{"CONSENTFLOW_LIVE=1", "SINK_BENCH_ROWS=" + strconv.Itoa(b.res.Settings.SinkRows)}
	res, out, err := b.goBench(filepath.Join(b.testbin, "dataset-sink.test"), filepath.Join(b.repo, "services/dataset-sink"), "^BenchmarkSinkLive$", "1x", env,
		filepath.Join(b.outDir, "dataset-sink.pprof"))
	noise.end()
	if err != nil {
		return err
	}
	m := res["BenchmarkSinkLive"]
	if m == nil {
		return fmt.Errorf("no BenchmarkSinkLive result: %s", tail(out))
	}
	b.fig(&Figure{ID: "sink.passthrough_consumer", Stage: "baseline", Unit: "events/s", Value: round(m["baseline_rows/s"], 0), Noise: noise,
		What:   "pass-through consumer group (fetch + commit every 10,000) on the same curated topic (BenchmarkSinkLive)",
		Detail: map[string]any{"kafka_mb_per_s": m["baseline_kafka_MB/s"]}})
	b.fig(&Figure{ID: "sink.drain", Stage: "dataset-sink", Unit: "events/s", Value: round(m["rows/s"], 0), Noise: noise, Baseline: "sink.passthrough_consumer",
		What:   fmt.Sprintf("dataset-sink: %d curated rows appended to its Iceberg table (zstd Parquet on local disk, sqlite catalog) and committed (BenchmarkSinkLive)", b.res.Settings.SinkRows),
		Detail: map[string]any{"parquet_mb_per_s": m["parquet_MB/s"], "kafka_mb_per_s": m["kafka_MB/s"]}})
	if m["cpu_us/row"] > 0 && m["baseline_cpu_us/row"] > 0 {
		b.fig(&Figure{ID: "sink.passthrough_consumer.cpu", Stage: "baseline", Unit: "µs/event", Value: round(m["baseline_cpu_us/row"], 1), Noise: noise,
			What: "CPU of the pass-through consumer group per row (BenchmarkSinkLive's process over its pass); lower is better"})
		b.fig(&Figure{ID: "sink.cpu", Stage: "dataset-sink", Unit: "µs/event", Value: round(m["cpu_us/row"], 1), Noise: noise, Baseline: "sink.passthrough_consumer.cpu",
			What: "CPU of the dataset-sink per row, first record to the end of its flush (BenchmarkSinkLive's process); lower is better"})
	}
	b.fig(&Figure{ID: "sink.erasure_commit", Stage: "dataset-sink", Unit: "s", Value: round(m["erasure_commit_s"], 3), Noise: noise,
		What:   "one erasure (1 subject of 1,000) applied to that table: scan of every data file's pseudonym columns, rewrite of the files holding its rows, copy-on-write commit (BenchmarkSinkLive)",
		Detail: map[string]any{"rows_removed": m["erasure_rows_removed"]}})
	b.res.Profiles["dataset-sink"] = b.pprofTop(filepath.Join(b.testbin, "dataset-sink.test"), filepath.Join(b.outDir, "dataset-sink.pprof"), "dataset-sink")
	return nil
}

// micro: redactor and anonymizer transform benchmarks (no I/O), with profiles.
func (b *bench) micro() error {
	if err := b.measure("redactor", b.microRedact); err != nil {
		return err
	}
	return b.measure("anonymizer transform", b.microAnon)
}

func (b *bench) microRedact(int) error {
	noise := quiet(quietWait)
	res, out, err := b.goBench(filepath.Join(b.testbin, "redact.test"), filepath.Join(b.repo, "pkg/redact"), "^BenchmarkRedact", "2s", nil,
		filepath.Join(b.outDir, "redact.pprof"))
	noise.end()
	if err != nil {
		return err
	}
	r := res["BenchmarkRedact"]
	if r == nil {
		return fmt.Errorf("no BenchmarkRedact result: %s", tail(out))
	}
	b.fig(&Figure{ID: "redact.texts", Stage: "redactor", Unit: "texts/s", Value: round(r["texts/s"], 0), Noise: noise,
		What:   "pkg/redact BenchmarkRedact, one core (10 short texts, all recognizers)",
		Detail: map[string]any{"mb_per_s": r["MB/s"], "ns_per_text": r["ns/op"], "allocs_per_text": r["allocs/op"]}})
	b.fig(&Figure{ID: "redact.mbps", Stage: "redactor", Unit: "MB/s", Value: r["MB/s"], Noise: noise, What: "pkg/redact BenchmarkRedact throughput"})
	if po := res["BenchmarkRedactPatternsOnly"]; po != nil {
		b.fig(&Figure{ID: "redact.patterns_only", Stage: "redactor", Unit: "texts/s", Value: round(po["texts/s"], 0), Noise: noise,
			What: "pkg/redact without name heuristics", Detail: map[string]any{"mb_per_s": po["MB/s"]}})
	}
	b.res.Profiles["redact"] = b.pprofTop(filepath.Join(b.testbin, "redact.test"), filepath.Join(b.outDir, "redact.pprof"), "redact")
	return nil
}

func (b *bench) microAnon(int) error {
	noise := quiet(quietWait)
	res, _, err := b.goBench(filepath.Join(b.testbin, "anonymizer.test"), filepath.Join(b.repo, "services/anonymizer"), "^Benchmark(Transform|TransformNoRedactor|EventsHandler)$", "2s", nil,
		filepath.Join(b.outDir, "anonymizer-transform.pprof"))
	noise.end()
	if err != nil {
		return err
	}
	for name, id := range map[string]string{"BenchmarkTransform": "anonymizer.transform", "BenchmarkTransformNoRedactor": "anonymizer.transform_no_redactor", "BenchmarkEventsHandler": "anonymizer.handler"} {
		if m := res[name]; m != nil {
			b.fig(&Figure{ID: id, Stage: "anonymizer", Unit: "events/s", Value: round(m["events/s"], 0), Noise: noise,
				What: "services/anonymizer " + name + " (in-process, one core, no Kafka)", Detail: m})
		}
	}
	b.res.Profiles["anonymizer-transform"] = b.pprofTop(filepath.Join(b.testbin, "anonymizer.test"), filepath.Join(b.outDir, "anonymizer-transform.pprof"), "anonymizer-transform")
	return nil
}

// pprofTop writes `go tool pprof -top` of a profile next to it and returns its path
// relative to the repository.
func (b *bench) pprofTop(binary, profile, name string) string {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=40", binary, profile).CombinedOutput()
	if err != nil {
		b.note("pprof %s: %v", name, err)
		return ""
	}
	path := filepath.Join(b.outDir, name+".top.txt")
	_ = os.WriteFile(path, out, 0o644)
	cum, _ := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=40", binary, profile).CombinedOutput()
	_ = os.WriteFile(filepath.Join(b.outDir, name+".cum.txt"), cum, 0o644)
	rel, _ := filepath.Rel(b.repo, path)
	return rel
}

var _ = context.Background
