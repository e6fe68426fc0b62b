// Command consent-filter runs the consent API, the Redis materializer and the
// fail-closed consent filter. Configuration: environment variables (see -h).
package main

import (
	"github.com/consentflow/consentflow/pkg/run"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
)

func main() { run.Service("consent-filter", consentfilter.Run) }
