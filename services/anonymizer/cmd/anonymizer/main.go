// Command anonymizer runs consentflow's anonymization stage; it is configured by
// environment variables (run it with -h for the list and defaults).
package main

import (
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/services/anonymizer"
)

func main() { run.Service("anonymizer", anonymizer.Run) }
