package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/api"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/erasure"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

var errKilled = errors.New("dataset sink killed")

// compactSmall: data files below this size are compacted.
const compactSmall = 32 << 20

// Sink is a dataset sink: Run consumes Kafka and serves the API; Snapshot and
// Flush are its in-process controls.
type Sink struct {
	cfg     Config
	log     *zap.Logger
	m       *metrics
	now     func() time.Time
	store   storage.Storage
	lake    *lake.Lake
	ledger  *ledger.Ledger
	writer  *writer.Writer
	applier *erasure.Applier
	catalog *catalog.Catalog
	api     *api.API
	reg     *prometheus.Registry
	// behind lists where the ledger is behind the table (Run rebuilds it).
	behind []string

	// events is the events loop, set by Run before it closes running; acks are
	// its acknowledgements.
	events  *stream.Loop
	running chan struct{}
	acks    *stream.Acks
	// applyNow asks the applier loop to apply new erasures.
	applyNow chan struct{}
	// kill stops Run at once, without committing buffered rows (tests: a crash).
	kill   chan struct{}
	killed atomic.Bool
}

// New opens the storage, the table in its catalog and the erasure ledger; it
// does not contact Kafka (Run does). It refuses a configuration that lacks a
// pseudonym key the table's rows still use.
func New(ctx context.Context, cfg Config, logger *zap.Logger, reg *prometheus.Registry) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dataset sink configuration: %w", err)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Sink{cfg: cfg, log: logger.With(zap.String("component", "dataset-sink")), now: time.Now, reg: reg,
		m: newMetrics(reg), acks: stream.NewAcks(), kill: make(chan struct{}), running: make(chan struct{}),
		applyNow: make(chan struct{}, 1)}
	st, err := openStorage(cfg)
	if err != nil {
		return nil, err
	}
	s.store = st
	// Staged files of a crash, for every storage (S3 stages locally).
	if err := st.RemoveStaged(cfg.Dataset); err != nil {
		return nil, fmt.Errorf("remove staged leftovers: %w", err)
	}
	lo, err := lakeOptions(cfg)
	if err != nil {
		return nil, err
	}
	if s.lake, err = lake.Open(ctx, lo, s.m.lake, s.log); err != nil {
		return nil, err
	}
	fail := func(err error) (*Sink, error) {
		s.lake.Close()
		return nil, err
	}
	if s.ledger, err = ledger.Open(ctx, s.lake.DB(), s.lake.Dialect, cfg.CatalogName+"."+s.lake.Name()); err != nil {
		return fail(err)
	}
	t, err := s.lake.Load(ctx)
	if err != nil {
		return fail(err)
	}
	state, err := lake.StateOf(t)
	if err != nil {
		return fail(err)
	}
	s.behind = s.ledger.Behind(state.Erasures)
	if len(cfg.KeyIDs) > 0 {
		var missing []string
		for _, k := range state.Keys {
			if !slices.Contains(cfg.KeyIDs, k) && !slices.Contains(cfg.RetireKeys, k) {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fail(fmt.Errorf("rows of %s use pseudonym keys %s that PSEUDONYM_KEY_IDS (%s) does not list: "+
				"put them back in the keyring and PSEUDONYM_KEY_IDS, or retire them first with SINK_RETIRE_KEYS (their rows are removed)",
				s.lake.Name(), strings.Join(missing, ","), strings.Join(cfg.KeyIDs, ",")))
		}
	}
	s.m.ledgerPosition.Set(float64(s.ledger.Len()))
	s.writer, err = writer.New(ctx, s.lake, s.ledger, writer.Options{
		Topic: cfg.Topics.Curated, RotateRows: cfg.RotateRows, RotateBytes: cfg.RotateBytes,
		RotateInterval: cfg.RotateInterval, DedupeWindow: cfg.DedupeWindow, Keys: cfg.KeyIDs, Retiring: cfg.RetireKeys,
	}, s.now, s.m.writer, s.log)
	if err != nil {
		return fail(err)
	}
	s.applier = &erasure.Applier{Lake: s.lake, Ledger: s.ledger, Retiring: cfg.RetireKeys, Now: s.now, M: s.m.erasure, Log: s.log}
	s.catalog = catalog.New(s.lake, s.ledger, s.applier, s.store, catalog.Options{Dataset: cfg.Dataset, Topic: cfg.Topics.Curated,
		Retention: cfg.SnapshotRetention, History: cfg.History, OrphanAge: cfg.OrphanAge}, s.now, s.m.catalog, s.log)
	s.catalog.Flush = s.Flush
	tokens, err := auth.ParseTokens(cfg.Tokens)
	if err != nil { // Validate parsed it already
		return fail(fmt.Errorf("SINK_TOKENS: %w", err))
	}
	s.api = api.New(map[string]*catalog.Catalog{cfg.Dataset: s.catalog}, tokens, s.log)
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

// lakeOptions locate the dataset's table.
func lakeOptions(cfg Config) (lake.Options, error) {
	o := lake.Options{CatalogURI: cfg.CatalogURI, CatalogName: cfg.CatalogName, Namespace: cfg.Namespace, Table: cfg.Dataset,
		TargetFileBytes: 512 << 20, RowGroupRows: cfg.RowGroupRows}
	if o.CatalogURI == "" {
		if err := os.MkdirAll(cfg.Root, 0o755); err != nil {
			return o, fmt.Errorf("create dataset root: %w", err)
		}
		abs, err := filepath.Abs(filepath.Join(cfg.Root, "catalog.db"))
		if err != nil {
			return o, err
		}
		o.CatalogURI = "sqlite:" + abs
	}
	if cfg.Storage == "s3" {
		lake.RegisterS3()
		o.Location = "s3://" + cfg.S3Bucket + "/" + strings.Trim(strings.Trim(cfg.S3Prefix, "/")+"/"+cfg.Dataset, "/")
		o.IOProps = lake.S3Props(lake.S3Config{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey, PathStyle: cfg.S3PathStyle, StagingDir: filepath.Join(cfg.Root, ".staging")})
		return o, nil
	}
	loc, err := lake.FileLocation(filepath.Join(cfg.Root, cfg.Dataset))
	if err != nil {
		return o, err
	}
	o.Location = loc
	return o, nil
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
	receipts *avro.Codec[schema.ErasureReceipt]
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
	var pln net.Listener
	if s.cfg.PprofAddr != "" {
		var err error
		if pln, err = listenPprof(s.cfg.PprofAddr); err != nil {
			if ln != nil {
				ln.Close()
			}
			return err
		}
	}
	svc := run.Start(ctx, "dataset-sink", s.cfg.OpsAddr, s.reg, s.log)
	if ln != nil {
		svc.OnStop("dataset API listener", func() error { return ignoreClosed(ln.Close()) })
	}
	if pln != nil {
		// CPU profiles take their seconds before writing: the write timeout
		// (a minute) bounds them.
		svc.Serve("pprof", pln, pprofHandler(), time.Second)
	}
	if err := run.ConnectKafka(svc, s.cfg.Config); err != nil {
		return svc.Abort(err)
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
		if s.cfg.Topics.Receipts != "" {
			if cs.receipts, err = avro.ErasureReceipts(ctx, serde, s.cfg.Topics.Receipts); err != nil {
				return nil, err
			}
		}
		return &cs, nil
	})
	if err != nil {
		return svc.Abort(err)
	}
	if len(s.behind) > 0 {
		if err := s.rebuildLedger(ctx, cs); err != nil {
			return svc.Abort(err)
		}
	}
	rdb, err := s.cfg.Redis.NewClient(redisconn.Options{DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 1})
	if err != nil {
		return svc.Abort(fmt.Errorf("dataset-sink redis: %w", err))
	}
	svc.OnStop("redis client", rdb.Close)
	// Sealed records open with the data keys in Redis: without Redis the events
	// stage holds its batches.
	svc.Await("Redis", func(ctx context.Context) error { return s.cfg.Redis.Check(ctx, rdb) })
	cacheTTL := s.cfg.KeyCache
	if cacheTTL == 0 {
		cacheTTL = -1
	}
	keys, err := shred.NewStore(rdb, shred.Options{Namespace: s.cfg.RedisNamespace, CacheTTL: cacheTTL})
	if err != nil {
		return svc.Abort(err)
	}
	dlq := stream.NewWriter(s.cfg.Config, s.log, stream.WithMaxBatch(stream.DefaultMaxBatch))
	svc.OnStop("dead-letter writer", dlq.Close)
	loopMetrics := stream.NewMetrics(s.reg)

	evReader := stream.NewReader(s.cfg.Config, stream.ReaderConfig{GroupID: s.cfg.GroupID, Topic: s.cfg.Topics.Curated}, s.log)
	svc.OnStop("events reader", evReader.Close)
	ev := &events{codec: cs.events, writer: s.writer, acks: s.acks, killed: s.killed.Load, keys: keys, unreadable: s.m.unreadable, log: s.log}
	// Commits run in the background: the committer acknowledges each
	// generation's ranges once they are in the table, in commit order.
	s.writer.SetDurable(ev.ack)
	loop := &stream.Loop{Name: StageEvents, Reader: evReader, Writer: dlq, Handler: ev.handle, DLQ: s.cfg.Topics.DLQ,
		Acks: s.acks, Drain: ev.drain, DrainTimeout: 30 * time.Second, Logger: s.log.With(zap.String("stage", StageEvents)), Metrics: loopMetrics}
	s.events = loop
	close(s.running)
	svc.Loop(loop)

	erReader := stream.NewReader(s.cfg.Config, stream.ReaderConfig{GroupID: s.cfg.GroupID + "-erasures", Topic: s.cfg.Topics.Erasures}, s.log)
	svc.OnStop("erasures reader", erReader.Close)
	er := &erasures{codec: cs.erasures, ledger: s.ledger, topic: s.cfg.Topics.Erasures, now: s.now, metrics: s.m, log: s.log, applied: s.signalApply}
	svc.Loop(&stream.Loop{Name: StageErasures, Reader: erReader, Writer: dlq, Handler: er.handle, DLQ: s.cfg.Topics.DLQ,
		Logger: s.log.With(zap.String("stage", StageErasures)), Metrics: loopMetrics})

	svc.Go(func(ctx context.Context) error { return s.schedule(ctx, ev) })
	svc.Go(s.applyLoop)
	if cs.receipts != nil {
		rc := &receipts{ledger: s.ledger, encode: cs.receipts.Encode, w: dlq, topic: s.cfg.Topics.Receipts,
			dataset: s.cfg.CatalogName + "." + s.lake.Name(), deadline: s.cfg.PurgeDeadline, log: s.log.With(zap.String("component", "receipts"))}
		// Receipts of applied erasures go out within 2 s of the apply, however
		// long ERASURE_APPLY_INTERVAL batches applies under steady churn.
		svc.Go(func(ctx context.Context) error { return rc.run(ctx, min(s.cfg.ErasureApply, 2*time.Second)) })
	}
	s.signalApply() // erasures recorded before a restart but not applied
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

// schedule commits rows buffered longer than SINK_ROTATE_INTERVAL (their
// records become durable and are acknowledged), takes snapshots every
// SNAPSHOT_INTERVAL, compacts small files every SINK_COMPACT_INTERVAL and runs
// the purge every ERASURE_PURGE_CHECK.
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
	var compactC <-chan time.Time
	if s.cfg.CompactInterval > 0 {
		t := time.NewTicker(s.cfg.CompactInterval)
		defer t.Stop()
		compactC = t.C
	}
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
		case <-compactC:
			if s.killed.Load() {
				continue
			}
			if _, err := s.applier.Compact(ctx, s.cfg.CompactMinFiles, compactSmall); err != nil && ctx.Err() == nil {
				s.log.Error("compaction", zap.Error(err))
			}
		case <-purge.C:
			if s.killed.Load() {
				continue
			}
			if _, err := s.catalog.Purge(ctx, s.cfg.PurgeDeadline, s.cfg.PurgeCheck); err != nil && ctx.Err() == nil {
				s.log.Error("erasure purge", zap.Error(err))
			}
		}
	}
}

// Snapshot takes a snapshot (an Iceberg tag) now, of everything consumed so far
// and every erasure recorded.
func (s *Sink) Snapshot(ctx context.Context) (manifest.Manifest, error) {
	return s.catalog.Snapshot(ctx)
}

// Flush commits every buffered row to the table and commits their Kafka
// offsets: when it returns, every record consumed so far is in the table (or
// was dropped as erased or dead-lettered) and committed. It waits for Run to be
// consuming.
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

// Close closes the catalog database.
func (s *Sink) Close() error { return s.lake.Close() }

// Table is the dataset's table in its catalog (tests, tools).
func (s *Sink) Table() *lake.Lake { return s.lake }

// Ledger is the erasure ledger.
func (s *Sink) Ledger() *ledger.Ledger { return s.ledger }

// Purge runs the purge now (tests, tools).
func (s *Sink) Purge(ctx context.Context) (catalog.PurgeResult, error) {
	return s.catalog.Purge(ctx, s.cfg.PurgeDeadline, s.cfg.PurgeCheck)
}

// ApplyErasures applies every recorded erasure to the table now.
func (s *Sink) ApplyErasures(ctx context.Context) (erasure.Result, error) {
	return s.applier.Apply(ctx)
}

func (s *Sink) signalApply() {
	select {
	case s.applyNow <- struct{}{}:
	default:
	}
}

// applyLoop applies newly recorded erasures to the table, at most every
// ERASURE_APPLY_INTERVAL (erasures recorded meanwhile go into one commit).
func (s *Sink) applyLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.applyNow:
		}
		if s.killed.Load() {
			continue
		}
		if _, err := s.applier.Apply(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("apply erasures (retried)", zap.Error(err))
			s.signalApply()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.ErasureApply):
		}
	}
}

// rebuildLedger reloads the erasure ledger from the compacted erasure topics
// when the table has applied erasures the ledger lacks (a lost or restored
// catalog database); the sink refuses to run while it is still behind.
func (s *Sink) rebuildLedger(ctx context.Context, cs *codecs) error {
	s.log.Warn("the erasure ledger is behind the table: rebuilding it from the erasure topic", zap.Strings("behind", s.behind))
	topics := map[string]string{} // topic key → topic name
	t, err := s.lake.Load(ctx)
	if err != nil {
		return err
	}
	state, err := lake.StateOf(t)
	if err != nil {
		return err
	}
	for key := range state.Erasures {
		topics[key] = ledger.TopicName(key)
	}
	for key, name := range topics {
		ends, err := stream.EndOffsets(ctx, s.cfg.Config, name)
		if err != nil {
			return fmt.Errorf("rebuild erasure ledger from %s: %w", name, err)
		}
		var rerr error
		n := 0
		err = stream.ReadRange(ctx, s.cfg.Config, name, nil, ends, func(m kafka.Message) {
			if rerr != nil || m.Value == nil {
				return
			}
			e, err := stream.DecodeSafely(ctx, cs.erasures, m.Value)
			if err != nil {
				s.log.Warn("undecodable erasure skipped in the rebuild", zap.Int("partition", m.Partition), zap.Int64("offset", m.Offset), zap.Error(err))
				return
			}
			added, err := s.ledger.RecordAt(ctx, key, m.Partition, m.Offset, s.now(), e)
			if err != nil {
				rerr = err
			}
			if added {
				n++
			}
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("rebuild erasure ledger from %s: %w", name, err)
		}
		s.log.Info("erasure ledger rebuilt from the topic", zap.String("topic", name), zap.Int("entries", n))
	}
	return s.checkLedger(ctx)
}

// checkLedger refuses a ledger that is still behind the table.
func (s *Sink) checkLedger(ctx context.Context) error {
	if err := s.ledger.Refresh(ctx); err != nil {
		return err
	}
	t, err := s.lake.Load(ctx)
	if err != nil {
		return err
	}
	state, err := lake.StateOf(t)
	if err != nil {
		return err
	}
	if behind := s.ledger.Behind(state.Erasures); len(behind) > 0 {
		return fmt.Errorf("%w even after a rebuild from the erasure topic (recreated or truncated?): %s; "+
			"the table may hold rows of erasures nobody can name any more: restore the catalog database, or re-create the dataset",
			ledger.ErrBehind, strings.Join(behind, "; "))
	}
	s.behind = nil
	s.m.ledgerPosition.Set(float64(s.ledger.Len()))
	return nil
}

// ignoreClosed drops the error of closing a listener the HTTP server closed.
func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
