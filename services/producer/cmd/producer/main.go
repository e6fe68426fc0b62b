// Command producer runs consentflow's ingest service; it is configured by
// environment variables (run it with -h for the list and defaults).
package main

import (
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/services/producer"
)

func main() { run.Service("producer", producer.Run) }
