// Command dataset-sink writes events.curated into Parquet datasets, applies
// erasures, takes snapshots and serves them over HTTP. It is configured by
// environment variables; -h lists them with their defaults.
package main

import (
	"github.com/consentflow/consentflow/pkg/run"
	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
)

func main() { run.Service("dataset-sink", datasetsink.Run) }
