// Package logging builds the zap loggers of consentflow's services: JSON in
// production, a console encoder for people (the demo).
package logging

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config selects the log format and level.
type Config struct {
	Format string `env:"LOG_FORMAT" envDefault:"json" help:"log encoding: json or console"`
	Level  string `env:"LOG_LEVEL" envDefault:"info" help:"minimum level: debug, info, warn, error"`
}

// Validate checks the format and level.
func (c *Config) Validate() error {
	if c.Format != "json" && c.Format != "console" {
		return fmt.Errorf("LOG_FORMAT: want json or console, got %q", c.Format)
	}
	if _, err := zapcore.ParseLevel(c.Level); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	return nil
}

// New builds a logger for service. Logs never carry event payloads, tokens or raw
// identifiers; that is the callers' discipline, not something this package can check.
func New(c Config, service string) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var zc zap.Config
	if c.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		zc.DisableStacktrace = true
	} else {
		zc = zap.NewProductionConfig()
		zc.EncoderConfig.TimeKey = "ts"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Sampling = nil
	l, err := zc.Build()
	if err != nil {
		return nil, fmt.Errorf("build logger: %w", err)
	}
	return l.With(zap.String("service", service)), nil
}
