package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// EndOffsets returns the next offset to be written (high watermark) of every
// partition of topic.
func EndOffsets(ctx context.Context, k Config, topic string) (map[int]int64, error) {
	cl := k.Client(10 * time.Second)
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata %s: topic not available", topic)
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	resp, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets %s: %w", topic, err)
	}
	out := map[int]int64{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out, nil
}

// GroupLag returns how many records of topic the consumer group has not committed
// yet, summed over partitions (a partition without a commit counts from 0).
func GroupLag(ctx context.Context, k Config, group, topic string) (int64, error) {
	ends, err := EndOffsets(ctx, k, topic)
	if err != nil {
		return 0, err
	}
	cl := k.Client(10 * time.Second)
	parts := make([]int, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return 0, fmt.Errorf("offset fetch %s/%s: %w", group, topic, err)
	}
	if resp.Error != nil && !errors.Is(resp.Error, kafka.GroupIdNotFound) {
		return 0, fmt.Errorf("offset fetch %s/%s: %w", group, topic, resp.Error)
	}
	committed := map[int]int64{}
	for _, po := range resp.Topics[topic] {
		if po.CommittedOffset >= 0 {
			committed[po.Partition] = po.CommittedOffset
		}
	}
	var lag int64
	for p, end := range ends {
		if d := end - committed[p]; d > 0 {
			lag += d
		}
	}
	return lag, nil
}
