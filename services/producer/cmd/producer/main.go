// Command producer runs consentflow's ingest service; it is configured by
// environment variables (run it with -h for the list and defaults).
package main

import (
	"context"
	"os"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/logging"
	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/services/producer"
)

func main() {
	run.Main(func(ctx context.Context) error {
		var cfg producer.Config
		if err := config.Parse("producer", os.Args[1:], &cfg, os.Stderr); err != nil {
			return err
		}
		logger, err := logging.New(cfg.Log, "producer")
		if err != nil {
			return err
		}
		defer logger.Sync()
		return producer.Run(ctx, cfg, logger, ops.NewRegistry())
	})
}
