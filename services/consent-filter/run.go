package consentfilter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/consent-filter/internal/api"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/filter"
	"github.com/consentflow/consentflow/services/consent-filter/internal/history"
	"github.com/consentflow/consentflow/services/consent-filter/internal/materializer"
	"github.com/consentflow/consentflow/services/consent-filter/internal/tally"
)

// Run runs the consent API, the materializer and the filter until ctx is
// cancelled, then drains: the API finishes in-flight requests, the filter finishes
// and commits its batch in flight.
func Run(ctx context.Context, cfg Config, logger *zap.Logger, reg *prometheus.Registry) error {
	if cfg.policy == nil || cfg.tokens == nil || cfg.auditKey == nil {
		if err := cfg.Validate(); err != nil {
			return err
		}
	}
	logger.Info("starting consent-filter", zap.String("purpose", cfg.Purpose), zap.String("policy_version", cfg.policy.Version),
		zap.Int("tokens", cfg.tokens.Len()), zap.Bool("audit_key_ephemeral", cfg.AuditEphemeral),
		zap.String("user_ids", string(cfg.policy.Identity.UserIDs)), zap.String("anonymous_ids", string(cfg.policy.Identity.AnonymousIDs)))
	if unbound := cfg.tokens.Unbound(); len(unbound) > 0 {
		logger.Warn("consent API tokens not bound to a tenant: they act for every tenant (trusted backends only)", zap.Strings("tokens", unbound))
	}
	if cfg.AuditEphemeral {
		logger.Warn("using an ephemeral audit key: subject references in consent.decisions will not match across restarts")
	}

	rdb, err := cfg.Redis.NewClient(redisconn.Options{DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 1})
	if err != nil {
		return err
	}
	defer rdb.Close() // after the lifecycle: every part using Redis has returned
	store, err := consentstore.New(rdb, consentstore.Options{Namespace: cfg.RedisNamespace, LinkPurpose: cfg.Purpose})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("consent API listen %s: %w", cfg.HTTPAddr, err)
	}
	svc := run.Start(ctx, "consent-filter", cfg.OpsAddr, reg, logger)
	svc.OnStop("consent API listener", func() error { return ignoreClosed(ln.Close()) })
	// Redis is checked beside the rest, not before it: without Redis the filter
	// starts paused (fail closed) and the consent API works. Credentials or a
	// certificate Redis refuses stop the service with that one error.
	svc.Await("Redis", func(ctx context.Context) error { return cfg.Redis.Check(ctx, rdb) })
	if err := run.ConnectKafka(svc, cfg.Config); err != nil {
		return svc.Abort(err)
	}
	cs, err := run.Connect(svc, "schema registry", func(ctx context.Context) (*codecs, error) { return register(ctx, cfg) })
	if err != nil {
		return svc.Abort(err)
	}

	fm := filter.NewMetrics(reg)
	var counts *tally.Tally // the privacy centre's statistics and history, only when it is on
	var hist *history.History
	if cfg.Centre.On() {
		hist = &history.History{RDB: rdb, Namespace: cfg.RedisNamespace}
		counts = &tally.Tally{RDB: rdb, Namespace: cfg.RedisNamespace, Log: logger.With(zap.String("component", "tally")),
			Failed: promauto.With(reg).NewCounter(prometheus.CounterOpts{Name: "consentflow_centre_tally_failures_total",
				Help: "Batches whose privacy-centre counts could not be recorded in Redis (statistics only)."})}
	}
	// One client and a kept partition list: a batch costs one ListOffsets
	// request (ends.go).
	ends := newChangesEnds(cfg.Config.Client(10*time.Second), cfg.Changes).EndOffsets
	svc.Ops().AddCheck("consent_store", func(ctx context.Context) error {
		e, err := ends(ctx)
		if err != nil {
			return err
		}
		h, err := store.Health(ctx, e, cfg.MaxLag)
		if err != nil {
			return err
		}
		if !h.Ready {
			return errors.New(string(h.Reason))
		}
		return nil
	})

	changes := stream.NewOffsetWriter(cfg.Config, cfg.Changes)
	mat := &materializer.Materializer{
		Kafka: cfg.Config, Topic: cfg.Changes, Store: store, Codec: cs.changes,
		Logger: logger.With(zap.String("component", "materializer")), Metrics: materializer.NewMetrics(reg),
		Purpose: cfg.Purpose, Changes: changes, History: hist,
	}
	cache := consentstore.NewCachedLookup(store, consentstore.CacheOptions{}, logger.With(zap.String("component", "cache")))
	newFilter := func() *filter.Filter {
		return &filter.Filter{
			Cache:   cache,
			Purpose: cfg.Purpose, Policy: cfg.policy, State: store, EndOffsets: ends, MaxLag: cfg.MaxLag, LagWait: cfg.LagWait,
			Raw: cs.raw, Decisions: cs.decisions, AuditKey: cfg.auditKey, AuditTime: cfg.AuditTime, Topics: cfg.Names, Now: time.Now, Metrics: fm,
			Links: changes, ChangeCodec: cs.changes, MaxLinks: cfg.MaxLinks,
		}
	}
	var counted *tally.Queue
	if counts != nil {
		// The counts are added in the background: a batch never waits for
		// the statistics' Redis round trip.
		counted = tally.NewQueue(counts, 0)
		svc.Go(counted.Run)
	}
	// One writer for every member: kafka-go batches their records together.
	writer := stream.NewWriter(cfg.Config, logger, stream.WithMaxBatch(cfg.MaxBatch))
	svc.OnStop("writer", writer.Close)
	consentAPI := &api.API{
		Policy: cfg.policy, Tokens: cfg.tokens, Changes: changes,
		Codec: cs.changes, Store: store, Logger: logger.With(zap.String("component", "api")), Now: time.Now,
		Requests: api.NewRequestsMetric(reg),
		Caught:   func(ctx context.Context) error { return caughtUp(ctx, ends, store) },
	}

	svc.Go(mat.Run)
	svc.Go(cache.Subscribe)
	loopMetrics := stream.NewMetrics(reg)
	n := cfg.consumers()
	for i := range n {
		// Each member is what one instance of the service would be: its own
		// consumer-group reader, loop (batch, order, commits per partition) and
		// filter state (end offsets pinned per batch, cache positions); they
		// share the Redis client and cache, the materializer and the writer.
		flt := newFilter()
		if counted != nil {
			flt.Tally = counted
		}
		component, log := "filter", logger.With(zap.String("component", "filter"))
		if n > 1 {
			component = fmt.Sprintf("filter/%d", i+1)
			log = log.With(zap.Int("member", i+1))
		}
		reader := stream.NewReader(cfg.Config, stream.ReaderConfig{GroupID: cfg.GroupID, Topic: cfg.Raw}, log)
		svc.OnStop("reader", reader.Close)
		svc.Loop(&stream.Loop{
			Name: filter.Stage, Reader: reader, Writer: writer, Handler: flt.Handle, DLQ: cfg.DLQ,
			Logger: log, MaxBatch: cfg.MaxBatch, Linger: cfg.Linger,
			Pipeline: cfg.Pipeline,
			Backoff:  stream.Backoff{Min: 10 * time.Millisecond, Max: 500 * time.Millisecond}, BlockedGrace: time.Second,
			Metrics: loopMetrics,
			OnBlocked: func(blocked bool, reason error) {
				if blocked {
					svc.Ops().SetReady(component, "paused: "+reason.Error())
				} else {
					svc.Ops().SetReady(component, "")
					flt.SetPaused(false)
				}
			},
		})
	}
	logger.Info("filter group members", zap.Int("consumers", n), zap.String("group", cfg.GroupID))
	handler := consentAPI.Handler()
	if cfg.Centre.On() {
		h, err := newCentre(cfg, consentAPI, store, counts, hist, logger)
		if err != nil {
			return svc.Abort(err)
		}
		handler = h.mount(handler)
		svc.Go(func(ctx context.Context) error {
			return h.receipts.Follow(ctx, cfg.Config, cfg.Receipts, cs.receipts.Decode, logger.With(zap.String("component", "receipts")))
		})
	}
	svc.Serve("consent API", ln, handler, 10*time.Second)
	return svc.Wait()
}

// codecs are the typed wire-format codecs of the consent-filter's topics.
type codecs struct {
	raw       *avro.Codec[schema.InteractionEvent]
	changes   *avro.Codec[schema.ConsentChange]
	decisions *avro.Codec[schema.ConsentDecision]
	receipts  *avro.Codec[schema.ErasureReceipt]
}

// register registers the schemas of every topic the consent-filter reads or
// writes.
func register(ctx context.Context, cfg Config) (*codecs, error) {
	serde, err := avro.NewSerdeFor(cfg.RegistryConfig)
	if err != nil {
		return nil, err
	}
	var cs codecs
	if cs.raw, err = avro.InteractionEvents(ctx, serde, cfg.Raw); err != nil {
		return nil, err
	}
	if cs.changes, err = avro.ConsentChanges(ctx, serde, cfg.Changes); err != nil {
		return nil, err
	}
	if cs.decisions, err = avro.ConsentDecisions(ctx, serde, cfg.Decisions); err != nil {
		return nil, err
	}
	if cfg.Centre.On() && cfg.Receipts != "" {
		if cs.receipts, err = avro.ErasureReceipts(ctx, serde, cfg.Receipts); err != nil {
			return nil, err
		}
	}
	return &cs, nil
}

// ignoreClosed drops the error of closing a listener the HTTP server closed.
func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// caughtUp waits (up to 10 s) until the store holds every change that is on
// consent.changes now.
func caughtUp(ctx context.Context, ends func(context.Context) (map[int]int64, error), store *consentstore.Store) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	e, err := ends(ctx)
	if err != nil {
		return err
	}
	for {
		h, err := store.Health(ctx, e, 0)
		if err == nil && h.Ready {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%w: %s", consentstore.ErrNotReady, h.Reason)
			}
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}
