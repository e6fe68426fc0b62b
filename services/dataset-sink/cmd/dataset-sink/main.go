// Command dataset-sink writes events.curated into Parquet datasets, applies
// erasures, takes snapshots and serves them over HTTP. It is configured by
// environment variables; -h lists them with their defaults.
package main

import (
	"context"
	"os"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/logging"
	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/run"

	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
)

type settings struct {
	Log  logging.Config
	Sink datasetsink.Config
}

// Validate checks both parts.
func (s *settings) Validate() error {
	if err := s.Log.Validate(); err != nil {
		return err
	}
	return s.Sink.Validate()
}

func main() {
	run.Main(func(ctx context.Context) error {
		var s settings
		if err := config.Parse("dataset-sink", os.Args[1:], &s, os.Stderr); err != nil {
			return err
		}
		logger, err := logging.New(s.Log, "dataset-sink")
		if err != nil {
			return err
		}
		defer logger.Sync()
		return datasetsink.Run(ctx, s.Sink, logger, ops.NewRegistry())
	})
}
