package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
)

// chain is the four services of one e2e attempt (pkg/launch) and the codecs
// the benchmark reads their topics with.
type chain struct {
	*launch.Chain
	procs    map[string]*Proc
	rawCodec *avro.Codec[schema.InteractionEvent]
	curCodec *avro.Codec[schema.CuratedEvent]
	decCodec *avro.Codec[schema.ConsentDecision]
}

// LagSample is the consumer lag of every stage at one moment of a run.
type LagSample struct {
	T      float64 `json:"t_s"`
	Filter int64   `json:"filter"`
	Anon   int64   `json:"anonymizer"`
	Sink   int64   `json:"sink"`
}

// RunResult is one e2e load run.
type RunResult struct {
	Mode          string        `json:"mode"`
	Rate          float64       `json:"target_rate"`
	Load          loadgen.Stats `json:"loadgen"`
	IngestPerSec  float64       `json:"ingest_events_per_s"`
	RawEvents     int64         `json:"raw_events"`
	Curated       int64         `json:"curated_events"`
	ChainSeconds  float64       `json:"chain_seconds"`
	ChainPerSec   float64       `json:"chain_events_per_s"`
	Latency       Percentiles   `json:"latency_received_to_curated"`
	HopLatency    Percentiles   `json:"latency_raw_append_to_curated_append"`
	IngestLatency Percentiles   `json:"latency_received_to_raw_append"`
	Lags          []LagSample   `json:"lags"`
	// CPUSeconds: per process during the run (cfbench runs loadgen; the broker,
	// Redis and the registry by their scripts/services.sh pids), the machine's
	// total and what no measured process accounts for; CPUPerEvent: the same in
	// µs per raw event.
	CPUSeconds  map[string]float64 `json:"cpu_seconds"`
	CPUPerEvent map[string]float64 `json:"cpu_us_per_event"`
	// GoRuntime: each service's Go runtime account over the same window
	// (goruntime.go: GC classes in P-seconds, GC cycles, heap goal at the end).
	GoRuntime map[string]map[string]float64 `json:"go_runtime,omitempty"`
	// MachineTickedS: /proc/stat's busy fields over the same window, the
	// machine figure before it was wall × CPUs − idle (cpu.go machineBusy):
	// below the processes' own sum on a mostly idle machine.
	MachineTickedS float64            `json:"machine_ticked_s,omitempty"`
	Metrics        map[string]float64 `json:"service_metrics"` // cumulative since the services started
	Noise          Noise              `json:"noise"`
}

func (b *bench) startChain(attempt int) (*chain, error) {
	lc, err := launch.New(b.chainOptions(fmt.Sprintf("%se2e%d.", b.prefix, attempt), filepath.Join(b.work, fmt.Sprintf("e2e%d", attempt))),
		launch.Processes{Bin: b.bin})
	if err != nil {
		return nil, err
	}
	n := lc.Names
	if err := createTopics(b.ctx, b.kafka, n, n.Raw, n.Curated, n.Decisions); err != nil {
		return nil, err
	}
	c := &chain{Chain: lc, procs: map[string]*Proc{}}
	serde, err := avro.NewSerdeFor(avro.RegistryConfig{URL: b.registry})
	if err != nil {
		return nil, err
	}
	if c.rawCodec, err = avro.InteractionEvents(b.ctx, serde, n.Raw); err != nil {
		return nil, err
	}
	if c.curCodec, err = avro.CuratedEvents(b.ctx, serde, n.Curated); err != nil {
		return nil, err
	}
	if c.decCodec, err = avro.ConsentDecisions(b.ctx, serde, n.Decisions); err != nil {
		return nil, err
	}
	start := func(name string) error {
		if err := lc.Start(name); err != nil {
			return err
		}
		c.procs[name] = newProc(lc.Instance(name).(*launch.Process), lc.OpsAddr(name))
		return nil
	}
	for _, name := range launch.Services {
		if err := start(name); err != nil {
			c.stop()
			return nil, err
		}
	}
	for _, name := range launch.Services {
		if err := lc.WaitReady(b.ctx, time.Minute, name); err != nil {
			// A broker hiccup (someone else restarting it) can make a service
			// exit at start: start it once more.
			b.logf("%s did not start (%s); starting it again", name, short(err))
			b.note("e2e attempt %d: %s restarted at start: %s", attempt, name, short(err))
			_ = lc.Stop(name, syscall.SIGTERM, 25*time.Second)
			if werr := b.waitServices(2 * time.Minute); werr != nil {
				c.stop()
				return nil, werr
			}
			if err := start(name); err != nil {
				c.stop()
				return nil, err
			}
			if err := lc.WaitReady(b.ctx, time.Minute, name); err != nil {
				c.stop()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return c, nil
}

func (c *chain) stop() {
	if err := c.StopAll(25 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "cfbench:", err)
	}
}

func (b *bench) lag(group, topic string) int64 {
	l, err := stream.GroupLag(b.ctx, b.kafka, group, topic)
	if err != nil {
		return -1
	}
	return l
}

// e2e: the four services as separate processes, loadgen through the HTTP APIs at
// a fixed rate (with the withdrawal benchmark running alongside) and at max
// rate; latencies from received_at to the curated record's append time; then the
// same two hops with pass-through loops as the baseline.
func (b *bench) e2e() error {
	if err := b.measure("e2e", b.e2eOnce); err != nil {
		return err
	}
	return b.measure("e2e baseline (pass-through chain)", func(attempt int) error {
		s := b.res.Settings
		base, err := b.chainBaseline(attempt, s.FixedRate, s.FixedSeconds, s.MaxEvents)
		if err != nil {
			return err
		}
		if b.res.E2E == nil {
			b.res.E2E = map[string]any{}
		}
		b.res.E2E["baseline"] = base
		return nil
	})
}

func (b *bench) e2eOnce(attempt int) error {
	c, err := b.startChain(attempt)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			c.stop()
		}
	}()
	cfg := loadgen.DefaultConfig()
	cfg.SteadyChurn() // the churn every result in bench/results was measured with
	cfg.Seed = 7
	gen, err := loadgen.NewGenerator(cfg)
	if err != nil {
		return err
	}
	opts := loadgen.RunOptions{ProducerURL: c.ProducerURL(), ConsentURL: c.ConsentURL(), Token: b.token, Workers: 4, Batch: 50}
	// Warm-up: the world's initial grants and a few hundred events (not measured).
	w := opts
	w.Events, w.MaxDuration = 500, time.Minute
	if _, err := loadgen.Run(b.ctx, gen, w); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if err := b.waitDrained(c, 60*time.Second); err != nil {
		return err
	}
	s := b.res.Settings
	runs := map[string]*RunResult{}

	// Fixed rate, with withdrawals timed alongside.
	fixed := opts
	fixed.Rate, fixed.Events, fixed.MaxDuration = s.FixedRate, int(s.FixedRate)*s.FixedSeconds, time.Duration(s.FixedSeconds+10)*time.Second
	var wdRes *WithdrawalResult
	var wdErr error
	rr, err := b.loadRun(c, gen, "fixed", fixed, func(ctx context.Context) {
		wdRes, wdErr = b.withdrawals(ctx, c, s.Withdrawals, time.Duration(s.FixedSeconds)*time.Second)
	})
	if err != nil {
		return err
	}
	runs["fixed"] = rr
	if wdErr != nil {
		b.fail(fmt.Errorf("withdrawals: %w", wdErr))
	}
	if wdRes != nil {
		b.res.Withdrawal = wdRes
		b.fig(&Figure{ID: "withdrawal.p50", Stage: "consent-filter", Unit: "ms", Value: wdRes.Latency.P50, Noise: rr.Noise,
			What: fmt.Sprintf("withdrawal propagation p50 over %d withdrawals (PUT returned → DENY user_opt_out appended), under %g events/s", wdRes.Latency.N, s.FixedRate)})
		b.fig(&Figure{ID: "withdrawal.p99", Stage: "consent-filter", Unit: "ms", Value: wdRes.Latency.P99, Noise: rr.Noise,
			What: "withdrawal propagation p99 (goal < 1000 ms)"})
	}

	// Max rate.
	mx := opts
	mx.Rate, mx.Events, mx.Workers, mx.MaxDuration = 0, s.MaxEvents, 8, 60*time.Second
	rr, err = b.loadRun(c, gen, "max", mx, nil)
	if err != nil {
		return err
	}
	runs["max"] = rr
	for name, p := range c.procs {
		b.res.PeakRSSMiB[name+" (e2e)"] = p.PeakRSSMiB()
		b.res.PeakMem[name+" (e2e)"] = p.PeakMem()
	}
	c.stop()
	stopped = true

	b.res.E2E = map[string]any{"runs": runs}
	f := runs["fixed"]
	b.fig(&Figure{ID: "e2e.fixed.p50", Stage: "end-to-end", Unit: "ms", Value: f.Latency.P50, Noise: f.Noise, What: fmt.Sprintf("received_at → curated append, p50, at %g events/s", f.Rate)})
	b.fig(&Figure{ID: "e2e.fixed.p99", Stage: "end-to-end", Unit: "ms", Value: f.Latency.P99, Noise: f.Noise, What: "received_at → curated append, p99"})
	b.fig(&Figure{ID: "e2e.fixed.hop_p50", Stage: "end-to-end", Unit: "ms", Value: f.HopLatency.P50, Noise: f.Noise, Baseline: "chain.fixed.p50", What: "raw append → curated append (filter + anonymizer), p50"})
	b.fig(&Figure{ID: "e2e.fixed.hop_p99", Stage: "end-to-end", Unit: "ms", Value: f.HopLatency.P99, Noise: f.Noise, Baseline: "chain.fixed.p99", What: "raw append → curated append (filter + anonymizer), p99"})
	m := runs["max"]
	b.fig(&Figure{ID: "e2e.max.ingest", Stage: "end-to-end", Unit: "events/s", Value: m.IngestPerSec, Noise: m.Noise, Baseline: "chain.max.throughput", What: "loadgen at max rate: events accepted by the producer per second"})
	b.fig(&Figure{ID: "e2e.max.throughput", Stage: "end-to-end", Unit: "events/s", Value: m.ChainPerSec, Noise: m.Noise, Baseline: "chain.max.throughput",
		What: "loadgen at max rate: raw events through filter and anonymizer per second (first request → both lags 0)"})
	b.fig(&Figure{ID: "e2e.max.p50", Stage: "end-to-end", Unit: "ms", Value: m.Latency.P50, Noise: m.Noise, What: "received_at → curated append at max rate, p50 (includes queueing)"})
	b.fig(&Figure{ID: "e2e.max.p99", Stage: "end-to-end", Unit: "ms", Value: m.Latency.P99, Noise: m.Noise, What: "received_at → curated append at max rate, p99 (includes queueing)"})
	for _, r := range []*RunResult{f, m} {
		for _, name := range sortedKeys(r.CPUPerEvent) {
			b.fig(&Figure{ID: cpuFigureID(r.Mode, name), Stage: "end-to-end", Unit: "µs/event", Value: r.CPUPerEvent[name], Noise: r.Noise, What: cpuWhat(r, name)})
		}
	}
	return nil
}

func (b *bench) waitDrained(c *chain, timeout time.Duration) error {
	start := time.Now()
	for time.Since(start) < timeout {
		if b.lag(c.Groups.Filter, c.Names.Raw) == 0 && b.lag(c.Groups.Anonymizer, c.Names.Consented) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("chain not drained after %s (filter lag %d, anonymizer lag %d)", timeout, b.lag(c.Groups.Filter, c.Names.Raw), b.lag(c.Groups.Anonymizer, c.Names.Consented))
}

// lagSampleEvery is how often a run samples every stage's consumer lag (for
// the plots). Each sample is three GroupLag calls, each a ListOffsets request per
// partition (kafka-go splits them) plus a FindCoordinator and an OffsetFetch: at
// every 500 ms the sampler alone sent ~50 requests a second to the broker it
// measures.
const lagSampleEvery = time.Second

func (b *bench) loadRun(c *chain, gen *loadgen.Generator, mode string, opts loadgen.RunOptions, alongside func(ctx context.Context)) (*RunResult, error) {
	_, raw0, err := totalEnd(b.ctx, b.kafka, c.Names.Raw)
	if err != nil {
		return nil, err
	}
	_, cur0, err := totalEnd(b.ctx, b.kafka, c.Names.Curated)
	if err != nil {
		return nil, err
	}
	rr := &RunResult{Mode: mode, Rate: opts.Rate, Noise: quiet(quietWait)}
	infra := infraPIDs(os.Getenv("CONSENTFLOW_SERVICES_DIR"))
	cpuNow := func() map[string]float64 {
		m := map[string]float64{"cfbench (loadgen)": selfCPU()}
		for name, p := range c.procs {
			m[name] = p.CPUSeconds()
		}
		for name, pid := range infra {
			m[name] = cpuSeconds(pid)
		}
		return m
	}
	cpu0, rt0 := cpuNow(), c.goRuntime()
	machine0, _ := readCPUSample()
	start := time.Now()
	sctx, stopSampling := context.WithCancel(b.ctx)
	var swg, awg sync.WaitGroup
	swg.Add(1)
	go func() {
		defer swg.Done()
		for sctx.Err() == nil {
			rr.Lags = append(rr.Lags, LagSample{T: round(time.Since(start).Seconds(), 2), Filter: b.lag(c.Groups.Filter, c.Names.Raw),
				Anon: b.lag(c.Groups.Anonymizer, c.Names.Consented), Sink: b.lag(c.Groups.Sink, c.Names.Curated)})
			select {
			case <-sctx.Done():
			case <-time.After(lagSampleEvery):
			}
		}
	}()
	if alongside != nil {
		awg.Add(1)
		go func() { defer awg.Done(); alongside(b.ctx) }()
	}
	st, err := loadgen.Run(b.ctx, gen, opts)
	if err != nil {
		awg.Wait()
		stopSampling()
		swg.Wait()
		return nil, fmt.Errorf("loadgen %s: %w", mode, err)
	}
	rr.Load, rr.IngestPerSec = st, round(st.EventsPerSecond(), 0)
	derr := b.waitDrained(c, 90*time.Second)
	rr.ChainSeconds = round(time.Since(start).Seconds(), 3)
	cpu1, rt1 := cpuNow(), c.goRuntime()
	machine1, _ := readCPUSample()
	rr.Noise.end()
	used := map[string]float64{}
	for name, v := range cpu1 {
		used[name] = v - cpu0[name]
	}
	machine, steal := machineBusy(machine0, machine1)
	rr.MachineTickedS = round(machine1.ticked-machine0.ticked, 2)
	rr.CPUSeconds = cpuAccount(used, machine, steal, rr.ChainSeconds)
	rr.GoRuntime = map[string]map[string]float64{}
	for name := range rt1 {
		rr.GoRuntime[name] = goRuntimeOver(rt0[name], rt1[name])
	}
	awg.Wait()
	rr.Metrics = map[string]float64{}
	for name, p := range c.procs {
		for k, v := range metricFamilies(p.OpsAddr, "consentflow_filter_pauses_total", "consentflow_stage_retries_total",
			"consentflow_filter_decisions_total", "consentflow_filter_lookup_seconds_sum", "consentflow_filter_lookup_seconds_count",
			"consentflow_stage_batch_seconds_sum", "consentflow_stage_batch_seconds_count", "consentflow_stage_records_in_total",
			// what the sink's table costs: commits (appends, erasures), files, rows
			"dataset_sink_table_commits_total", "dataset_sink_table_commit_seconds_sum", "dataset_sink_files_written_total",
			"dataset_sink_rows_written_total", "dataset_sink_files_rewritten_total", "dataset_sink_erasure_apply_seconds_sum",
			"dataset_sink_erasure_apply_seconds_count") {
			rr.Metrics[name+" "+k] = v
		}
	}
	if derr == nil {
		derr = b.waitDrained(c, 60*time.Second) // events of the withdrawal benchmark
	}
	stopSampling()
	swg.Wait()
	if derr != nil {
		return nil, derr
	}
	// Join raw and curated on event_id.
	n1, raw1, _ := totalEnd(b.ctx, b.kafka, c.Names.Raw)
	_, cur1, _ := totalEnd(b.ctx, b.kafka, c.Names.Curated)
	var n0 int64
	for _, v := range raw0 {
		n0 += v
	}
	rr.RawEvents = n1 - n0
	rr.ChainPerSec = round(float64(rr.RawEvents)/rr.ChainSeconds, 0)
	rr.CPUPerEvent = cpuPerEvent(rr.CPUSeconds, rr.RawEvents)
	type rawInfo struct{ received, appended time.Time }
	raws := map[string]rawInfo{} // by curated event id
	secret, err := base64.StdEncoding.DecodeString(b.pseudKey)
	if err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	var ingest []time.Duration
	err = stream.ReadRange(b.ctx, b.kafka, c.Names.Raw, raw0, raw1, func(m kafka.Message) {
		ev, err := c.rawCodec.Decode(b.ctx, m.Value)
		if err == nil {
			raws[curatedEventID("k1", secret, "ai_training", ev.TenantID, ev.EventID)] = rawInfo{ev.ReceivedAt, m.Time}
			ingest = append(ingest, m.Time.Sub(ev.ReceivedAt))
		}
	})
	if err != nil {
		return nil, err
	}
	var lat, hop []time.Duration
	err = stream.ReadRange(b.ctx, b.kafka, c.Names.Curated, cur0, cur1, func(m kafka.Message) {
		rr.Curated++
		ev, err := c.curCodec.Decode(b.ctx, m.Value)
		if err != nil {
			return
		}
		if r, ok := raws[ev.EventID]; ok {
			lat = append(lat, m.Time.Sub(r.received))
			hop = append(hop, m.Time.Sub(r.appended))
		}
	})
	if err != nil {
		return nil, err
	}
	rr.Latency, rr.HopLatency, rr.IngestLatency = percentiles(lat, true), percentiles(hop, true), percentiles(ingest, false)
	b.logf("  e2e %s: %d raw, %d curated, ingest %.0f/s, chain %.0f/s, latency p50 %.1f ms p99 %.1f ms", mode, rr.RawEvents, rr.Curated, rr.IngestPerSec, rr.ChainPerSec, rr.Latency.P50, rr.Latency.P99)
	return rr, nil
}

// WithdrawalResult is the withdrawal propagation benchmark (issue 5).
type WithdrawalResult struct {
	Latency     Percentiles `json:"latency"`
	PutLatency  Percentiles `json:"put_latency"`
	StaleAllows int         `json:"stale_allows"`
	WrongReason int         `json:"wrong_reason"`
	Timeouts    int         `json:"timeouts"`
	Method      string      `json:"method"`
}

type decisionSeen struct {
	d        schema.ConsentDecision
	appended time.Time
}

// withdrawals: for each of n fresh users of a fresh tenant (jurisdiction US, an
// opt-out regime, so that a missed withdrawal would show as ALLOW): grant, then
// time PUT denied → the DENY user_opt_out decision (its append time on
// consent.decisions) for the event sent right after the PUT returned.
func (b *bench) withdrawals(ctx context.Context, c *chain, n int, limit time.Duration) (*WithdrawalResult, error) {
	_, ends, err := totalEnd(ctx, b.kafka, c.Names.Decisions)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	waiting := map[string]chan decisionSeen{}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rwg sync.WaitGroup
	for p, off := range ends {
		// The time measured is the record's append time, not when it is read:
		// a short wait would only have kafka-go redial the broker whenever an
		// empty fetch came back more than a quarter of it late.
		r := stream.NewPartitionReader(b.kafka, c.Names.Decisions, p, stream.DefaultMaxWait)
		if err := r.SetOffset(off); err != nil {
			return nil, err
		}
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(rctx)
				if err != nil {
					return
				}
				d, err := c.decCodec.Decode(rctx, m.Value)
				if err != nil {
					continue
				}
				mu.Lock()
				ch := waiting[d.EventID]
				mu.Unlock()
				if ch != nil {
					ch <- decisionSeen{d, m.Time}
				}
			}
		}()
	}
	defer rwg.Wait()
	defer cancel()
	cl := &http.Client{Timeout: 10 * time.Second}
	do := func(method, url string, body any, token string) (int, error) {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(buf))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := cl.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	tenant := "wd-tenant-" + b.res.RunID
	res := &WithdrawalResult{Method: "sequential; per user: PUT granted, PUT denied (timed from its response), POST one event (jurisdiction US), wait for its decision on consent.decisions; latency = decision's LogAppendTime − PUT response; an ALLOW means the withdrawal was not enforced yet and the next event is sent"}
	var lat, put []time.Duration
	start := time.Now()
	time.Sleep(2 * time.Second) // let the readers reach the end offsets
	for i := 0; i < n && time.Since(start) < limit+30*time.Second && ctx.Err() == nil; i++ {
		user := fmt.Sprintf("wd-%s-%04d", b.res.RunID, i)
		url := c.ConsentURL() + "/v1/tenants/" + tenant + "/users/" + user + "/consents/ai_training"
		if code, err := do(http.MethodPut, url, map[string]string{"status": "granted", "source": "bench"}, b.token); err != nil || code != 200 {
			return res, fmt.Errorf("grant %s: %d %v", user, code, err)
		}
		t := time.Now()
		code, err := do(http.MethodPut, url, map[string]string{"status": "denied", "source": "bench"}, b.token)
		t0 := time.Now()
		if err != nil || code != 200 {
			return res, fmt.Errorf("withdraw %s: %d %v", user, code, err)
		}
		put = append(put, t0.Sub(t))
		done := false
		for attempt := 0; attempt < 20 && !done; attempt++ {
			id := uuid.NewString()
			ch := make(chan decisionSeen, 1)
			mu.Lock()
			waiting[id] = ch
			mu.Unlock()
			ev := map[string]any{"events": []map[string]any{{"event_id": id, "event_type": "page_viewed", "tenant_id": tenant,
				"user_id": user, "jurisdiction": "US", "properties": map[string]string{"space": "ENG"}}}}
			if code, err := do(http.MethodPost, c.ProducerURL()+"/v1/events", ev, b.token); err != nil || code != 202 {
				return res, fmt.Errorf("event for %s: %d %v", user, code, err)
			}
			select {
			case d := <-ch:
				if d.d.Decision == schema.DecisionDeny {
					if d.d.Reason != "user_opt_out" {
						res.WrongReason++
					}
					lat = append(lat, d.appended.Sub(t0))
					done = true
				} else {
					res.StaleAllows++
				}
			case <-time.After(10 * time.Second):
				res.Timeouts++
				done = true
			}
			mu.Lock()
			delete(waiting, id)
			mu.Unlock()
		}
	}
	res.Latency, res.PutLatency = percentiles(lat, true), percentiles(put, false)
	if len(lat) < 100 {
		b.note("only %d withdrawals timed (wanted %d)", len(lat), n)
	}
	return res, nil
}

// chainBaseline: kafka-go writer → hop0 → Loop(batch 500, linger 5ms) → hop1 →
// Loop(batch 500, linger 20ms) → hop2, the filter's and anonymizer's Kafka path
// without their work; latency hop0 append → hop2 append (LogAppendTime).
func (b *bench) chainBaseline(attempt int, rate float64, seconds, maxEvents int) (map[string]any, error) {
	p := fmt.Sprintf("%schain%d.", b.prefix, attempt)
	h0, h1, h2 := p+"0", p+"1", p+"2"
	if err := createPlain(b.ctx, b.kafka, 6, true, h0, h2); err != nil {
		return nil, err
	}
	if err := createPlain(b.ctx, b.kafka, 6, false, h1); err != nil {
		return nil, err
	}
	stop1 := passThrough(b.ctx, b.kafka, p+"g1", h0, h1, 500, 5*time.Millisecond)
	stop2 := passThrough(b.ctx, b.kafka, p+"g2", h1, h2, 500, 20*time.Millisecond)
	defer stop1()
	defer stop2()
	w := stream.NewWriter(b.kafka, nil)
	defer w.Close()
	msgs := withTopic(b.data.raw, h0)
	for i := range msgs {
		msgs[i].Headers = []kafka.Header{{Key: "seq", Value: []byte(strconv.Itoa(i))}}
	}
	out := map[string]any{}
	measure := func(name string, send func() (int, error)) (Percentiles, float64, Noise, error) {
		_, e0, _ := totalEnd(b.ctx, b.kafka, h0)
		_, f0, _ := totalEnd(b.ctx, b.kafka, h2)
		noise := quiet(quietWait)
		sent, err := send()
		if err != nil {
			return Percentiles{}, 0, noise, err
		}
		deadline := time.Now().Add(90 * time.Second)
		for b.lag(p+"g1", h0) != 0 || b.lag(p+"g2", h1) != 0 {
			if time.Now().After(deadline) {
				return Percentiles{}, 0, noise, fmt.Errorf("chain baseline %s not drained", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
		noise.end()
		_, e1, _ := totalEnd(b.ctx, b.kafka, h0)
		_, f1, _ := totalEnd(b.ctx, b.kafka, h2)
		in := map[string]time.Time{}
		var first, last time.Time
		_ = stream.ReadRange(b.ctx, b.kafka, h0, e0, e1, func(m kafka.Message) {
			in[string(m.Headers[0].Value)] = m.Time
			if first.IsZero() || m.Time.Before(first) {
				first = m.Time
			}
		})
		var lat []time.Duration
		_ = stream.ReadRange(b.ctx, b.kafka, h2, f0, f1, func(m kafka.Message) {
			if len(m.Headers) > 0 {
				if t, ok := in[string(m.Headers[0].Value)]; ok {
					lat = append(lat, m.Time.Sub(t))
				}
			}
			if m.Time.After(last) {
				last = m.Time
			}
		})
		tput := float64(sent) / last.Sub(first).Seconds()
		return percentiles(lat, true), round(tput, 0), noise, nil
	}
	// Fixed rate: one write every 10 ms of rate/100 records.
	per := max(1, int(rate/100))
	lat, _, noise, err := measure("fixed", func() (int, error) {
		sent := 0
		start := time.Now()
		for i := 0; sent < int(rate)*seconds/3; i++ {
			due := start.Add(time.Duration(i) * 10 * time.Millisecond)
			time.Sleep(time.Until(due))
			lo := sent % (len(msgs) - per)
			if err := w.WriteMessages(b.ctx, msgs[lo:lo+per]...); err != nil {
				return sent, err
			}
			sent += per
		}
		return sent, nil
	})
	if err != nil {
		return nil, err
	}
	out["fixed"] = map[string]any{"rate": rate, "latency_hop0_to_hop2": lat}
	b.fig(&Figure{ID: "chain.fixed.p50", Stage: "baseline", Unit: "ms", Value: lat.P50, Noise: noise, What: fmt.Sprintf("two kafka-go pass-through hops at %g events/s: append → append, p50", rate)})
	b.fig(&Figure{ID: "chain.fixed.p99", Stage: "baseline", Unit: "ms", Value: lat.P99, Noise: noise, What: "two kafka-go pass-through hops: append → append, p99"})
	lat, tput, noise, err := measure("max", func() (int, error) {
		n := min(maxEvents, len(msgs))
		return n, writeAll(b.ctx, b.kafka, msgs[:n], 500, 4)
	})
	if err != nil {
		return nil, err
	}
	out["max"] = map[string]any{"events_per_s": tput, "latency_hop0_to_hop2": lat}
	b.fig(&Figure{ID: "chain.max.throughput", Stage: "baseline", Unit: "events/s", Value: tput, Noise: noise,
		What: "kafka-go writer (4 goroutines × 500) → two pass-through hops: first append → last append"})
	return out, nil
}

// curatedEventID is the curated event_id of a raw event (docs/ARCHITECTURE.md,
// Unlinkability): "<key id>:" and the unpadded lower-case base32 of the first 16
// bytes of HMAC-SHA256, under the pseudonym key, of "consentflow/pseudonym/v1"
// and the uvarint-length-prefixed parts "event", purpose, raw event id, tenant.
// The launcher gives the anonymizer the bench's key as "k1"; latencies match a
// curated record to its raw event with it.
func curatedEventID(keyID string, secret []byte, purpose, tenant, eventID string) string {
	msg := []byte("consentflow/pseudonym/v1")
	parts := []string{"event", purpose, eventID}
	if tenant != "" {
		parts = append(parts, tenant)
	}
	for _, p := range parts {
		msg = binary.AppendUvarint(msg, uint64(len(p)))
		msg = append(msg, p...)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	return keyID + ":" + enc.EncodeToString(m.Sum(nil)[:16])
}
