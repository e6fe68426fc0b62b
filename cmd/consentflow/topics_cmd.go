package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

type topicsEnv struct {
	stream.Config
	topics.Names
	topics.Settings
}

// topicsCommand creates the topics of ARCHITECTURE.md idempotently, waiting for
// the brokers to come up (useful as a one-shot job in docker-compose).
func topicsCommand(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("topics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wait := fs.Duration("wait", 2*time.Minute, "how long to retry while the brokers are unreachable")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: consentflow topics [--wait 2m]\n\nConfigured by environment variables:")
		config.Usage(stderr, &topicsEnv{})
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var env topicsEnv
	if err := config.Load(&env); err != nil {
		return err
	}
	specs := topics.Specs(env.Names, env.Settings)
	deadline := time.Now().Add(*wait)
	for {
		// Check first: a broker that refuses the credentials or the certificate is
		// reported at once, not retried until the deadline.
		err := env.Config.Check(ctx)
		if secure.IsRejection(err) {
			return err
		}
		var created []string
		if err == nil {
			created, err = topics.Ensure(ctx, env.Config, specs)
		}
		if err == nil {
			for _, s := range specs {
				state := "exists"
				for _, c := range created {
					if c == s.Name {
						state = "created"
					}
				}
				fmt.Fprintf(stdout, "%-22s %-8s partitions=%d %v\n", s.Name, state, s.Partitions, s.Configs)
			}
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(stderr, "topics: %v; retrying\n", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
