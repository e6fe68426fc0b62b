package anonymizer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/schema"
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

	metrics := pipeline.NewMetrics(reg)
	tr, err := transform.New(transform.Options{
		Purpose: cfg.Purpose, Keyring: kr, Redactor: newTextRedactor(),
		Allowlist: cfg.PropertiesAllowlist, Granularity: cfg.TimeGranularity,
		OnRedaction: func(typ string) { metrics.Redactions.WithLabelValues(typ).Inc() },
	})
	if err != nil {
		return fmt.Errorf("anonymizer field plan: %w", err)
	}

	opsSrv := ops.New(reg, logger)
	opsSrv.SetReady("registry", "connecting to the schema registry")
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	opsDone := make(chan error, 1)
	go func() { opsDone <- opsSrv.Serve(opsCtx, cfg.OpsAddr) }()
	defer func() {
		stopOps()
		if err := <-opsDone; err != nil {
			logger.Warn("ops server", zap.Error(err))
		}
	}()

	cs, err := connect(ctx, cfg, logger)
	if err != nil {
		return err
	}
	opsSrv.SetReady("registry", "")

	writer := stream.NewWriter(cfg.Brokers, logger)
	events := &pipeline.Events{Decoder: cs.consented, Encoder: cs.curated, Transformer: tr,
		CuratedTopic: cfg.Topics.Curated, DLQTopic: cfg.Topics.DLQ, Metrics: metrics, Logger: logger}
	erasures := &pipeline.Erasures{Decoder: cs.changes, Encoder: cs.erasures, Keyring: kr, Purpose: cfg.Purpose,
		ErasuresTopic: cfg.Topics.Erasures, DLQTopic: cfg.Topics.DLQ, Metrics: metrics, Logger: logger}
	loopMetrics := registerLoopMetrics(reg)

	loops := []struct {
		stage, group, topic string
		handler             stream.Handler
	}{
		{pipeline.StageEvents, cfg.GroupID, cfg.Topics.Consented, events.Handle},
		{pipeline.StageErasures, cfg.ErasureGroupID, cfg.Topics.Changes, erasures.Handle},
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(loops))
	for _, l := range loops {
		reader := stream.NewReader(stream.ReaderConfig{Brokers: cfg.Brokers, GroupID: l.group, Topic: l.topic}, logger)
		loop := &stream.Loop{
			Name: l.stage, Reader: reader, Writer: writer, Handler: l.handler, MaxBatch: cfg.MaxBatch,
			Logger: logger.With(zap.String("stage", l.stage)), Metrics: loopMetrics,
			OnBlocked: func(blocked bool, reason error) {
				if blocked {
					opsSrv.SetReady(l.stage, "blocked: "+reason.Error())
				} else {
					opsSrv.SetReady(l.stage, "")
				}
			},
		}
		go func() {
			err := loop.Run(runCtx)
			if cerr := reader.Close(); cerr != nil && err == nil && runCtx.Err() == nil {
				err = fmt.Errorf("%s: close reader: %w", l.stage, cerr)
			}
			if err != nil {
				cancel() // one stage failing stops the other
			}
			errc <- err
		}()
	}
	logger.Info("anonymizer running", zap.String("purpose", cfg.Purpose),
		zap.String("in", cfg.Topics.Consented), zap.String("out", cfg.Topics.Curated),
		zap.String("changes", cfg.Topics.Changes), zap.String("erasures", cfg.Topics.Erasures),
		zap.Strings("properties_allowlist", cfg.PropertiesAllowlist), zap.Duration("time_granularity", cfg.TimeGranularity))

	var runErr error
	for range loops {
		if err := <-errc; err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	opsSrv.Stopping()
	if err := writer.Close(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("close writer: %w", err))
	}
	logger.Info("anonymizer stopped")
	return runErr
}

// codecs are the typed wire-format codecs of the anonymizer's topics.
type codecs struct {
	consented *avro.Codec[schema.InteractionEvent]
	curated   *avro.Codec[schema.CuratedEvent]
	changes   *avro.Codec[schema.ConsentChange]
	erasures  *avro.Codec[schema.Erasure]
}

// connect registers the schemas of every topic the anonymizer reads or writes,
// retrying while the registry is not reachable yet (it may start after us) until
// ctx ends.
func connect(ctx context.Context, cfg Config, logger *zap.Logger) (*codecs, error) {
	backoff := 200 * time.Millisecond
	for {
		cs, err := register(ctx, cfg)
		if err == nil {
			return cs, nil
		}
		logger.Warn("schema registry not ready; retrying", zap.Error(err), zap.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to schema registry: %w", errors.Join(ctx.Err(), err))
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func register(ctx context.Context, cfg Config) (*codecs, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
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

// registerLoopMetrics registers stream.Loop's metrics, sharing them with other
// stages of the same process that registered them first.
func registerLoopMetrics(reg prometheus.Registerer) *stream.LoopMetrics {
	m := stream.NewLoopMetrics(nil)
	if reg == nil {
		return m
	}
	m.In = pipeline.Register(reg, m.In)
	m.Out = pipeline.Register(reg, m.Out)
	m.Retries = pipeline.Register(reg, m.Retries)
	m.Batch = pipeline.Register(reg, m.Batch)
	return m
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
