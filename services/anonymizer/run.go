package anonymizer

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/consentflow/consentflow/services/anonymizer/internal/pipeline"
	"github.com/consentflow/consentflow/services/anonymizer/internal/transform"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Run anonymizes events.consented into events.curated and turns consent.changes
// into dataset.erasures, serving /healthz, /readyz and /metrics on OPS_ADDR, until
// ctx is cancelled. It then drains: both loops stop fetching, finish writing and
// committing the batch in flight, and the readers and the writer are closed. It
// returns nil after a clean shutdown; it fails at start on a bad configuration, an
// unreadable keyring or a schema annotation it does not understand.
func Run(ctx context.Context, cfg Config, logger *zap.Logger, reg *prometheus.Registry) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("anonymizer configuration: %w", err)
	}
	kr, ephemeral, err := cfg.loadKeyring()
	if err != nil {
		return fmt.Errorf("anonymizer keyring: %w", err)
	}
	logKeyring(logger, kr, ephemeral)
	if cfg.keyringWarning != "" {
		logger.Warn(cfg.keyringWarning)
	}

	metrics := pipeline.NewMetrics(reg)
	tr, err := transform.New(transform.Options{
		Purpose: cfg.Purpose, Keyring: kr, Redactor: newTextRedactor(),
		Allowlist: cfg.PropertiesAllowlist, Granularity: cfg.TimeGranularity,
		OnRedaction: func(typ string) { metrics.Redactions.WithLabelValues(typ).Inc() },
	})
	if err != nil {
		return fmt.Errorf("anonymizer field plan: %w", err)
	}

	rdb, err := cfg.Redis.NewClient(redisconn.Options{DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 1})
	if err != nil {
		return fmt.Errorf("anonymizer redis: %w", err)
	}
	defer rdb.Close() // after the lifecycle: both loops have returned
	cacheTTL := cfg.KeyCache
	if cacheTTL == 0 {
		cacheTTL = -1 // no cache
	}
	keys, err := shred.NewStore(rdb, shred.Options{Namespace: cfg.RedisNamespace, Purpose: cfg.Purpose, KeyTTL: cfg.KeyTTL, CacheTTL: cacheTTL})
	if err != nil {
		return fmt.Errorf("anonymizer key store: %w", err)
	}

	svc := run.Start(ctx, "anonymizer", cfg.OpsAddr, reg, logger)
	if err := run.ConnectKafka(svc, cfg.Config); err != nil {
		return svc.Abort(err)
	}
	// The data keys of curated records live in Redis: a record is never
	// written unsealed, so without Redis the loops hold their batches.
	svc.Await("Redis", func(ctx context.Context) error { return cfg.Redis.Check(ctx, rdb) })
	cs, err := run.Connect(svc, "schema registry", func(ctx context.Context) (*codecs, error) { return register(ctx, cfg) })
	if err != nil {
		return svc.Abort(err)
	}
	writer := stream.NewWriter(cfg.Config, logger, stream.WithMaxBatch(cfg.MaxBatch))
	svc.OnStop("writer", writer.Close)
	events := &pipeline.Events{Purpose: cfg.Purpose, Decoder: cs.consented, Encoder: cs.curated, Transformer: tr,
		CuratedTopic: cfg.Topics.Curated, Keys: keys, Metrics: metrics, Workers: cmp.Or(cfg.Workers, runtime.GOMAXPROCS(0))}
	erasures := &pipeline.Erasures{Decoder: cs.changes, Encoder: cs.erasures, Keyring: kr, Purpose: cfg.Purpose,
		ErasuresTopic: cfg.Topics.Erasures, Keys: keys, Metrics: metrics}
	loopMetrics := stream.NewMetrics(reg)
	// The events stage is CPU-bound: its workers anonymize the next batch while
	// the one before is written and committed. The erasure stage shreds keys
	// before its batch is written and stays one batch at a time.
	for _, l := range []struct {
		stage    string
		handler  stream.Handler
		pipeline int
	}{
		{pipeline.StageEvents, events.Handle, cfg.Pipeline},
		{pipeline.StageErasures, erasures.Handle, 0},
	} {
		reader := stream.NewReader(cfg.Config, cfg.readerConfig(l.stage), logger)
		svc.OnStop(l.stage+" reader", reader.Close)
		svc.Loop(&stream.Loop{
			Name: l.stage, Reader: reader, Writer: writer, Handler: l.handler, DLQ: cfg.Topics.DLQ, MaxBatch: cfg.MaxBatch,
			Pipeline: l.pipeline,
			Logger:   logger.With(zap.String("stage", l.stage)), Metrics: loopMetrics,
		})
	}
	logger.Info("anonymizer running", zap.String("purpose", cfg.Purpose),
		zap.String("in", cfg.Topics.Consented), zap.String("out", cfg.Topics.Curated),
		zap.String("changes", cfg.Topics.Changes), zap.String("erasures", cfg.Topics.Erasures),
		zap.Strings("properties_allowlist", cfg.PropertiesAllowlist), zap.Duration("time_granularity", cfg.TimeGranularity))
	return svc.Wait()
}

// readerConfig is what a stage's reader consumes: the events stage
// events.consented in its group, fetching whatever is there at once; the erasure
// stage consent.changes in its own group. Changes are small and come one per
// consent PUT: fetched at once, each costs a broker request or two (perf17), so
// the erasure stage waits for ErasureMinBytes, at most the reader's MaxWait
// (stream.DefaultMaxWait, 1 s). Its erasures are still shredded before their
// offsets are committed.
func (c Config) readerConfig(stage string) stream.ReaderConfig {
	if stage == pipeline.StageErasures {
		return stream.ReaderConfig{GroupID: c.ErasureGroupID, Topic: c.Topics.Changes, MinBytes: c.ErasureMinBytes}
	}
	return stream.ReaderConfig{GroupID: c.GroupID, Topic: c.Topics.Consented}
}

// codecs are the typed wire-format codecs of the anonymizer's topics.
type codecs struct {
	consented *avro.Codec[schema.InteractionEvent]
	curated   *avro.Codec[schema.CuratedEvent]
	changes   *avro.Codec[schema.ConsentChange]
	erasures  *avro.Codec[schema.Erasure]
}

// register registers the schemas of every topic the anonymizer reads or writes.
func register(ctx context.Context, cfg Config) (*codecs, error) {
	serde, err := avro.NewSerdeFor(cfg.RegistryConfig)
	if err != nil {
		return nil, err
	}
	var cs codecs
	if cs.consented, err = avro.InteractionEvents(ctx, serde, cfg.Topics.Consented); err != nil {
		return nil, err
	}
	if cs.curated, err = avro.CuratedEvents(ctx, serde, cfg.Topics.Curated); err != nil {
		return nil, err
	}
	if cs.changes, err = avro.ConsentChanges(ctx, serde, cfg.Topics.Changes); err != nil {
		return nil, err
	}
	if cs.erasures, err = avro.Erasures(ctx, serde, cfg.Topics.Erasures); err != nil {
		return nil, err
	}
	return &cs, nil
}

// logKeyring says which keys are in use: ids only, never key material. An
// ephemeral key is announced as such, since its pseudonyms die with the process.
func logKeyring(logger *zap.Logger, kr *keyring.Keyring, ephemeral bool) {
	if ephemeral {
		logger.Warn("PSEUDONYM_EPHEMERAL: generated a random pseudonym key for this process only (demo mode); "+
			"pseudonyms cannot be recomputed after a restart and erasures cannot name older ones",
			zap.String("key_id", kr.ActiveID()))
		return
	}
	ids := kr.IDs()
	logger.Info("pseudonym keyring loaded", zap.String("active_key", ids[0]), zap.Strings("retained_keys", ids[1:]))
}
