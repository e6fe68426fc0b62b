// Command cfsvc runs one consentflow service in-process, exactly as its own
// binary does (same configuration from the environment, same Run function),
// with a Go CPU profile written to $CPUPROFILE when it stops. The services
// expose no pprof endpoint, and the benchmark adds nothing to them: this is the
// "equivalent in-process code" the stage profiles in BENCHMARKS.md come from.
// With OPS_ADDR set the profile starts once /readyz answers 200, so that it
// shows the work the service is measured on (a drain), not its start-up (the
// consent-filter's materializer loading every consent record into an empty
// Redis namespace). $MEMPROFILE, when set, gets the allocations profile at
// stop and $MEMPROFILE.ready the one at ready (pprof -diff_base it for the
// drain's allocations).
//
//	CPUPROFILE=/tmp/filter.pprof <service env...> cfsvc consent-filter
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

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
		mem := os.Getenv("MEMPROFILE")
		start := func() error { return nil }
		if path := os.Getenv("CPUPROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			defer f.Close()
			start = func() error { return pprof.StartCPUProfile(f) }
			defer pprof.StopCPUProfile() // a no-op when it never started
		}
		started := make(chan error, 1)
		rctx, stopWaiting := context.WithCancel(ctx)
		defer stopWaiting()
		if ops := os.Getenv("OPS_ADDR"); ops != "" {
			go func() {
				if !awaitReady(rctx, "http://"+ops+"/readyz") {
					started <- nil
					return
				}
				if mem != "" {
					writeAllocs(mem + ".ready")
				}
				started <- start()
			}()
		} else {
			started <- start()
		}
		err := fn(ctx, cfg, logger, reg)
		stopWaiting() // a service that failed before it was ready
		if serr := <-started; serr != nil && err == nil {
			err = serr
		}
		if mem != "" {
			writeAllocs(mem)
		}
		return err
	}
}

// awaitReady polls url until it answers 200 (true) or ctx ends (false).
func awaitReady(ctx context.Context, url string) bool {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// writeAllocs writes the allocations profile (every allocation since start,
// sampled) to path.
func writeAllocs(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cfsvc:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "cfsvc:", err)
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
		producer.SetGCDefaults() // as its binary does
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
