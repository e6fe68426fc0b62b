package consentfilter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
)

// TestMembersDrainTheirPartitionsAndCommitOnlyWhatIsWritten: with
// FILTER_CONSUMERS=3 on events.raw's 3 partitions every member holds a
// partition of the group; stopped while thousands of events are in flight,
// every member writes what it decided and commits exactly that. Per
// partition the committed offset is one past the last event that has a
// decision record, and every event below it has one: no commit ahead of its
// write, nothing written left uncommitted by a member that stopped early.
func TestMembersDrainTheirPartitionsAndCommitOnlyWhatIsWritten(t *testing.T) {
	h := startWith(t, map[string]string{"FILTER_CONSUMERS": "3", "FILTER_MAX_BATCH": "40", "FILTER_LINGER": "1ms"})
	ctx := context.Background()
	group := h.env.Prefix + "filter"

	// Every member joined and holds a partition.
	cl := h.env.Kafka.Client(10 * time.Second)
	require.Eventually(t, func() bool {
		resp, err := cl.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err != nil || len(resp.Groups) != 1 || len(resp.Groups[0].Members) != 3 {
			return false
		}
		for _, m := range resp.Groups[0].Members {
			held := 0
			for _, tp := range m.MemberAssignments.Topics {
				held += len(tp.Partitions)
			}
			if held == 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "three members, each holding a partition")

	h.set("users", "t/out-0", "denied")
	const n, users = 4000, 300
	for start := 0; start < n; start += 500 {
		evs := make([]schema.InteractionEvent, 0, 500)
		for i := start; i < start+500; i++ {
			evs = append(evs, event(fmt.Sprint("out-", i%users), "t", "US"))
		}
		h.send(evs...)
	}
	h.collect(n/10, 60*time.Second)
	h.stop() // with most of the events still to decide

	ends, err := stream.EndOffsets(ctx, h.env.Kafka, h.env.Names.Raw)
	require.NoError(t, err)
	type pos struct {
		p int
		o int64
	}
	where := map[string]pos{}
	require.NoError(t, stream.ReadRange(ctx, h.env.Kafka, h.env.Names.Raw, nil, ends, func(m kafka.Message) {
		ev, err := h.raw.Decode(ctx, m.Value)
		require.NoError(t, err)
		where[ev.EventID] = pos{m.Partition, m.Offset}
	}))
	require.Len(t, where, n)
	decided := map[pos]bool{}
	dends, err := stream.EndOffsets(ctx, h.env.Kafka, h.env.Names.Decisions)
	require.NoError(t, err)
	require.NoError(t, stream.ReadRange(ctx, h.env.Kafka, h.env.Names.Decisions, nil, dends, func(m kafka.Message) {
		d, err := h.dec.Decode(ctx, m.Value)
		require.NoError(t, err)
		p, ok := where[d.EventID]
		require.True(t, ok, "decision for an unknown event")
		decided[p] = true
	}))

	resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{h.env.Names.Raw: {0, 1, 2}}})
	require.NoError(t, err)
	committed := map[int]int64{}
	for _, po := range resp.Topics[h.env.Names.Raw] {
		committed[po.Partition] = max(po.CommittedOffset, 0)
	}
	require.Len(t, ends, 3)
	total := 0
	for p, end := range ends {
		var last int64 = -1
		for o := range end {
			if decided[pos{p, o}] {
				last = o
			}
		}
		for o := range committed[p] {
			require.True(t, decided[pos{p, o}], "partition %d: offset %d committed (up to %d) without its decision written", p, o, committed[p])
		}
		require.Equal(t, last+1, committed[p], "partition %d: decided up to %d, committed %d", p, last, committed[p])
		require.Positive(t, committed[p], "partition %d: nothing decided (its member never ran)", p)
		total += int(committed[p])
	}
	t.Logf("stopped with %d of %d events decided and committed, per partition %v of %v", total, n, committed, ends)
}
