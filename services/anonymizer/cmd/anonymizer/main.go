// Command anonymizer runs consentflow's anonymization stage; it is configured by
// environment variables (run it with -h for the list and defaults).
package main

import (
	"context"
	"os"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/logging"
	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/services/anonymizer"
)

func main() {
	run.Main(func(ctx context.Context) error {
		var cfg anonymizer.Config
		if err := config.Parse("anonymizer", os.Args[1:], &cfg, os.Stderr); err != nil {
			return err
		}
		logger, err := logging.New(cfg.Log, "anonymizer")
		if err != nil {
			return err
		}
		defer logger.Sync()
		return anonymizer.Run(ctx, cfg, logger, ops.NewRegistry())
	})
}
