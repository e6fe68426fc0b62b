package stream

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/stretchr/testify/require"
)

// countingTransport answers metadata requests with partitions[topic]
// partitions (an unknown topic gets UNKNOWN_TOPIC_OR_PARTITION) and counts
// every request it sees.
type countingTransport struct {
	mu         sync.Mutex
	partitions map[string]int
	calls      map[string]int
}

func (t *countingTransport) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch m := req.(type) {
	case *metadataAPI.Request:
		r := &metadataAPI.Response{}
		for _, name := range m.TopicNames {
			t.calls[name]++
			n, ok := t.partitions[name]
			topic := metadataAPI.ResponseTopic{Name: name}
			if !ok {
				topic.ErrorCode = int16(kafka.UnknownTopicOrPartition)
			}
			for p := range n {
				topic.Partitions = append(topic.Partitions, metadataAPI.ResponsePartition{PartitionIndex: int32(p)})
			}
			r.Topics = append(r.Topics, topic)
		}
		return r, nil
	default:
		t.calls["other"]++
		return &produceAPI.Response{}, nil
	}
}

func (t *countingTransport) count(name string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[name]
}

// TestMetadataCacheAsksOncePerTopicAndSecond: a writer's per-message metadata
// requests reach the transport once per topic and broker within metadataTTL
// and again after it (a partition count change is seen); a topic the cluster
// does not know, a request that may create topics, a request for two topics and
// every other request always go through.
func TestMetadataCacheAsksOncePerTopicAndSecond(t *testing.T) {
	ctx := context.Background()
	next := &countingTransport{partitions: map[string]int{"a": 3, "b": 6}, calls: map[string]int{}}
	c := newMetadataCache(next)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	addr, other := kafka.TCP("127.0.0.1:9092"), kafka.TCP("127.0.0.2:9092")
	partitions := func(addr net.Addr, topic string) int {
		r, err := c.RoundTrip(ctx, addr, &metadataAPI.Request{TopicNames: []string{topic}})
		require.NoError(t, err)
		return len(r.(*metadataAPI.Response).Topics[0].Partitions)
	}
	for range 500 {
		require.Equal(t, 3, partitions(addr, "a"))
		require.Equal(t, 6, partitions(addr, "b"))
	}
	require.Equal(t, 1, next.count("a"))
	require.Equal(t, 1, next.count("b"))
	partitions(other, "a")
	require.Equal(t, 2, next.count("a"), "another broker list is asked itself")
	// Other kinds of address: a broker by a struct value (known by its
	// text), and several brokers by kafka.TCP's list.
	for i, a := range []net.Addr{textAddr("127.0.0.5:9092"), textAddr("127.0.0.6:9092"), kafka.TCP("127.0.0.7:9092", "127.0.0.8:9092")} {
		partitions(a, "a")
		partitions(a, "a")
		require.Equal(t, 3+i, next.count("a"), "address %d is asked once", i)
	}
	require.Equal(t, 3, partitions(addr, "a"))
	next.mu.Lock()
	next.calls["a"] = 2 // as before the checks of other addresses
	next.mu.Unlock()
	next.mu.Lock()
	next.partitions["a"] = 12
	next.mu.Unlock()
	now = now.Add(metadataTTL - time.Millisecond)
	require.Equal(t, 3, partitions(addr, "a"), "within the TTL")
	now = now.Add(2 * time.Millisecond)
	require.Equal(t, 12, partitions(addr, "a"), "after the TTL the new count")
	require.Equal(t, 3, next.count("a"))

	for range 3 {
		r, err := c.RoundTrip(ctx, addr, &metadataAPI.Request{TopicNames: []string{"gone"}})
		require.NoError(t, err)
		require.NotZero(t, r.(*metadataAPI.Response).Topics[0].ErrorCode)
		_, err = c.RoundTrip(ctx, addr, &metadataAPI.Request{TopicNames: []string{"b"}, AllowAutoTopicCreation: true})
		require.NoError(t, err)
		_, err = c.RoundTrip(ctx, addr, &metadataAPI.Request{TopicNames: []string{"a", "b"}})
		require.NoError(t, err)
		_, err = c.RoundTrip(ctx, addr, &produceAPI.Request{})
		require.NoError(t, err)
	}
	require.Equal(t, 3, next.count("gone"), "an error is not kept")
	require.Equal(t, 1+3+3, next.count("b"), "auto-create and two-topic requests go through")
	require.Equal(t, 3, next.count("other"))
}

// textAddr is a net.Addr that is neither a pointer nor a slice.
type textAddr string

func (a textAddr) Network() string { return "tcp" }
func (a textAddr) String() string  { return string(a) }

// BenchmarkMetadataCacheHit is the writer's per-message metadata request
// answered from the cache (kafka.TCP's broker list, as every stage's writer has).
//
//	go test ./pkg/stream -run '^$' -bench MetadataCacheHit -benchmem
func BenchmarkMetadataCacheHit(b *testing.B) {
	ctx := context.Background()
	c := newMetadataCache(&countingTransport{partitions: map[string]int{"a": 3}, calls: map[string]int{}})
	addr := kafka.TCP("127.0.0.1:9092", "127.0.0.2:9092", "127.0.0.3:9092")
	req := &metadataAPI.Request{TopicNames: []string{"a"}}
	b.ReportAllocs()
	for range b.N {
		if _, err := c.RoundTrip(ctx, addr, req); err != nil {
			b.Fatal(err)
		}
	}
}
