package stream

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
)

// ReadRange calls fn with every record of topic from from[p] (inclusive; the
// earliest offset when p has no entry) to to[p] (exclusive), partition by
// partition in order, without a consumer group (tests and benchmarks read what a
// chain wrote; EndOffsets gives to). A read that waits 30 s for a record fails.
func ReadRange(ctx context.Context, k Config, topic string, from, to map[int]int64, fn func(kafka.Message)) error {
	parts := make([]int, 0, len(to))
	for p := range to {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	for _, p := range parts {
		start, ok := from[p]
		if !ok {
			start = kafka.FirstOffset
		}
		if to[p] <= 0 || (ok && to[p] <= start) {
			continue
		}
		if err := readPartition(ctx, k, topic, p, start, to[p], fn); err != nil {
			return err
		}
	}
	return nil
}

func readPartition(ctx context.Context, k Config, topic string, p int, from, to int64, fn func(kafka.Message)) error {
	r := NewPartitionReader(k, topic, p, 200*time.Millisecond)
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		return err
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		m, err := r.ReadMessage(rctx)
		cancel()
		if err != nil {
			return fmt.Errorf("read %s/%d: %w", topic, p, err)
		}
		fn(m)
		if m.Offset >= to-1 {
			return nil
		}
	}
}
