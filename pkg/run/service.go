package run

import (
	"context"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/logging"
	"github.com/consentflow/consentflow/pkg/ops"
)

// ServiceFunc runs a service until ctx is cancelled.
type ServiceFunc[C any] func(ctx context.Context, cfg C, logger *zap.Logger, reg *prometheus.Registry) error

// serviceEnv is what a service binary reads from the environment: logging plus
// the service's own configuration.
type serviceEnv[C any] struct {
	Log      logging.Config
	Svc      C
	warnings []string
}

// Warn collects configuration warnings (config.Warner) for the log.
func (e *serviceEnv[C]) Warn(msg string) { e.warnings = append(e.warnings, msg) }

func (e *serviceEnv[C]) Validate() error {
	if err := e.Log.Validate(); err != nil {
		return err
	}
	if v, ok := any(&e.Svc).(config.Validator); ok {
		return v.Validate()
	}
	return nil
}

// Service is the whole main of a service binary: it reads the configuration from
// the environment (-h lists every variable), builds the logger and the metrics
// registry, and runs fn until SIGINT/SIGTERM.
func Service[C any](name string, fn ServiceFunc[C]) {
	exitIfHealthcheck[C]() // `<binary> healthcheck [PATH]` probes a running instance (healthcheck.go)
	Main(func(ctx context.Context) error {
		var env serviceEnv[C]
		if err := config.Parse(name, os.Args[1:], &env, os.Stderr); err != nil {
			return err
		}
		logger, err := logging.New(env.Log, name)
		if err != nil {
			return err
		}
		defer logger.Sync() //nolint:errcheck // stderr sync errors are not actionable
		for _, w := range env.warnings {
			logger.Warn(w)
		}
		return fn(ctx, env.Svc, logger, ops.NewRegistry())
	})
}
