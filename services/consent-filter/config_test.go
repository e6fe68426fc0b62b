package consentfilter_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/config"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
)

// TestAuditTimeGranularityMustDivideADay: consent.decisions' times are truncated to
// AUDIT_TIME_GRANULARITY; a value that does not divide 24h would make the buckets drift
// across days (and a zero or negative one would not coarsen at all), so the service
// refuses to start with a message naming the variable.
func TestAuditTimeGranularityMustDivideADay(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"1h", true}, {"15m", true}, {"24h", true}, {"1ms", true}, {"30s", true},
		{"7h", false}, {"25h", false}, {"0s", false}, {"-1h", false}, {"999us", false}, {"11m", false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			var cfg consentfilter.Config
			err := config.LoadFrom(&cfg, map[string]string{
				"AUDIT_KEY_EPHEMERAL": "true", "AUDIT_TIME_GRANULARITY": tc.value,
			})
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "AUDIT_TIME_GRANULARITY")
		})
	}
}

// TestFilterPipelineIsBounded: FILTER_PIPELINE is how many decided batches may
// wait for their write; a negative depth or one that would hold thousands of
// events in memory is refused at start, naming the variable.
func TestFilterPipelineIsBounded(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
		ok    bool
	}{
		{"", 1, true}, {"0", 0, true}, {"8", 8, true}, {"-1", 0, false}, {"9", 0, false}, {"two", 0, false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			var cfg consentfilter.Config
			env := map[string]string{"AUDIT_KEY_EPHEMERAL": "true"}
			if tc.value != "" {
				env["FILTER_PIPELINE"] = tc.value
			}
			err := config.LoadFrom(&cfg, env)
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, tc.want, cfg.Pipeline)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "FILTER_PIPELINE")
		})
	}
}

// TestFilterConsumersIsBounded: FILTER_CONSUMERS is how many group members one
// process runs (default 1; 0: one per CPU); a negative count or one past 16 is refused at
// start, naming the variable.
func TestFilterConsumersIsBounded(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
		ok    bool
	}{
		{"", 1, true}, {"0", 0, true}, {"1", 1, true}, {"16", 16, true}, {"-1", 0, false}, {"17", 0, false}, {"all", 0, false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			var cfg consentfilter.Config
			env := map[string]string{"AUDIT_KEY_EPHEMERAL": "true"}
			if tc.value != "" {
				env["FILTER_CONSUMERS"] = tc.value
			}
			err := config.LoadFrom(&cfg, env)
			if tc.ok {
				require.NoError(t, err)
				require.Equal(t, tc.want, cfg.Consumers)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "FILTER_CONSUMERS")
		})
	}
}
