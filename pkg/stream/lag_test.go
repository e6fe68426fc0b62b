package stream

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
)

// listOffsetsAnswer is a broker that answers every ListOffsets request with
// partitions, whatever was asked.
type listOffsetsAnswer []listoffsets.ResponsePartition

func (a listOffsetsAnswer) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	r, ok := req.(*listoffsets.Request)
	if !ok {
		return nil, errors.New("unexpected request")
	}
	return &listoffsets.Response{Topics: []listoffsets.ResponseTopic{
		{Topic: r.Topics[0].Topic, Partitions: a},
		{Topic: "other", Partitions: []listoffsets.ResponsePartition{{Partition: 2, Offset: 99}}},
	}}, nil
}

// ListEnds reads the broker's answer: every asked partition's end, and an
// error — never an end of 0 — for a partition the answer leaves out (where
// kafka-go's Client.ListOffsets reports offset 0) or answers with an error.
func TestListEndsNeedsEveryPartitionAnswered(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		answer listOffsetsAnswer
		want   map[int]int64 // nil: an error naming wantErr
		errHas string
	}{
		{"all answered", listOffsetsAnswer{{Partition: 0, Offset: 5}, {Partition: 1, Offset: 0}, {Partition: 2, Offset: 7}}, map[int]int64{0: 5, 1: 0, 2: 7}, ""},
		{"one left out", listOffsetsAnswer{{Partition: 0, Offset: 5}, {Partition: 2, Offset: 7}}, nil, "changes/1: the partition is missing"},
		{"one with an error", listOffsetsAnswer{{Partition: 0, Offset: 5}, {Partition: 1, ErrorCode: int16(kafka.TopicAuthorizationFailed)}, {Partition: 2, Offset: 7}}, nil, "changes/1"},
		{"one not asked for", listOffsetsAnswer{{Partition: 0, Offset: 5}, {Partition: 1, Offset: 1}, {Partition: 2, Offset: 7}, {Partition: 3, Offset: 1}}, nil, "4 partitions answered for 3 asked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := &kafka.Client{Addr: kafka.TCP("127.0.0.1:1"), Transport: tc.answer}
			got, err := ListEnds(ctx, cl, "changes", []int{0, 1, 2})
			if tc.want != nil {
				if err != nil || len(got) != len(tc.want) {
					t.Fatalf("ends %v, %v; want %v", got, err, tc.want)
				}
				for p, end := range tc.want {
					if got[p] != end {
						t.Fatalf("ends %v; want %v", got, tc.want)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("ends %v, error %v; want an error naming %q", got, err, tc.errHas)
			}
		})
	}
}

// flakyLeader answers ListOffsets with a transient error (no leader yet) for
// partition 1 the first failures times, then every partition's end.
type flakyLeader struct {
	failures, calls int
	code            kafka.Error
}

func (f *flakyLeader) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	r := req.(*listoffsets.Request)
	f.calls++
	ps := []listoffsets.ResponsePartition{{Partition: 0, Offset: 5}, {Partition: 1, Offset: 6}}
	if f.calls <= f.failures {
		ps[1] = listoffsets.ResponsePartition{Partition: 1, ErrorCode: int16(f.code)}
	}
	return &listoffsets.Response{Topics: []listoffsets.ResponseTopic{{Topic: r.Topics[0].Topic, Partitions: ps}}}, nil
}

// TestListEndsRetriesTransientErrors: a partition whose leader is not known
// yet (right after the topic is created, or a broker restarted) is asked
// again, a bounded number of times; an error that is not transient is not.
func TestListEndsRetriesTransientErrors(t *testing.T) {
	defer func(b time.Duration) { listEndsBackoff = b }(listEndsBackoff)
	listEndsBackoff = time.Millisecond
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		fake      flakyLeader
		wantCalls int
		wantErr   bool
	}{
		{"no leader twice, then ends", flakyLeader{failures: 2, code: kafka.NotLeaderForPartition}, 3, false},
		{"leader not available once", flakyLeader{failures: 1, code: kafka.LeaderNotAvailable}, 2, false},
		{"never a leader: bounded", flakyLeader{failures: 1000, code: kafka.NotLeaderForPartition}, listEndsAttempts, true},
		{"not transient: once", flakyLeader{failures: 1000, code: kafka.TopicAuthorizationFailed}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := tc.fake
			cl := &kafka.Client{Addr: kafka.TCP("127.0.0.1:1"), Transport: &fake, Timeout: 10 * time.Second}
			got, err := ListEnds(ctx, cl, "curated", []int{0, 1})
			if fake.calls != tc.wantCalls {
				t.Fatalf("%d requests, want %d", fake.calls, tc.wantCalls)
			}
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "curated/1") {
					t.Fatalf("ends %v, error %v; want an error naming curated/1", got, err)
				}
				return
			}
			if err != nil || got[0] != 5 || got[1] != 6 {
				t.Fatalf("ends %v, %v; want 0:5 1:6", got, err)
			}
		})
	}
}
