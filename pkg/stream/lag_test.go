package stream

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

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
		{"one with an error", listOffsetsAnswer{{Partition: 0, Offset: 5}, {Partition: 1, ErrorCode: int16(kafka.NotLeaderForPartition)}, {Partition: 2, Offset: 7}}, nil, "changes/1"},
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
