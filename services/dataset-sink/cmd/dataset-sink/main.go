// Command dataset-sink writes events.curated into Parquet datasets, applies
// erasures, takes snapshots and serves them over HTTP. It is configured by
// environment variables; -h lists them with their defaults.
//
// Unless GOMEMLIMIT is set, the process runs with Go's soft memory limit at
// datasetsink.DefaultMemoryLimit: its heap is mostly short-lived garbage of
// commits (Arrow batches, Parquet pages, manifests), which Go's default
// pacing lets grow to twice the live heap before collecting.
package main

import (
	"os"
	"runtime/debug"

	"github.com/consentflow/consentflow/pkg/run"
	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
)

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(datasetsink.DefaultMemoryLimit)
	}
	run.Service("dataset-sink", datasetsink.Run)
}
