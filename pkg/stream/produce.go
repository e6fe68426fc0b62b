package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Record is one record to append with AppendWithOffsets.
type Record struct {
	Key, Value []byte
	Headers    []kafka.Header
	// Route, when set, is hashed instead of Key to choose the partition, so
	// records with different keys can share a partition (consent.changes keeps
	// a tenant's records together).
	Route []byte
}

// PartitionOf is the partition of n that OffsetWriter.Append (and a writer
// from NewWriter) chooses for a record keyed or routed by key: murmur2, as
// the Java client's default partitioner.
func PartitionOf(key []byte, n int) int {
	parts := make([]int, n)
	for i := range parts {
		parts[i] = i
	}
	return (&kafka.Murmur2Balancer{Consistent: true}).Balance(kafka.Message{Key: key}, parts...)
}

// Position is where a record landed: its partition and offset (its version).
type Position struct {
	Partition int
	Offset    int64
}

// String formats the position as partition:offset.
func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Partition, p.Offset) }

// OffsetWriter appends records to one topic with acks=all and reports the offset
// each record got, which kafka.Writer does not. It partitions keys with murmur2
// like NewWriter, so both agree on where a key lives.
type OffsetWriter struct {
	client *kafka.Client
	topic  string

	mu         sync.Mutex
	partitions []int
}

// NewOffsetWriter returns an OffsetWriter for topic.
func NewOffsetWriter(k Config, topic string) *OffsetWriter {
	return &OffsetWriter{client: k.Client(10 * time.Second), topic: topic}
}

func (w *OffsetWriter) partitionList(ctx context.Context, refresh bool) ([]int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.partitions != nil && !refresh {
		return w.partitions, nil
	}
	md, err := w.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{w.topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", w.topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) == 0 {
		return nil, fmt.Errorf("metadata %s: topic not available", w.topic)
	}
	parts := make([]int, len(md.Topics[0].Partitions))
	for i := range parts {
		parts[i] = i
	}
	w.partitions = parts
	return parts, nil
}

// Append writes recs and returns their positions in order. It returns only after
// every record is acknowledged by all in-sync replicas, or an error; on error some
// records may have been written (the caller retries, and consumers treat replays
// as harmless).
func (w *OffsetWriter) Append(ctx context.Context, recs ...Record) ([]Position, error) {
	parts, err := w.partitionList(ctx, false)
	if err != nil {
		return nil, err
	}
	bal := kafka.Murmur2Balancer{Consistent: true}
	byPart := map[int][]int{}
	for i, r := range recs {
		route := r.Key
		if r.Route != nil {
			route = r.Route
		}
		p := bal.Balance(kafka.Message{Key: route}, parts...)
		byPart[p] = append(byPart[p], i)
	}
	out := make([]Position, len(recs))
	for p, idx := range byPart {
		part := make([]Record, len(idx))
		for j, i := range idx {
			part[j] = recs[i]
		}
		base, err := w.produce(ctx, p, part)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			out[i] = Position{Partition: p, Offset: base + int64(j)}
		}
	}
	return out, nil
}

// produce writes one partition's records, retrying errors the broker marks as
// temporary (a leader moving or not yet elected) a few times.
func (w *OffsetWriter) produce(ctx context.Context, partition int, recs []Record) (int64, error) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// kafka.Record keys and values are readers, drained by a send: build them
		// anew for every attempt.
		krecs := make([]kafka.Record, len(recs))
		now := time.Now()
		for j, r := range recs {
			krecs[j] = kafka.Record{Key: kafka.NewBytes(r.Key), Value: kafka.NewBytes(r.Value), Headers: append([]kafka.Header(nil), r.Headers...), Time: now}
		}
		resp, err := w.client.Produce(ctx, &kafka.ProduceRequest{
			Topic: w.topic, Partition: partition, RequiredAcks: kafka.RequireAll,
			Records: kafka.NewRecordReader(krecs...),
		})
		if err == nil && resp.Error != nil {
			err = resp.Error
		}
		if err == nil {
			return resp.BaseOffset, nil
		}
		var kerr kafka.Error
		if attempt >= 6 || !errors.As(err, &kerr) || !kerr.Temporary() {
			return 0, fmt.Errorf("produce %s/%d: %w", w.topic, partition, err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("produce %s/%d: %w (last error: %v)", w.topic, partition, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}
