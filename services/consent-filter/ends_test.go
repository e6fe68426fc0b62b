package consentfilter

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
)

// fakeBroker answers Metadata and ListOffsets for one topic and counts the
// requests by kind.
type fakeBroker struct {
	mu       sync.Mutex
	topic    string
	ends     map[int]int64 // partition -> end offset
	requests map[string]int
	fail     error        // the next ListOffsets fails with it
	omit     map[int]bool // partitions ListOffsets leaves out of its answer
}

func (b *fakeBroker) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch r := req.(type) {
	case *metadataAPI.Request:
		b.requests["metadata"]++
		t := metadataAPI.ResponseTopic{Name: b.topic}
		for p := range b.ends {
			t.Partitions = append(t.Partitions, metadataAPI.ResponsePartition{PartitionIndex: int32(p)})
		}
		return &metadataAPI.Response{Topics: []metadataAPI.ResponseTopic{t}}, nil
	case *listoffsets.Request:
		b.requests["list_offsets"]++
		if err := b.fail; err != nil {
			b.fail = nil
			return nil, err
		}
		t := listoffsets.ResponseTopic{Topic: b.topic}
		for _, rt := range r.Topics {
			for _, rp := range rt.Partitions {
				if b.omit[int(rp.Partition)] {
					continue
				}
				t.Partitions = append(t.Partitions, listoffsets.ResponsePartition{Partition: rp.Partition, Timestamp: rp.Timestamp, Offset: b.ends[int(rp.Partition)]})
			}
		}
		return &listoffsets.Response{Topics: []listoffsets.ResponseTopic{t}}, nil
	}
	return nil, errors.New("unexpected request")
}

func (b *fakeBroker) set(p int, end int64) {
	b.mu.Lock()
	b.ends[p] = end
	b.mu.Unlock()
}

func (b *fakeBroker) count(kind string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests[kind]
}

// TestChangesEndsAsksOnceForThePartitions: a batch costs one ListOffsets
// request; the partition list is asked for once per partitionsTTL and after
// an error, and every call returns the ends as they are now (the pinned
// offsets' guarantee).
func TestChangesEndsAsksOnceForThePartitions(t *testing.T) {
	b := &fakeBroker{topic: "consent.changes", ends: map[int]int64{0: 5, 1: 7}, requests: map[string]int{}}
	now := time.Unix(1000, 0)
	e := newChangesEnds(&kafka.Client{Addr: kafka.TCP("127.0.0.1:1"), Transport: b}, "consent.changes")
	e.now = func() time.Time { return now }
	ctx := context.Background()
	for i := range 100 {
		b.set(0, int64(5+i))
		got, err := e.EndOffsets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != int64(5+i) || got[1] != 7 || len(got) != 2 {
			t.Fatalf("call %d: ends %v, want {0:%d 1:7}", i, got, 5+i)
		}
	}
	if m, l := b.count("metadata"), b.count("list_offsets"); m != 1 || l != 100 {
		t.Fatalf("100 calls: %d metadata and %d list-offsets requests, want 1 and 100", m, l)
	}
	// A partition added shows within the TTL.
	b.set(2, 3)
	now = now.Add(partitionsTTL)
	if got, err := e.EndOffsets(ctx); err != nil || len(got) != 3 || got[2] != 3 {
		t.Fatalf("after the TTL: %v, %v; want partition 2 at 3", got, err)
	}
	if m := b.count("metadata"); m != 2 {
		t.Fatalf("after the TTL: %d metadata requests, want 2", m)
	}
	// An error forgets the partitions.
	b.fail = errors.New("broker gone")
	if _, err := e.EndOffsets(ctx); err == nil {
		t.Fatal("a failed ListOffsets returned no error")
	}
	if _, err := e.EndOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	if m := b.count("metadata"); m != 3 {
		t.Fatalf("after an error: %d metadata requests, want 3", m)
	}
}

// TestChangesEndsRefuseAMissingPartition: a partition the broker leaves out
// of its ListOffsets answer is an error (and the partition list is asked for
// again), never an end of 0 — kafka-go's Client.ListOffsets reports 0 for it,
// which would pin a batch below changes already acknowledged.
func TestChangesEndsRefuseAMissingPartition(t *testing.T) {
	b := &fakeBroker{topic: "consent.changes", ends: map[int]int64{0: 5, 1: 7}, requests: map[string]int{}, omit: map[int]bool{1: true}}
	e := newChangesEnds(&kafka.Client{Addr: kafka.TCP("127.0.0.1:1"), Transport: b}, "consent.changes")
	ctx := context.Background()
	if got, err := e.EndOffsets(ctx); err == nil {
		t.Fatalf("partition 1 left out of the answer: ends %v and no error", got)
	}
	b.mu.Lock()
	b.omit = nil
	b.mu.Unlock()
	if got, err := e.EndOffsets(ctx); err != nil || got[0] != 5 || got[1] != 7 || len(got) != 2 {
		t.Fatalf("answered in full: %v, %v; want {0:5 1:7}", got, err)
	}
	if m := b.count("metadata"); m != 2 {
		t.Fatalf("%d metadata requests, want 2 (the partitions asked again after the error)", m)
	}
}
