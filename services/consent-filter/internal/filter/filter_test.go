package filter

import (
	"context"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// TestTargetIsPinnedPerBatch: retries of one batch keep the end offsets read on
// its first attempt, however far the topic moves meanwhile; the next batch reads
// them again.
func TestTargetIsPinnedPerBatch(t *testing.T) {
	end := int64(10)
	reads := 0
	f := &Filter{EndOffsets: func(context.Context) (map[int]int64, error) {
		reads++
		end += 5 // a steady stream of consent changes
		return map[int]int64{0: end}, nil
	}}
	batch := []kafka.Message{{Topic: "events.raw", Partition: 2, Offset: 40}, {Topic: "events.raw", Partition: 2, Offset: 41}}
	a, err := f.target(context.Background(), batch)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		b, err := f.target(context.Background(), batch)
		require.NoError(t, err)
		require.Equal(t, a, b, "retry %d moved the target", i)
	}
	require.Equal(t, 1, reads)
	// Redelivered after a rebalance: same first record, more records.
	longer := append(batch[:2:2], kafka.Message{Topic: "events.raw", Partition: 2, Offset: 42})
	next, err := f.target(context.Background(), longer)
	require.NoError(t, err)
	require.Greater(t, next[0], a[0])
	require.Equal(t, 2, reads)
}
