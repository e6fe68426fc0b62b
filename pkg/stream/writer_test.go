package stream

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/stretchr/testify/require"
)

// brokerTransport is a broker without a network: metadata gives every topic
// `partitions` partitions, a produce request is acknowledged and its records
// counted per partition.
type brokerTransport struct {
	partitions int

	mu       sync.Mutex
	requests int
	records  map[int]int
}

func (t *brokerTransport) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	switch m := req.(type) {
	case *metadataAPI.Request:
		r := &metadataAPI.Response{Brokers: []metadataAPI.ResponseBroker{{NodeID: 1, Host: "127.0.0.1", Port: 9092}}}
		for _, name := range m.TopicNames {
			topic := metadataAPI.ResponseTopic{Name: name}
			for p := range t.partitions {
				topic.Partitions = append(topic.Partitions, metadataAPI.ResponsePartition{PartitionIndex: int32(p), LeaderID: 1})
			}
			r.Topics = append(r.Topics, topic)
		}
		return r, nil
	case *produceAPI.Request:
		resp := &produceAPI.Response{}
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, topic := range m.Topics {
			rt := produceAPI.ResponseTopic{Topic: topic.Topic}
			for _, p := range topic.Partitions {
				t.requests++
				n := 0
				if p.RecordSet.Records != nil {
					for {
						if _, err := p.RecordSet.Records.ReadRecord(); err != nil {
							break
						}
						n++
					}
				}
				t.records[int(p.Partition)] += n
				rt.Partitions = append(rt.Partitions, produceAPI.ResponsePartition{Partition: p.Partition})
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	return nil, fmt.Errorf("unexpected request %T", req)
}

func (t *brokerTransport) produced() (requests int, records map[int]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int]int{}
	for p, n := range t.records {
		out[p] = n
	}
	return t.requests, out
}

func keyed(topic string, n int) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Topic: topic, Key: fmt.Appendf(nil, "user-%d", i), Value: []byte("v")}
	}
	return msgs
}

// TestWriterIsSizedFromItsStagesBatch: a stage's writer reserves room for
// about its own batch, not for a thousand records, each time it opens a
// partition's batch (kafka-go allocates 152 bytes per record of BatchSize
// there, however few records the batch then holds), and still sends a whole
// stage batch spread over six partitions in one produce request per partition.
func TestWriterIsSizedFromItsStagesBatch(t *testing.T) {
	ctx := context.Background()
	newWriter := func(opts ...WriterOption) (*kafka.Writer, *brokerTransport) {
		tr := &brokerTransport{partitions: 6, records: map[int]int{}}
		w := NewWriter(Config{Brokers: []string{"127.0.0.1:9092"}}, nil, opts...)
		w.Transport = newMetadataCache(tr)
		t.Cleanup(func() { _ = w.Close() })
		return w, tr
	}
	// Bytes allocated per write of a trickle: 12 records over 6 partitions,
	// as a stage writes at a low rate.
	perWrite := func(w *kafka.Writer) float64 {
		msgs := keyed("t", 12)
		require.NoError(t, w.WriteMessages(ctx, msgs...)) // metadata, connections
		const rounds = 50
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range rounds {
			require.NoError(t, w.WriteMessages(ctx, msgs...))
		}
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / rounds
	}
	// Room for 1000 records in each of 6 partition batches is 912 KB a write;
	// a stage of 64-record batches needs a small part of that.
	small, _ := newWriter(WithMaxBatch(64))
	b := perWrite(small)
	t.Logf("max batch 64: %.0f bytes allocated per write of 12 records", b)
	require.Less(t, b, 200_000.0, "a writer for 64-record batches reserves room for far more records")
	def, _ := newWriter()
	b = perWrite(def)
	t.Logf("default (max batch %d): %.0f bytes allocated per write of 12 records", DefaultMaxBatch, b)
	require.Less(t, b, 400_000.0, "a writer for %d-record batches reserves room for far more records", DefaultMaxBatch)

	// A whole batch of the stage, spread over the partitions by key, goes in
	// one request per partition.
	const batch = 600
	w, tr := newWriter(WithMaxBatch(batch))
	require.NoError(t, w.WriteMessages(ctx, keyed("t", batch)...))
	requests, records := tr.produced()
	total := 0
	for _, n := range records {
		total += n
	}
	require.Equal(t, batch, total)
	require.Len(t, records, 6)
	require.Equal(t, 6, requests, "records per partition %v: a stage batch is split into more produce requests than partitions", records)
}
