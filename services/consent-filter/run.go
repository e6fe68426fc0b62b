package consentfilter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/consent-filter/internal/api"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/filter"
	"github.com/consentflow/consentflow/services/consent-filter/internal/materializer"
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
		zap.Int("tokens", cfg.tokens.Len()), zap.Bool("audit_key_ephemeral", cfg.AuditEphemeral))
	if cfg.AuditEphemeral {
		logger.Warn("using an ephemeral audit key: subject references in consent.decisions will not match across restarts")
	}

	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: strings.Split(cfg.RedisAddr, ","), DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: 1,
	})
	defer rdb.Close()
	store, err := consentstore.New(rdb, consentstore.Options{Namespace: cfg.RedisNamespace})
	if err != nil {
		return err
	}
	serde, err := avro.NewSerdeFor(cfg.RegistryConfig)
	if err != nil {
		return err
	}
	regCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rawCodec, err := avro.InteractionEvents(regCtx, serde, cfg.Raw)
	if err != nil {
		return err
	}
	changeCodec, err := avro.ConsentChanges(regCtx, serde, cfg.Changes)
	if err != nil {
		return err
	}
	decisionCodec, err := avro.ConsentDecisions(regCtx, serde, cfg.Decisions)
	if err != nil {
		return err
	}

	opsSrv := ops.New(reg, logger)
	fm := filter.NewMetrics(reg)
	ends := func(ctx context.Context) (map[int]int64, error) {
		return stream.EndOffsets(ctx, cfg.Brokers, cfg.Changes)
	}
	opsSrv.AddCheck("consent_store", func(ctx context.Context) error {
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

	mat := &materializer.Materializer{
		Brokers: cfg.Brokers, Topic: cfg.Changes, Store: store, Codec: changeCodec,
		Logger: logger.With(zap.String("component", "materializer")), Metrics: materializer.NewMetrics(reg),
	}
	cache := consentstore.NewCachedLookup(store, consentstore.CacheOptions{}, logger.With(zap.String("component", "cache")))
	flt := &filter.Filter{
		Cache:   cache,
		Purpose: cfg.Purpose, Policy: cfg.policy, State: store, EndOffsets: ends, MaxLag: cfg.MaxLag,
		Raw: rawCodec, Decisions: decisionCodec, AuditKey: cfg.auditKey, Topics: cfg.Names, Now: time.Now, Metrics: fm,
	}
	reader := stream.NewReader(stream.ReaderConfig{Brokers: cfg.Brokers, GroupID: cfg.GroupID, Topic: cfg.Raw}, logger)
	writer := stream.NewWriter(cfg.Brokers, logger)
	loop := &stream.Loop{
		Name: filter.Stage, Reader: reader, Writer: writer, Handler: flt.Handle,
		Logger: logger.With(zap.String("component", "filter")), MaxBatch: cfg.MaxBatch, Linger: cfg.Linger,
		RetryMin: 10 * time.Millisecond, RetryMax: 500 * time.Millisecond, BlockedGrace: time.Second, Metrics: stream.NewLoopMetrics(reg),
		OnBlocked: func(blocked bool, reason error) {
			if blocked {
				opsSrv.SetReady("filter", "paused: "+reason.Error())
			} else {
				opsSrv.SetReady("filter", "")
				fm.Paused.Set(0)
			}
		},
	}
	consentAPI := &api.API{
		Policy: cfg.policy, Tokens: cfg.tokens, Changes: stream.NewOffsetWriter(cfg.Brokers, cfg.Changes),
		Codec: changeCodec, Store: store, Logger: logger.With(zap.String("component", "api")), Now: time.Now,
		Requests: api.NewRequestsMetric(reg),
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("consent API listen %s: %w", cfg.HTTPAddr, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return opsSrv.Serve(gctx, cfg.OpsAddr) })
	g.Go(func() error { return mat.Run(gctx) })
	g.Go(func() error { return ignoreCanceled(cache.Subscribe(gctx)) })
	g.Go(func() error {
		defer reader.Close()
		defer writer.Close()
		return loop.Run(gctx)
	})
	g.Go(func() error {
		return ops.ServeHTTP(gctx, ln, consentAPI.Handler(), logger.With(zap.String("component", "api")))
	})
	g.Go(func() error {
		<-gctx.Done()
		opsSrv.Stopping()
		return nil
	})
	return g.Wait()
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
