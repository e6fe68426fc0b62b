package consentfilter_test

import (
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/config/configtest"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
)

// ephemeral is the least configuration that loads: an ephemeral audit key.
var ephemeral = map[string]string{"AUDIT_KEY_EPHEMERAL": "true"}

// TestAuditTimeGranularityMustDivideADay: consent.decisions' times are truncated to
// AUDIT_TIME_GRANULARITY; a value that does not divide 24h would make the buckets drift
// across days (and a zero or negative one would not coarsen at all), so the service
// refuses to start with a message naming the variable.
func TestAuditTimeGranularityMustDivideADay(t *testing.T) {
	configtest.Values(t, ephemeral, "AUDIT_TIME_GRANULARITY", func(c *consentfilter.Config) any { return c.AuditTime },
		map[string]any{"1h": time.Hour, "15m": 15 * time.Minute, "24h": 24 * time.Hour, "1ms": time.Millisecond, "30s": 30 * time.Second},
		"7h", "25h", "0s", "-1h", "999us", "11m")
}

// TestFilterPipelineIsBounded: FILTER_PIPELINE is how many decided batches may
// wait for their write; a negative depth or one that would hold thousands of
// events in memory is refused at start, naming the variable.
func TestFilterPipelineIsBounded(t *testing.T) {
	configtest.Values(t, ephemeral, "FILTER_PIPELINE", func(c *consentfilter.Config) any { return c.Pipeline },
		map[string]any{"": 1, "0": 0, "8": 8}, "-1", "9", "two")
}

// TestFilterConsumersIsBounded: FILTER_CONSUMERS is how many group members one
// process runs (default 1; 0: one per CPU); a negative count or one past 16 is refused at
// start, naming the variable.
func TestFilterConsumersIsBounded(t *testing.T) {
	configtest.Values(t, ephemeral, "FILTER_CONSUMERS", func(c *consentfilter.Config) any { return c.Consumers },
		map[string]any{"": 1, "0": 0, "1": 1, "16": 16}, "-1", "17", "all")
}
