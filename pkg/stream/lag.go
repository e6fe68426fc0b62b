package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
)

// EndOffsets returns the next offset to be written (high watermark) of every
// partition of topic.
func EndOffsets(ctx context.Context, k Config, topic string) (map[int]int64, error) {
	cl := k.Client(10 * time.Second)
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) == 0 {
		return nil, fmt.Errorf("metadata %s: topic not available", topic)
	}
	parts := make([]int, 0, len(md.Topics[0].Partitions))
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	return ListEnds(ctx, cl, topic, parts)
}

// ListEnds returns the end offset (high watermark) of each of parts of topic,
// from ListOffsets requests on cl. Every partition must be answered: one the
// broker leaves out of its answer, or answers with an error, makes it an
// error. (kafka-go's Client.ListOffsets fills in every asked partition at
// offset 0 before it reads the answer, so a partition left out would read as
// an end of 0 and understate a pinned end; this reads the answer itself.)
// A transient partition error (kafka.Error.Temporary: a leader not elected
// or not known yet, as right after a topic is created or a broker restarts)
// is asked again, up to listEndsAttempts times within cl.Timeout.
func ListEnds(ctx context.Context, cl *kafka.Client, topic string, parts []int) (map[int]int64, error) {
	// As cl.ListOffsets sends it (kafka.Client.roundTrip).
	if cl.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cl.Timeout)
		defer cancel()
	}
	wait := listEndsBackoff
	for attempt := 1; ; attempt++ {
		out, err := listEndsOnce(ctx, cl, topic, parts)
		var kerr kafka.Error
		if err == nil || attempt == listEndsAttempts || !errors.As(err, &kerr) || !kerr.Temporary() {
			return out, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// listEndsAttempts and listEndsBackoff bound ListEnds' retries of transient
// partition errors (50 ms doubling to 1 s: about 5 s in all).
const listEndsAttempts = 8

var listEndsBackoff = 50 * time.Millisecond

func listEndsOnce(ctx context.Context, cl *kafka.Client, topic string, parts []int) (map[int]int64, error) {
	req := &listoffsets.Request{ReplicaID: -1, Topics: []listoffsets.RequestTopic{{Topic: topic,
		Partitions: make([]listoffsets.RequestPartition, len(parts))}}}
	for i, p := range parts {
		req.Topics[0].Partitions[i] = listoffsets.RequestPartition{Partition: int32(p), CurrentLeaderEpoch: -1, Timestamp: kafka.LastOffset}
	}
	tr := cl.Transport
	if tr == nil {
		tr = kafka.DefaultTransport
	}
	if cl.Addr == nil {
		return nil, fmt.Errorf("list offsets %s: no broker address", topic)
	}
	m, err := tr.RoundTrip(ctx, cl.Addr, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets %s: %w", topic, err)
	}
	res, ok := m.(*listoffsets.Response)
	if !ok {
		return nil, fmt.Errorf("list offsets %s: unexpected answer %T", topic, m)
	}
	out := make(map[int]int64, len(parts))
	for _, t := range res.Topics {
		if t.Topic != topic {
			continue
		}
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return nil, fmt.Errorf("list offsets %s/%d: %w", topic, p.Partition, kafka.Error(p.ErrorCode))
			}
			out[int(p.Partition)] = p.Offset
		}
	}
	for _, p := range parts {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("list offsets %s/%d: the partition is missing from the broker's answer", topic, p)
		}
	}
	if len(out) != len(parts) {
		return nil, fmt.Errorf("list offsets %s: %d partitions answered for %d asked", topic, len(out), len(parts))
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
