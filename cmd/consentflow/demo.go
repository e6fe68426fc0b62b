package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/embedded"
	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/logging"
	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
	"github.com/consentflow/consentflow/services/anonymizer"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
	"github.com/consentflow/consentflow/services/producer"
)

const demoToken = "demo-token-not-secret"

// demoOptions are the flags of `consentflow demo`.
type demoOptions struct {
	events   int
	out      string
	seed     uint64
	logLevel string
	timeout  time.Duration
}

// demoCommand runs the whole chain in one process on the embedded stack: the four
// services (each exactly as its own binary runs it, talking to in-process Kafka,
// Redis and schema registry over loopback), the load generator, and a final
// snapshot of the dataset.
func demoCommand(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var o demoOptions
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.events, "events", 3000, "events to generate")
	fs.StringVar(&o.out, "out", "out/demo", "output folder (datasets, ground truth)")
	fs.Uint64Var(&o.seed, "seed", 1, "load generator seed")
	fs.StringVar(&o.logLevel, "log-level", "warn", "services' log level")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	start := time.Now()
	say := func(format string, a ...any) {
		fmt.Fprintf(stdout, "[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}

	out, err := filepath.Abs(o.out)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return fmt.Errorf("clean %s: %w", out, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	logger, err := logging.New(logging.Config{Format: "console", Level: o.logLevel}, "demo")
	if err != nil {
		return err
	}
	defer logger.Sync() //nolint:errcheck

	names := topics.DefaultNames()
	stack, err := embedded.Start(ctx, embedded.Options{Topics: topics.Specs(names, topics.Settings{Partitions: 3, ChangePartitions: 3, ReplicationFactor: 1})})
	if err != nil {
		return err
	}
	defer stack.Close()
	say("embedded stack up: Kafka %s (kfake), Redis %s (miniredis), schema registry %s (srfake)", stack.Brokers[0], stack.RedisAddr, stack.RegistryURL)

	ports, err := freePorts(7)
	if err != nil {
		return err
	}
	common := map[string]string{
		"KAFKA_BROKERS": strings.Join(stack.Brokers, ","), "SCHEMA_REGISTRY_URL": stack.RegistryURL,
	}
	env := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	producerURL, consentURL, datasetsURL := "http://"+ports[0], "http://"+ports[1], "http://"+ports[2]
	opsAddrs := map[string]string{"producer": ports[3], "consent-filter": ports[4], "anonymizer": ports[5], "dataset-sink": ports[6]}

	var pcfg producer.Config
	var fcfg consentfilter.Config
	var acfg anonymizer.Config
	var scfg datasetsink.Config
	loads := []struct {
		name string
		cfg  any
		env  map[string]string
	}{
		{"producer", &pcfg, env(map[string]string{"PRODUCER_HTTP_ADDR": ports[0], "OPS_ADDR": opsAddrs["producer"],
			"PRODUCER_TOKENS": "demo:plain:" + demoToken + "=events:write"})},
		{"consent-filter", &fcfg, env(map[string]string{"CONSENT_HTTP_ADDR": ports[1], "OPS_ADDR": opsAddrs["consent-filter"],
			"REDIS_ADDR": stack.RedisAddr, "CONSENT_TOKENS": "demo:plain:" + demoToken + "=consent:read|consent:write",
			"AUDIT_KEY_EPHEMERAL": "true"})},
		{"anonymizer", &acfg, env(map[string]string{"OPS_ADDR": opsAddrs["anonymizer"], "PSEUDONYM_EPHEMERAL": "true",
			"PROPERTIES_ALLOWLIST": "project,space,priority,to_status,feature,model,results,scope"})},
		{"dataset-sink", &scfg, env(map[string]string{"SINK_HTTP_ADDR": ports[2], "OPS_ADDR": opsAddrs["dataset-sink"],
			"DATASET_ROOT": filepath.Join(out, "datasets"), "SINK_ROTATE_INTERVAL": "2s", "SNAPSHOT_INTERVAL": "0"})},
	}
	for _, l := range loads {
		if err := config.LoadFrom(l.cfg, l.env); err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
	}

	svcLog := func(name string) *zap.Logger { return logger.With(zap.String("service", name)) }
	regs := map[string]*prometheus.Registry{}
	for _, n := range []string{"producer", "consent-filter", "anonymizer", "dataset-sink"} {
		regs[n] = ops.NewRegistry()
	}
	sink, err := datasetsink.New(ctx, scfg, svcLog("dataset-sink"), regs["dataset-sink"])
	if err != nil {
		return err
	}
	defer sink.Close()

	svcCtx, stopServices := context.WithCancel(ctx)
	defer stopServices()
	g, gctx := errgroup.WithContext(svcCtx)
	g.Go(func() error { return producer.Run(gctx, pcfg, svcLog("producer"), regs["producer"]) })
	g.Go(func() error { return consentfilter.Run(gctx, fcfg, svcLog("consent-filter"), regs["consent-filter"]) })
	g.Go(func() error { return anonymizer.Run(gctx, acfg, svcLog("anonymizer"), regs["anonymizer"]) })
	g.Go(func() error { return sink.Run(gctx) })

	result := make(chan error, 1)
	go func() {
		result <- demoScenario(gctx, o, say, demoEnv{out: out, producerURL: producerURL, consentURL: consentURL,
			datasetsURL: datasetsURL, opsAddrs: opsAddrs, brokers: stack.Brokers, names: names, sink: sink, regs: regs}, stdout)
	}()
	var scenarioErr error
	select {
	case scenarioErr = <-result:
	case <-gctx.Done():
		scenarioErr = errors.New("a service stopped")
	}
	stopServices()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("service: %w", err)
	}
	return scenarioErr
}

type demoEnv struct {
	out                                  string
	producerURL, consentURL, datasetsURL string
	opsAddrs                             map[string]string
	brokers                              []string
	names                                topics.Names
	sink                                 *datasetsink.Sink
	regs                                 map[string]*prometheus.Registry
}

func demoScenario(ctx context.Context, o demoOptions, say func(string, ...any), e demoEnv, stdout io.Writer) error {
	for name, addr := range e.opsAddrs {
		if err := waitReady(ctx, "http://"+addr+"/readyz"); err != nil {
			return fmt.Errorf("%s not ready: %w", name, err)
		}
	}
	say("services ready: producer %s, consent API %s, datasets API %s", e.producerURL, e.consentURL, e.datasetsURL)

	cfg := loadgen.DefaultConfig()
	cfg.Seed = o.seed
	gen, err := loadgen.NewGenerator(cfg)
	if err != nil {
		return err
	}
	truthPath := filepath.Join(e.out, "truth.jsonl")
	truth, err := os.Create(truthPath)
	if err != nil {
		return err
	}
	defer truth.Close()
	say("load generator: %d events from %d tenants, with PII in free text and consent churn", o.events, cfg.Tenants)
	stats, err := loadgen.Run(ctx, gen, loadgen.RunOptions{
		ProducerURL: e.producerURL, ConsentURL: e.consentURL, Token: demoToken, Events: o.events,
		Workers: 4, Batch: 50, Oracle: policyOracle(policy.Default()), Truth: truth, MaxDuration: 90 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("load generator: %w", err)
	}
	say("sent %d events (%d accepted, %.0f events/s), %d consent changes", stats.EventsSent, stats.EventsAccepted, stats.EventsPerSecond(), stats.ConsentsApplied)

	groups := []struct{ group, topic string }{
		{"consent-filter", e.names.Raw}, {"anonymizer", e.names.Consented}, {"dataset-sink", e.names.Curated},
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var total int64
		for _, gt := range groups {
			lag, err := stream.GroupLag(ctx, e.brokers, gt.group, gt.topic)
			if err != nil {
				return err
			}
			total += lag
		}
		if total == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pipeline did not drain: %d records behind", total)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := e.sink.Flush(ctx); err != nil {
		return fmt.Errorf("flush sink: %w", err)
	}
	m, err := e.sink.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	say("pipeline drained; snapshot %s taken", m.ID)

	decisions := counterByLabel(e.regs["consent-filter"], "consentflow_filter_decisions_total", "reason")
	var passed, dropped float64
	reasons := make([]string, 0, len(decisions))
	for r, v := range decisions {
		if strings.HasPrefix(r, "allowed") {
			passed += v
		} else {
			dropped += v
			reasons = append(reasons, r)
		}
	}
	sort.Strings(reasons)
	dataDir := filepath.Join(e.out, "datasets", m.Dataset)
	fmt.Fprintf(stdout, "\nconsentflow demo summary\n")
	fmt.Fprintf(stdout, "  events in                  %d\n", stats.EventsAccepted)
	fmt.Fprintf(stdout, "  passed consent             %.0f\n", passed)
	fmt.Fprintf(stdout, "  dropped                    %.0f\n", dropped)
	for _, r := range reasons {
		fmt.Fprintf(stdout, "    %-28s %.0f\n", r, decisions[r])
	}
	fmt.Fprintf(stdout, "  rows in snapshot           %d in %d Parquet files (erased subjects' rows removed)\n", m.Totals.Rows, m.Totals.Files)
	fmt.Fprintf(stdout, "  snapshot manifest          %s\n", e.sink.ManifestPath(m))
	fmt.Fprintf(stdout, "  ground truth               %s\n", truthPath)
	fmt.Fprintf(stdout, "\nLook at it:\n  duckdb -c \"SELECT event_type, count(*) FROM read_parquet('%s/data/*/*.parquet') GROUP BY 1 ORDER BY 2 DESC\"\n", dataDir)
	fmt.Fprintf(stdout, "  python3 -c \"import pandas as pd; print(pd.read_parquet('%s/data').head())\"\n", dataDir)
	return nil
}

func counterByLabel(reg *prometheus.Registry, name, label string) map[string]float64 {
	out := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					out[lp.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("%s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return last
}

// freePorts returns n loopback addresses free right now.
func freePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}
