package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/consentflow/consentflow/pkg/ops"
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
	opsSrv := ops.New(reg, logger)
	opsSrv.SetReady("kafka", "connecting to the schema registry")
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	opsDone := make(chan error, 1)
	go func() { opsDone <- opsSrv.Serve(opsCtx, cfg.OpsAddr) }()
	defer func() {
		stopOps()
		<-opsDone
	}()

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	defer ln.Close()

	pub, err := connect(ctx, cfg, logger)
	if err != nil {
		return err
	}
	api, err := NewAPI(cfg, pub, logger, reg)
	if err != nil {
		pub.Close()
		return err
	}
	if api.tokens.Len() == 0 && api.writeKeys.Len() == 0 {
		logger.Warn("no PRODUCER_TOKENS and no SEGMENT_WRITE_KEYS: every ingest request will get 401")
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.WriteTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          zap.NewStdLog(logger.With(zap.String("component", "http"))),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	opsSrv.SetReady("kafka", "")
	logger.Info("producer listening", zap.String("addr", ln.Addr().String()), zap.String("topic", cfg.Topic),
		zap.Int("tokens", api.tokens.Len()), zap.Int("write_keys", api.writeKeys.Len()))

	var runErr error
	select {
	case err := <-serveErr:
		runErr = fmt.Errorf("serve %s: %w", cfg.HTTPAddr, err)
	case <-ctx.Done():
	}
	opsSrv.Stopping()
	logger.Info("producer draining in-flight requests", zap.Duration("timeout", cfg.ShutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("drain http: %w", err))
	}
	if err := pub.Close(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	logger.Info("producer stopped")
	return runErr
}

// connect registers the schema and builds the Kafka publisher, retrying while the
// registry is not reachable yet (it may start after us) until ctx ends.
func connect(ctx context.Context, cfg Config, logger *zap.Logger) (*KafkaPublisher, error) {
	backoff := 200 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		pub, err := NewKafkaPublisher(attemptCtx, cfg.Brokers, cfg.RegistryConfig.URL, cfg.Topic, logger)
		cancel()
		if err == nil {
			return pub, nil
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
