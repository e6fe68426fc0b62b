// Package run is the lifecycle of a consentflow binary: main calls Main with a
// run function; SIGINT/SIGTERM cancel its context; the process exits in one place.
package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/consentflow/consentflow/pkg/config"
)

// Main runs fn with a context cancelled on SIGINT or SIGTERM and exits the process:
// 0 when fn returns nil or context.Canceled after a signal, 2 for -h, 1 otherwise.
func Main(fn func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := fn(ctx)
	stop()
	os.Exit(ExitCode(err, os.Stderr))
}

// ExitCode maps run's error to an exit code and reports it on w.
func ExitCode(err error, w interface{ Write([]byte) (int, error) }) int {
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return 0
	case errors.Is(err, config.ErrHelp):
		return 2
	default:
		fmt.Fprintf(w, "error: %v\n", err)
		return 1
	}
}
