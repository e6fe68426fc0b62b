package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consentflow/consentflow/pkg/embedded"
	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/logging"
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/pkg/topics"
	"github.com/consentflow/consentflow/services/anonymizer"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
	"github.com/consentflow/consentflow/services/dataset-sink/client"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
	"github.com/consentflow/consentflow/services/producer"
	_ "modernc.org/sqlite" // reads the demo's SQL catalog for its reading examples
)

const demoToken = "demo-token-not-secret"

// demoOptions are the flags of `consentflow demo`.
type demoOptions struct {
	events   int
	out      string
	seed     uint64
	logLevel string
	timeout  time.Duration
	secure   bool
	serve    bool
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
	fs.StringVar(&o.out, "out", "out/demo", "output folder (datasets, load generator log)")
	fs.Uint64Var(&o.seed, "seed", 1, "load generator seed")
	fs.StringVar(&o.logLevel, "log-level", "warn", "services' log level")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up after this long")
	fs.BoolVar(&o.secure, "secure", false, "secure the embedded stack as a managed one is: Kafka over TLS with a client certificate and SASL SCRAM-SHA-512, Redis over TLS with an ACL user, the registry over https with basic auth (a throwaway CA)")
	fs.BoolVar(&o.serve, "serve", false, "keep the chain running after the summary and print links to a demo user's privacy centre and a demo tenant's admin console; Ctrl-C stops it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.serve && o.logLevel == "warn" {
		o.logLevel = "error" // idle readers' reconnect warnings would bury the links
	}
	parent := ctx
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
	stack, err := embedded.Start(ctx, embedded.Options{Secure: o.secure, Topics: topics.Specs(names, topics.Settings{Partitions: 3, ChangePartitions: 3, ReplicationFactor: 1})})
	if err != nil {
		return err
	}
	defer stack.Close()
	say("embedded stack up: Kafka %s (kfake), Redis %s (miniredis), schema registry %s (srfake)", stack.KafkaConfig, stack.RedisConfig, stack.RegistryURL)
	if o.secure {
		say("secured: TLS under the throwaway CA %s, SASL %s and Redis ACL user %q, registry basic auth", stack.CAFile(), stack.KafkaConfig.SASL.Mechanism, stack.RedisConfig.Username)
	}

	// The four services as goroutines, each exactly as its binary runs it.
	services := &launch.Goroutines{Services: serviceDefinitions(), Logger: logger}
	chain, err := launch.New(launch.Options{
		Stack: launch.Stack{Kafka: stack.KafkaConfig, Redis: stack.RedisConfig, Registry: stack.RegistryConfig},
		Dir:   out, Token: demoToken,
	}, services)
	if err != nil {
		return err
	}
	defer chain.Close()
	if err := chain.Start(launch.Services...); err != nil {
		return err
	}
	res, scenarioErr := demoScenario(ctx, o, say, chain, services, stdout)
	if scenarioErr == nil && o.serve {
		scenarioErr = serveCentre(parent, stdout, chain, res.user)
	}
	if err := chain.StopAll(30 * time.Second); err != nil && scenarioErr == nil {
		scenarioErr = err
	}
	if u := chain.Unexpected(); len(u) > 0 && scenarioErr == nil {
		scenarioErr = fmt.Errorf("a service stopped: %s", strings.Join(u, "; "))
	}
	if scenarioErr == nil {
		scenarioErr = printReadingExamples(ctx, stdout, res)
	}
	return scenarioErr
}

// serviceDefinitions are the four services as their binaries define them.
func serviceDefinitions() []run.Definition {
	return []run.Definition{
		run.Define("producer", producer.Run),
		run.Define("consent-filter", consentfilter.Run),
		run.Define("anonymizer", anonymizer.Run),
		run.Define("dataset-sink", datasetsink.Run),
	}
}

func demoScenario(ctx context.Context, o demoOptions, say func(string, ...any), chain *launch.Chain, services *launch.Goroutines, stdout io.Writer) (demoResult, error) {
	if err := chain.WaitReady(ctx, 60*time.Second); err != nil {
		return demoResult{}, err
	}
	say("services ready: producer %s, consent API %s, datasets API %s", chain.ProducerURL(), chain.ConsentURL(), chain.DatasetsURL())

	cfg := loadgen.DefaultConfig()
	cfg.Seed, cfg.Plan.Events = o.seed, o.events
	gen, err := loadgen.NewGenerator(cfg)
	if err != nil {
		return demoResult{}, err
	}
	truthPath := filepath.Join(chain.Dir, "loadgen.jsonl")
	truth, err := os.Create(truthPath)
	if err != nil {
		return demoResult{}, err
	}
	defer truth.Close()
	say("load generator: %d events from %d tenants, with PII in free text and consent churn", o.events, cfg.Tenants)
	stats, err := loadgen.Run(ctx, gen, loadgen.RunOptions{
		ProducerURL: chain.ProducerURL(), ConsentURL: chain.ConsentURL(), Token: chain.Token, Events: o.events,
		Workers: 4, Batch: 50, Truth: truth, MaxDuration: 90 * time.Second,
		LinkTimeout: -1, // no oracle reads the demo's log: do not hold tenants for new links
	})
	if err != nil {
		return demoResult{}, fmt.Errorf("load generator: %w", err)
	}
	say("sent %d events (%d accepted, %.0f events/s), %d consent changes", stats.EventsSent, stats.EventsAccepted, stats.EventsPerSecond(), stats.ConsentsApplied)

	if lags, err := chain.WaitDrained(ctx, 90*time.Second, 200*time.Millisecond); err != nil {
		return demoResult{}, fmt.Errorf("pipeline did not drain (%s): %w", lags, err)
	}
	// The dataset API publishes the open files before it takes the snapshot.
	m, err := client.New(chain.DatasetsURL(), chain.Token, nil).CreateSnapshot(ctx, "ai_training")
	if err != nil {
		return demoResult{}, fmt.Errorf("snapshot: %w", err)
	}
	say("pipeline drained; snapshot %s taken", m.ID)

	decisions := counterByLabel(services.Registry("consent-filter"), "consentflow_filter_decisions_total", "reason")
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
	root := filepath.Join(chain.Dir, "datasets")
	fmt.Fprintf(stdout, "\nconsentflow demo summary\n")
	fmt.Fprintf(stdout, "  events in                  %d\n", stats.EventsAccepted)
	fmt.Fprintf(stdout, "  passed consent             %.0f\n", passed)
	fmt.Fprintf(stdout, "  dropped                    %.0f\n", dropped)
	for _, r := range reasons {
		fmt.Fprintf(stdout, "    %-28s %.0f\n", r, decisions[r])
	}
	fmt.Fprintf(stdout, "  rows in snapshot           %d in %d Parquet files (erased subjects' rows removed)\n", m.Totals.Rows, m.Totals.Files)
	fmt.Fprintf(stdout, "  Iceberg table              %s (SQL catalog %s, tag %s = table snapshot %d)\n", m.Table, filepath.Join(root, "catalog.db"), m.ID, m.IcebergSnapshotID)
	fmt.Fprintf(stdout, "  load generator log         %s\n", truthPath)
	return demoResult{root: root, snapshot: m, user: gen.World().Users()[0]}, nil
}

// demoResult is what the summary's reading examples need once the chain has
// stopped (the table's metadata file is final then).
type demoResult struct {
	root     string
	snapshot manifest.Manifest
	user     *loadgen.User // a user of the run, for the privacy centre's link
}

// printReadingExamples prints one-liners that read the table's current snapshot
// with pyiceberg (the SQL catalog) and DuckDB (iceberg_scan of the current
// metadata file), and the snapshot tag with pyiceberg.
func printReadingExamples(ctx context.Context, stdout io.Writer, r demoResult) error {
	db := filepath.Join(r.root, "catalog.db")
	meta, err := currentMetadata(ctx, db, "consentflow", "consentflow", r.snapshot.Dataset)
	if err != nil {
		return err
	}
	meta = strings.TrimPrefix(meta, "file://")
	fmt.Fprintf(stdout, "\nRead it (readers: bash scripts/iceberg-pyenv.sh | tail -n1, or pip install 'pyiceberg[sql-sqlite,pyarrow]==0.12.0' duckdb==1.4.4 duckdb-ext-iceberg duckdb-ext-avro):\n")
	fmt.Fprintf(stdout, "  python3 -c \"from pyiceberg.catalog.sql import SqlCatalog; t = SqlCatalog('consentflow', uri='sqlite:///%s').load_table('consentflow.%s'); print(t.scan().to_pandas().groupby('event_type').size())\"\n", db, r.snapshot.Dataset)
	fmt.Fprintf(stdout, "  python3 -c \"import duckdb, os, sysconfig; c = duckdb.connect(); c.execute('SET extension_directory = ?', [os.path.join(sysconfig.get_paths()['purelib'], 'duckdb_ext', 'extensions')]); c.execute('LOAD iceberg'); print(c.sql(\\\"SELECT event_type, count(*) FROM iceberg_scan('%s') GROUP BY 1 ORDER BY 2 DESC\\\"))\"\n", meta)
	fmt.Fprintf(stdout, "  python3 -c \"from pyiceberg.catalog.sql import SqlCatalog; t = SqlCatalog('consentflow', uri='sqlite:///%s').load_table('consentflow.%s'); print(t.scan(snapshot_id=t.snapshot_by_name('%s').snapshot_id).to_arrow().num_rows)\"   # the snapshot tag\n", db, r.snapshot.Dataset, r.snapshot.ID)
	return nil
}

// currentMetadata reads the table's current metadata file from the SQL
// catalog (sqlite).
func currentMetadata(ctx context.Context, path, catalogName, namespace, table string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var loc string
	err = db.QueryRowContext(ctx, `SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?`,
		catalogName, namespace, table).Scan(&loc)
	if err != nil {
		return "", fmt.Errorf("read the catalog %s: %w", path, err)
	}
	return loc, nil
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
