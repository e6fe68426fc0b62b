package stream

import (
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

func recs(p int, offsets ...int64) []kafka.Message {
	out := make([]kafka.Message, len(offsets))
	for i, o := range offsets {
		out[i] = kafka.Message{Topic: "t", Partition: p, Offset: o}
	}
	return out
}

func points(a *Acks) map[int]int64 {
	out := map[int]int64{}
	for _, m := range a.commitPoints() {
		out[m.Partition] = m.Offset + 1
	}
	return out
}

func TestAcksImmediateCommitAfterWrite(t *testing.T) {
	a := newAcks(false)
	a.fetched(recs(0, 5, 6, 9)) // gaps (compaction) are fine
	require.Empty(t, points(a), "not written yet")
	a.written(recs(0, 5, 6, 9))
	require.Equal(t, map[int]int64{0: 10}, points(a))
	a.committed(a.commitPoints())
	require.Empty(t, points(a), "nothing new")
}

func TestAcksDeferredNeedBothWriteAndAck(t *testing.T) {
	a := newAcks(true)
	a.fetched(recs(3, 0, 1, 2, 3))
	a.AckThrough(3, 1)
	require.Empty(t, points(a), "acknowledged but not written")
	a.written(recs(3, 0, 1, 2, 3))
	require.Equal(t, map[int]int64{3: 2}, points(a))
	a.Ack(recs(3, 3)...)
	require.Equal(t, map[int]int64{3: 2}, points(a), "2 is still held")
	a.Ack(recs(3, 2)...)
	require.Equal(t, map[int]int64{3: 4}, points(a))
}

func TestAcksRedeliveryForgetsTheRecordsFromThere(t *testing.T) {
	a := newAcks(true)
	a.fetched(recs(0, 10, 11, 12))
	a.written(recs(0, 10, 11, 12))
	a.Ack(recs(0, 10)...)
	a.committed(a.commitPoints()) // 11
	// The group rebalanced; the reader starts again at the committed offset.
	a.fetched(recs(0, 11, 12))
	a.written(recs(0, 11, 12))
	a.Ack(recs(0, 11)...)
	require.Equal(t, map[int]int64{0: 12}, points(a), "12 of the first delivery was acknowledged by nobody")
	// Durable through 12 (a file published): the redelivered 12 is done.
	a.AckThrough(0, 12)
	require.Equal(t, map[int]int64{0: 13}, points(a))
}

// BenchmarkAcks is the loop's bookkeeping per record: register a batch of 500,
// mark it written, compute the commit points (deferred acknowledgement, one
// AckThrough per batch, as a sink publishing a file does).
func BenchmarkAcks(b *testing.B) {
	a := newAcks(true)
	batch := make([]kafka.Message, 500)
	var off int64
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			batch[i] = kafka.Message{Topic: "t", Partition: i % 6, Offset: off + int64(i/6)}
		}
		off += int64(len(batch)/6 + 1)
		a.fetched(batch)
		a.written(batch)
		for p := range 6 {
			a.AckThrough(p, off)
		}
		a.committed(a.commitPoints())
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
}
