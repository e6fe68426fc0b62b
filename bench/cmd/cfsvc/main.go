// Command cfsvc runs one consentflow service in-process, exactly as its own
// binary does (same configuration from the environment, same Run function),
// with a Go CPU profile written to $CPUPROFILE when it stops. The services
// expose no pprof endpoint, and the benchmark adds nothing to them: this is the
// "equivalent in-process code" the stage profiles in BENCHMARKS.md come from.
//
//	CPUPROFILE=/tmp/filter.pprof <service env...> cfsvc consent-filter
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/run"
	anonymizer "github.com/consentflow/consentflow/services/anonymizer"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
	"github.com/consentflow/consentflow/services/producer"
)

func profiled[C any](fn run.ServiceFunc[C]) run.ServiceFunc[C] {
	return func(ctx context.Context, cfg C, logger *zap.Logger, reg *prometheus.Registry) error {
		if path := os.Getenv("CPUPROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return fn(ctx, cfg, logger, reg)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cfsvc producer|consent-filter|anonymizer|dataset-sink")
		os.Exit(2)
	}
	name := os.Args[1]
	os.Args = append(os.Args[:1], os.Args[2:]...)
	switch name {
	case "producer":
		run.Service(name, profiled(producer.Run))
	case "consent-filter":
		run.Service(name, profiled(consentfilter.Run))
	case "anonymizer":
		run.Service(name, profiled(anonymizer.Run))
	case "dataset-sink":
		run.Service(name, profiled(datasetsink.Run))
	default:
		fmt.Fprintln(os.Stderr, "unknown service", name)
		os.Exit(2)
	}
}
