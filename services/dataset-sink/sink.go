package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/stream"
)

var errKilled = errors.New("dataset sink killed")

// Sink is a running dataset sink: Run consumes Kafka and serves the API;
// Snapshot, Flush and Purge are its in-process controls (the demo uses them).
type Sink struct {
	cfg     Config
	log     *zap.Logger
	m       *metrics
	now     func() time.Time
	store   Storage
	ledger  *Ledger
	writer  *Writer
	dead    *deadLetters
	catalog *Catalog
	api     *API
	reg     *prometheus.Registry

	flushReq chan chan error
	kill     chan struct{}
	noCommit bool // tests: never commit, so a restart re-reads everything
	// retryMin and retryMax bound the backoff of Kafka fetch and commit retries.
	retryMin, retryMax time.Duration
}

// Option customises New.
type Option func(*Sink)

// WithClock replaces time.Now (tests of rotation, expiry and purge deadlines).
func WithClock(now func() time.Time) Option { return func(s *Sink) { s.now = now } }

// WithStorage replaces the storage chosen by the configuration.
func WithStorage(st Storage) Option { return func(s *Sink) { s.store = st } }

// New opens the storage, the erasure ledger and the files already written;
// it does not contact Kafka (Run does).
func New(ctx context.Context, cfg Config, logger *zap.Logger, reg *prometheus.Registry, opts ...Option) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dataset sink configuration: %w", err)
	}
	s := &Sink{cfg: cfg, log: logger.With(zap.String("component", "dataset-sink")), now: time.Now,
		flushReq: make(chan chan error), kill: make(chan struct{}), retryMin: 100 * time.Millisecond, retryMax: 5 * time.Second}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.reg = reg
	s.m = newMetrics(reg)
	for _, o := range opts {
		o(s)
	}
	if s.store == nil {
		st, err := openStorage(cfg)
		if err != nil {
			return nil, err
		}
		s.store = st
	}
	if fs, ok := s.store.(*FS); ok {
		if err := fs.RemoveStaged(cfg.Dataset); err != nil {
			return nil, fmt.Errorf("remove staged leftovers: %w", err)
		}
	}
	ledger, err := OpenLedger(filepath.Join(cfg.Root, cfg.Dataset, "erasures.jsonl"))
	if err != nil {
		return nil, err
	}
	s.ledger = ledger
	s.m.ledgerPosition.Set(float64(ledger.Position()))
	s.writer, err = newWriter(ctx, s.store, ledger, WriterOptions{
		Dataset: cfg.Dataset, Topic: cfg.Topics.Curated, RotateRows: cfg.RotateRows, RotateBytes: cfg.RotateBytes,
		RotateInterval: cfg.RotateInterval, RowGroupRows: cfg.RowGroupRows, DedupeWindow: cfg.DedupeWindow,
	}, s.now, s.m, s.log)
	if err != nil {
		ledger.Close()
		return nil, err
	}
	s.catalog = newCatalog(s.store, ledger, CatalogOptions{Dataset: cfg.Dataset, Retention: cfg.SnapshotRetention, RowGroupRows: cfg.RowGroupRows}, s.now, s.m, s.log)
	tokens, err := auth.ParseTokens(cfg.Tokens)
	if err != nil { // Validate parsed it already
		ledger.Close()
		return nil, fmt.Errorf("SINK_TOKENS: %w", err)
	}
	s.api = NewAPI(map[string]*Catalog{cfg.Dataset: s.catalog}, tokens, s.log)
	if s.api.guard.anonymous() && cfg.HTTPAddr != "" {
		s.log.Warn("no API tokens configured: the dataset API is open on loopback", zap.String("addr", cfg.HTTPAddr))
	}
	return s, nil
}

func openStorage(cfg Config) (Storage, error) {
	if cfg.Storage == "s3" {
		return NewS3(S3Options{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket, Prefix: cfg.S3Prefix,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, PathStyle: cfg.S3PathStyle,
			StagingDir: filepath.Join(cfg.Root, ".staging")})
	}
	return NewFS(cfg.Root)
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

// Run consumes events.curated and dataset.erasures, takes scheduled snapshots,
// enforces the purge deadline and serves the API and ops endpoints until ctx is
// cancelled; then it stops fetching, publishes open files, commits and returns.
func (s *Sink) Run(ctx context.Context) error {
	client, err := sr.NewClient(sr.URLs(s.cfg.RegistryConfig.URL))
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	serde := avro.NewSerde(client)
	events, err := avro.CuratedEvents(ctx, serde, s.cfg.Topics.Curated)
	if err != nil {
		return fmt.Errorf("curated event codec: %w", err)
	}
	erasures, err := avro.Erasures(ctx, serde, s.cfg.Topics.Erasures)
	if err != nil {
		return fmt.Errorf("erasure codec: %w", err)
	}
	dlq := stream.NewWriter(s.cfg.Brokers, s.log)
	defer dlq.Close()
	s.dead = &deadLetters{w: dlq, topic: s.cfg.Topics.DLQ, m: s.m, log: s.log, backoffMin: 100 * time.Millisecond, backoffMax: 5 * time.Second}
	opsSrv := ops.New(s.reg, s.log)
	var ln net.Listener
	if s.cfg.HTTPAddr != "" {
		if ln, err = net.Listen("tcp", s.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("dataset api listen %s: %w", s.cfg.HTTPAddr, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.consumeEvents(gctx, events) })
	g.Go(func() error { return s.consumeErasures(gctx, erasures) })
	g.Go(func() error { return s.schedule(gctx) })
	g.Go(func() error { return opsSrv.Serve(gctx, s.cfg.OpsAddr) })
	if ln != nil {
		g.Go(func() error {
			return ops.ServeHTTP(gctx, ln, s.api.Handler(), s.log.With(zap.String("server", "dataset-api")))
		})
	}
	opsSrv.SetReady("dataset-sink", "")
	err = g.Wait()
	opsSrv.Stopping()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// schedule takes snapshots every SNAPSHOT_INTERVAL and runs the purge every
// ERASURE_PURGE_CHECK.
func (s *Sink) schedule(ctx context.Context) error {
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
		case <-snapC:
			if _, err := s.Snapshot(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("scheduled snapshot", zap.Error(err))
			}
		case <-purge.C:
			if _, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("erasure purge", zap.Error(err))
			}
		}
	}
}

// Snapshot takes a snapshot now (files already published; call Flush first to
// include everything consumed so far).
func (s *Sink) Snapshot(ctx context.Context) (Manifest, error) {
	return s.catalog.Snapshot(ctx)
}

// Flush publishes every open file and commits its offsets: when it returns, every
// record consumed so far is in a published file (or was dropped as erased). It
// needs Run to be running.
func (s *Sink) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.flushReq <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Purge enforces the erasure purge deadline and snapshot retention now.
func (s *Sink) Purge(ctx context.Context) (PurgeResult, error) {
	return s.catalog.Purge(ctx, s.cfg.PurgeDeadline, s.cfg.PurgeCheck)
}

// Catalog returns the dataset's catalog.
func (s *Sink) Catalog() *Catalog { return s.catalog }

// Handler returns the dataset HTTP API handler.
func (s *Sink) Handler() http.Handler { return s.api.Handler() }

// Ledger returns the erasure ledger.
func (s *Sink) Ledger() *Ledger { return s.ledger }

// ManifestPath is where a snapshot's manifest lives, relative to the storage root
// (under DATASET_ROOT for local storage).
func (s *Sink) ManifestPath(m Manifest) string {
	key := s.catalog.snapKey(m.ID, manifestName)
	if s.cfg.Storage == "fs" {
		return filepath.Join(s.cfg.Root, filepath.FromSlash(key))
	}
	return key
}

// Stats are the writer's totals since start.
type Stats struct {
	// RecordsConsumed counts every record handed to the writer, redeliveries
	// included.
	RecordsConsumed int64
	RowsWritten     int64
	FilesWritten    int64
	BytesWritten    int64
	// RowsDropped counts records of new offsets not written (dead-lettered,
	// duplicate event_id, erased); DuplicatesDropped is the duplicate part.
	RowsDropped       int64
	DuplicatesDropped int64
}

// Stats returns the writer's totals since start.
func (s *Sink) Stats() Stats { return s.writer.Stats() }

// Close releases the ledger.
func (s *Sink) Close() error { return s.ledger.Close() }
