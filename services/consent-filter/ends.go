package consentfilter

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/stream"
)

// partitionsTTL is how long the filter reuses consent.changes' partition list.
// Adding partitions to a keyed, compacted topic moves its keys (Kafka does not
// support it for keyed data, docs/operations.md); a partition added anyway is
// in the pinned end offsets within this long.
const partitionsTTL = 30 * time.Second

// changesEnds reads the end offsets of consent.changes that a batch is decided
// against (filter.Filter.EndOffsets, the readiness check, the consent API's
// caught-up check): one ListOffsets request per call on one kept client, for
// the partitions of a Metadata request made at most every partitionsTTL and
// again after any error. Before, every batch made both requests — per
// request, not per byte, is what the broker pays for at low rates.
//
// The guarantee the pinned offsets are for is unchanged: ListOffsets returns
// each partition's current end, so every change acknowledged before the call
// is below it. A partition missing from the answer is an error, never an end
// of 0 (stream.ListEnds).
type changesEnds struct {
	client *kafka.Client
	topic  string
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	parts []int     // sorted; nil: ask the broker
	until time.Time // parts are reused until then
}

func newChangesEnds(client *kafka.Client, topic string) *changesEnds {
	return &changesEnds{client: client, topic: topic, ttl: partitionsTTL, now: time.Now}
}

// EndOffsets returns the end offset of every partition of the topic.
func (e *changesEnds) EndOffsets(ctx context.Context) (map[int]int64, error) {
	parts, err := e.partitions(ctx)
	if err != nil {
		return nil, err
	}
	ends, err := stream.ListEnds(ctx, e.client, e.topic, parts)
	if err != nil {
		e.forget()
		return nil, err
	}
	return ends, nil
}

func (e *changesEnds) partitions(ctx context.Context) ([]int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.parts != nil && e.now().Before(e.until) {
		return e.parts, nil
	}
	md, err := e.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{e.topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", e.topic, err)
	}
	if len(md.Topics) != 1 || len(md.Topics[0].Partitions) == 0 {
		return nil, fmt.Errorf("metadata %s: topic not available", e.topic)
	}
	if err := md.Topics[0].Error; err != nil {
		return nil, fmt.Errorf("metadata %s: %w", e.topic, err)
	}
	parts := make([]int, 0, len(md.Topics[0].Partitions))
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	slices.Sort(parts)
	e.parts, e.until = parts, e.now().Add(e.ttl)
	return parts, nil
}

// forget drops the partition list, so that the next call asks the broker.
func (e *changesEnds) forget() {
	e.mu.Lock()
	e.parts = nil
	e.mu.Unlock()
}
