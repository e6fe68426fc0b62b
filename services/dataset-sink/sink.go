package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/api"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

var errKilled = errors.New("dataset sink killed")

// Sink is a dataset sink: Run consumes Kafka and serves the API; Snapshot and
// Flush are its in-process controls.
type Sink struct {
	cfg     Config
	log     *zap.Logger
	m       *metrics
	now     func() time.Time
	store   storage.Storage
	ledger  *ledger.Ledger
	writer  *writer.Writer
	catalog *catalog.Catalog
	api     *api.API
	reg     *prometheus.Registry

	// events is the events loop, set by Run before it closes running; acks are
	// its acknowledgements.
	events  *stream.Loop
	running chan struct{}
	acks    *stream.Acks
	// kill stops Run at once, without publishing open files (tests: a crash).
	kill   chan struct{}
	killed atomic.Bool
}

// New opens the storage, the erasure ledger and the files already written;
// it does not contact Kafka (Run does).
func New(ctx context.Context, cfg Config, logger *zap.Logger, reg *prometheus.Registry) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dataset sink configuration: %w", err)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Sink{cfg: cfg, log: logger.With(zap.String("component", "dataset-sink")), now: time.Now, reg: reg,
		m: newMetrics(reg), acks: stream.NewAcks(), kill: make(chan struct{}), running: make(chan struct{})}
	st, err := openStorage(cfg)
	if err != nil {
		return nil, err
	}
	s.store = st
	if fs, ok := st.(*storage.FS); ok {
		if err := fs.RemoveStaged(cfg.Dataset); err != nil {
			return nil, fmt.Errorf("remove staged leftovers: %w", err)
		}
	}
	l, err := ledger.Open(filepath.Join(cfg.Root, cfg.Dataset, "erasures.jsonl"))
	if err != nil {
		return nil, err
	}
	s.ledger = l
	s.m.ledgerPosition.Set(float64(l.Position()))
	s.writer, err = writer.New(ctx, s.store, l, writer.Options{
		Dataset: cfg.Dataset, Topic: cfg.Topics.Curated, RotateRows: cfg.RotateRows, RotateBytes: cfg.RotateBytes,
		RotateInterval: cfg.RotateInterval, RowGroupRows: cfg.RowGroupRows, DedupeWindow: cfg.DedupeWindow,
	}, s.now, s.m.writer, s.log)
	if err != nil {
		l.Close()
		return nil, err
	}
	s.catalog = catalog.New(s.store, l, catalog.Options{Dataset: cfg.Dataset, Retention: cfg.SnapshotRetention, RowGroupRows: cfg.RowGroupRows},
		s.now, s.m.catalog, s.log)
	tokens, err := auth.ParseTokens(cfg.Tokens)
	if err != nil { // Validate parsed it already
		l.Close()
		return nil, fmt.Errorf("SINK_TOKENS: %w", err)
	}
	s.api = api.New(map[string]*catalog.Catalog{cfg.Dataset: s.catalog}, tokens, s.log)
	s.api.Flush = s.Flush
	if (tokens == nil || tokens.Len() == 0) && cfg.HTTPAddr != "" {
		s.log.Warn("no API tokens configured: the dataset API is open on loopback", zap.String("addr", cfg.HTTPAddr))
	}
	return s, nil
}

func openStorage(cfg Config) (storage.Storage, error) {
	if cfg.Storage == "s3" {
		return storage.NewS3(storage.S3Options{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket, Prefix: cfg.S3Prefix,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, PathStyle: cfg.S3PathStyle,
			StagingDir: filepath.Join(cfg.Root, ".staging")})
	}
	return storage.NewFS(cfg.Root)
}

// Run runs a dataset sink until ctx is cancelled, then drains.
func Run(ctx context.Context, cfg Config, logger *zap.Logger, reg *prometheus.Registry) error {
	s, err := New(ctx, cfg, logger, reg)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run(ctx)
}

// codecs are the typed wire-format codecs of the sink's topics.
type codecs struct {
	events   *avro.Codec[schema.CuratedEvent]
	erasures *avro.Codec[schema.Erasure]
}

// Run consumes events.curated and dataset.erasures, takes scheduled snapshots,
// enforces the purge deadline and serves the API and ops endpoints until ctx is
// cancelled; then it stops fetching, publishes open files, commits and returns.
func (s *Sink) Run(ctx context.Context) error {
	var ln net.Listener
	if s.cfg.HTTPAddr != "" {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("dataset API listen %s: %w", s.cfg.HTTPAddr, err)
		}
	}
	svc := run.Start(ctx, "dataset-sink", s.cfg.OpsAddr, s.reg, s.log)
	if ln != nil {
		svc.OnStop("dataset API listener", func() error { return ignoreClosed(ln.Close()) })
	}
	cs, err := run.Connect(svc, "schema registry", func(ctx context.Context) (*codecs, error) {
		serde, err := avro.NewSerdeFor(s.cfg.RegistryConfig)
		if err != nil {
			return nil, err
		}
		var cs codecs
		if cs.events, err = avro.CuratedEvents(ctx, serde, s.cfg.Topics.Curated); err != nil {
			return nil, err
		}
		if cs.erasures, err = avro.Erasures(ctx, serde, s.cfg.Topics.Erasures); err != nil {
			return nil, err
		}
		return &cs, nil
	})
	if err != nil {
		return svc.Abort(err)
	}
	dlq := stream.NewWriter(s.cfg.Brokers, s.log)
	svc.OnStop("dead-letter writer", dlq.Close)
	loopMetrics := stream.NewMetrics(s.reg)

	evReader := stream.NewReader(stream.ReaderConfig{Brokers: s.cfg.Brokers, GroupID: s.cfg.GroupID, Topic: s.cfg.Topics.Curated}, s.log)
	svc.OnStop("events reader", evReader.Close)
	ev := &events{codec: cs.events, writer: s.writer, acks: s.acks, killed: s.killed.Load}
	loop := &stream.Loop{Name: StageEvents, Reader: evReader, Writer: dlq, Handler: ev.handle, DLQ: s.cfg.Topics.DLQ,
		Acks: s.acks, Drain: ev.drain, DrainTimeout: 30 * time.Second, Logger: s.log.With(zap.String("stage", StageEvents)), Metrics: loopMetrics}
	s.events = loop
	close(s.running)
	svc.Loop(loop)

	erReader := stream.NewReader(stream.ReaderConfig{Brokers: s.cfg.Brokers, GroupID: s.cfg.GroupID + "-erasures", Topic: s.cfg.Topics.Erasures}, s.log)
	svc.OnStop("erasures reader", erReader.Close)
	er := &erasures{codec: cs.erasures, ledger: s.ledger, now: s.now, metrics: s.m, log: s.log}
	svc.Loop(&stream.Loop{Name: StageErasures, Reader: erReader, Writer: dlq, Handler: er.handle, DLQ: s.cfg.Topics.DLQ,
		Logger: s.log.With(zap.String("stage", StageErasures)), Metrics: loopMetrics})

	svc.Go(func(ctx context.Context) error { return s.schedule(ctx, ev) })
	svc.Go(func(ctx context.Context) error {
		select {
		case <-s.kill:
			s.killed.Store(true)
			s.writer.Abandon()
			return errKilled
		case <-ctx.Done():
			return nil
		}
	})
	if ln != nil {
		svc.Serve("dataset API", ln, s.api.Handler(), 10*time.Second)
	}
	return svc.Wait()
}

// schedule closes files open longer than SINK_ROTATE_INTERVAL (their records
// become durable and are acknowledged), takes snapshots every SNAPSHOT_INTERVAL
// and runs the purge every ERASURE_PURGE_CHECK.
func (s *Sink) schedule(ctx context.Context, ev *events) error {
	rotate := time.NewTicker(min(max(s.cfg.RotateInterval/4, 10*time.Millisecond), time.Second))
	defer rotate.Stop()
	var snapC <-chan time.Time
	if s.cfg.SnapshotInterval > 0 {
		t := time.NewTicker(s.cfg.SnapshotInterval)
		defer t.Stop()
		snapC = t.C
	}
	purge := time.NewTicker(s.cfg.PurgeCheck)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rotate.C:
			if s.killed.Load() {
				continue
			}
			done, err := s.writer.Tick(ctx)
			ev.ack(done)
			if err != nil {
				return fmt.Errorf("rotate files: %w", err)
			}
		case <-snapC:
			if _, err := s.Snapshot(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("scheduled snapshot", zap.Error(err))
			}
		case <-purge.C:
			if _, err := s.catalog.Purge(ctx, s.cfg.PurgeDeadline, s.cfg.PurgeCheck); err != nil && ctx.Err() == nil {
				s.log.Error("erasure purge", zap.Error(err))
			}
		}
	}
}

// Snapshot takes a snapshot now of the files already published (Flush first to
// include everything consumed so far).
func (s *Sink) Snapshot(ctx context.Context) (manifest.Manifest, error) {
	return s.catalog.Snapshot(ctx)
}

// Flush publishes every open file and commits its offsets: when it returns, every
// record consumed so far is in a published file (or was dropped as erased or
// dead-lettered) and committed. It waits for Run to be consuming.
func (s *Sink) Flush(ctx context.Context) error {
	select {
	case <-s.running:
	case <-ctx.Done():
		return ctx.Err()
	}
	done, err := s.writer.CloseAll(ctx)
	for _, d := range done {
		s.acks.AckThrough(d.Partition, d.Last)
	}
	if err != nil {
		return err
	}
	return s.events.Commit(ctx)
}

// Stats are the writer's totals since start.
func (s *Sink) Stats() writer.Stats { return s.writer.Stats() }

// Close releases the ledger.
func (s *Sink) Close() error { return s.ledger.Close() }

// ignoreClosed drops the error of closing a listener the HTTP server closed.
func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
