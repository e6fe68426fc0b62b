package run

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/config"
)

// Definition is a service as a value: its name and how to run it from an
// environment, exactly as its binary does (same configuration variables, same
// validation, same Run function), but inside this process. The launcher runs the
// chain's services as goroutines with it (the demo).
type Definition struct {
	Name string
	run  func(ctx context.Context, env map[string]string, logger *zap.Logger, reg *prometheus.Registry) error
}

// Define returns the Definition of the service whose binary is
// Service(name, fn).
func Define[C any](name string, fn ServiceFunc[C]) Definition {
	return Definition{Name: name, run: func(ctx context.Context, env map[string]string, logger *zap.Logger, reg *prometheus.Registry) error {
		var cfg C
		if err := config.LoadFrom(&cfg, env); err != nil {
			return err
		}
		return fn(ctx, cfg, logger, reg)
	}}
}

// Run reads the service's configuration from env (nothing from the process
// environment) and runs it until ctx is cancelled.
func (d Definition) Run(ctx context.Context, env map[string]string, logger *zap.Logger, reg *prometheus.Registry) error {
	return d.run(ctx, env, logger, reg)
}
