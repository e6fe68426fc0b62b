// Command producer runs consentflow's ingest service; it is configured by
// environment variables (run it with -h for the list and defaults).
//
// Unless GOGC or GOMEMLIMIT are set, the process runs with the garbage
// collector at producer.DefaultGCPercent and Go's soft memory limit at
// producer.DefaultMemoryLimit (producer.SetGCDefaults).
package main

import (
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/services/producer"
)

func main() {
	producer.SetGCDefaults()
	run.Service("producer", producer.Run)
}
