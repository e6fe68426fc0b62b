package stream

import (
	"context"
	"net"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

// metadataTTL is how long a writer reuses a topic's metadata. kafka-go's
// Writer asks its transport for the topic's metadata once per message, to count
// the partitions; kafka.Transport answers from its own cache (6 s), but builds a
// fresh filtered copy of the cluster's metadata every time — an eighth of the
// producer's CPU at 500 events per request. A second more of staleness is
// nothing next to the transport's own; a partition count change reaches the
// writer within it.
const metadataTTL = time.Second

// metadataCache is the RoundTripper of one writer: it answers the writer's
// one-topic metadata requests from what the transport last answered for that
// topic and broker list, for metadataTTL, and passes every other request on.
// Only answers without an error are kept (an unknown topic is asked again).
// The kept response is shared: the writer only reads it.
type metadataCache struct {
	next kafka.RoundTripper
	now  func() time.Time

	mu   sync.RWMutex
	kept map[metadataKey]keptMetadata
}

// metadataKey is a topic on a broker list. The list is the writer's Addr,
// which it keeps for its lifetime: kafka.TCP's (a pointer for one broker, a
// slice for several) is known by its address (and length), which the key
// keeps alive; building its text on every message cost more than the lookup
// (kafka-go joins the brokers' names each time). Any other address is known by
// its text.
type metadataKey struct {
	list  unsafe.Pointer
	n     int
	addr  string
	topic string
}

func keyOf(addr net.Addr, topic string) metadataKey {
	switch v := reflect.ValueOf(addr); v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return metadataKey{list: v.UnsafePointer(), topic: topic}
		}
	case reflect.Slice:
		if v.Len() > 0 {
			return metadataKey{list: v.UnsafePointer(), n: v.Len(), topic: topic}
		}
	}
	return metadataKey{addr: addr.Network() + "://" + addr.String(), topic: topic}
}

type keptMetadata struct {
	resp  kafka.Response
	until time.Time
}

func newMetadataCache(next kafka.RoundTripper) *metadataCache {
	if next == nil {
		next = kafka.DefaultTransport
	}
	return &metadataCache{next: next, now: time.Now, kept: map[metadataKey]keptMetadata{}}
}

func (c *metadataCache) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	m, ok := req.(*metadataAPI.Request)
	if !ok || len(m.TopicNames) != 1 || m.AllowAutoTopicCreation {
		return c.next.RoundTrip(ctx, addr, req)
	}
	key := keyOf(addr, m.TopicNames[0])
	now := c.now()
	c.mu.RLock()
	k, hit := c.kept[key]
	c.mu.RUnlock()
	if hit && now.Before(k.until) {
		return k.resp, nil
	}
	resp, err := c.next.RoundTrip(ctx, addr, req)
	if err != nil {
		return resp, err
	}
	if r, ok := resp.(*metadataAPI.Response); ok && healthy(r, key.topic) {
		c.mu.Lock()
		c.kept[key] = keptMetadata{resp: resp, until: now.Add(metadataTTL)}
		c.mu.Unlock()
	}
	return resp, nil
}

// healthy reports whether r describes topic without an error.
func healthy(r *metadataAPI.Response, topic string) bool {
	found := false
	for _, t := range r.Topics {
		if t.ErrorCode != 0 {
			return false
		}
		found = found || t.Name == topic
	}
	return found
}
