package stream_test

import (
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/stretchr/testify/require"
)

// TestNewReaderFetchSettings: a consumer-group reader asks the broker for the
// MinBytes and MaxWait it was given, and for 1 byte and DefaultMaxWait when
// none (a record returns at once unless a stage says it may wait).
func TestNewReaderFetchSettings(t *testing.T) {
	k := stream.Config{Brokers: []string{"127.0.0.1:1"}} // never dialled before Close
	for _, tc := range []struct {
		name     string
		c        stream.ReaderConfig
		minBytes int
		maxWait  time.Duration
	}{
		{"defaults", stream.ReaderConfig{}, 1, stream.DefaultMaxWait},
		{"set", stream.ReaderConfig{MinBytes: 16 << 10, MaxWait: 500 * time.Millisecond}, 16 << 10, 500 * time.Millisecond},
		{"negative is the default", stream.ReaderConfig{MinBytes: -5}, 1, stream.DefaultMaxWait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.GroupID, c.Topic = "g", "t"
			r := stream.NewReader(k, c, nil)
			defer r.Close()
			got := r.Config()
			require.Equal(t, tc.minBytes, got.MinBytes)
			require.Equal(t, tc.maxWait, got.MaxWait)
		})
	}
}
