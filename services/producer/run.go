package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Run serves the ingest API and the ops endpoints until ctx is cancelled, then
// shuts down gracefully: readiness turns false, the listener stops accepting,
// in-flight requests finish (each still waits for its Kafka acknowledgement, up
// to SHUTDOWN_TIMEOUT), and the Kafka writer is flushed and closed. It returns
// nil after a clean shutdown.
func Run(ctx context.Context, cfg Config, logger *zap.Logger, reg *prometheus.Registry) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("producer configuration: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	svc := run.Start(ctx, "producer", cfg.OpsAddr, reg, logger)
	svc.OnStop("listener", func() error { return ignoreClosed(ln.Close()) })
	if err := run.ConnectKafka(svc, cfg.Config); err != nil {
		return svc.Abort(err)
	}
	pub, err := run.Connect(svc, "schema registry", func(ctx context.Context) (*KafkaPublisher, error) {
		return NewKafkaPublisher(ctx, cfg.Config, cfg.RegistryConfig, cfg.Topic, logger,
			stream.WithMaxBatch(cfg.MaxEvents), stream.WithBatchTimeout(cfg.BatchTimeout))
	})
	if err != nil {
		return svc.Abort(err)
	}
	svc.OnStop("publisher", pub.Close)
	api, err := NewAPI(cfg, pub, logger, reg)
	if err != nil {
		return svc.Abort(err)
	}
	if api.tokens.Len() == 0 && api.writeKeys.Len() == 0 {
		logger.Warn("no PRODUCER_TOKENS and no SEGMENT_WRITE_KEYS: every ingest request will get 401")
	}
	if unbound := append(api.tokens.Unbound(), api.writeKeys.Unbound()...); len(unbound) > 0 {
		logger.Warn("ingest credentials not bound to a tenant: they may send events for every tenant (trusted backends only)", zap.Strings("credentials", unbound))
	}
	svc.Serve("ingest", ln, api.Handler(), cfg.ShutdownTimeout, func(s *http.Server) {
		s.ReadTimeout = 30 * time.Second
		s.WriteTimeout = cfg.WriteTimeout + 30*time.Second
		s.IdleTimeout = 2 * time.Minute
	})
	logger.Info("producer listening", zap.String("addr", ln.Addr().String()), zap.String("topic", cfg.Topic),
		zap.Int("tokens", api.tokens.Len()), zap.Int("write_keys", api.writeKeys.Len()))
	return svc.Wait()
}

// ignoreClosed drops the error of closing a listener the HTTP server closed.
func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
