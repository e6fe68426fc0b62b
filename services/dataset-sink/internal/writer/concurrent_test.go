package writer_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestTwoWritersOnePartitionNoDuplicate is a rebalance seen from the table: the
// old owner of a partition still holds offsets 0-9 when the new owner, which
// started from the last Kafka commit, buffers 5-14. Whichever commits second
// loses the race on the table, reloads it and keeps only the offsets the table
// does not hold yet: every offset is in the table exactly once.
func TestTwoWritersOnePartitionNoDuplicate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := sinktest.NewClock()
	oldOwner := sinktest.NewParts(t, dir, clock, 1000)
	newOwner := sinktest.NewParts(t, dir, clock, 1000)
	feed := func(w *writer.Writer, from, to int) { t.Helper(); appendOffsets(ctx, t, clock, w, from, to) }
	feed(oldOwner.Writer, 0, 9)
	feed(newOwner.Writer, 5, 14)
	for _, w := range []*writer.Writer{oldOwner.Writer, newOwner.Writer} {
		if _, err := w.CloseAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	requireEachOffsetOnce(t, oldOwner, 14)
}

// TestTwoWritersOnePartitionNoDuplicateLostCAS is the same rebalance with
// the old owner's commits running in the background and one of them losing
// the catalog's compare-and-swap. The table holds 0-9 (the old owner's first
// commit, acknowledged: the group's commit point is 10). The old owner's next
// commit, 10-19, has written its data files on the table as loaded when the
// new owner, started from the group's commit point, commits 10-14. The old
// owner's catalog commit then fails; the attempt is redone on the reloaded
// table with only 15-19, and only that commit acknowledges anything. Every
// offset is in the table once, and whenever the old owner acknowledges a
// range each offset of it is already in the table (read back from the
// catalog).
func TestTwoWritersOnePartitionNoDuplicateLostCAS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := sinktest.NewClock()
	var mu sync.Mutex
	var acked []writer.Done
	var stages []string
	var oldOwner *sinktest.Parts
	oldOwner = sinktest.NewPartsWith(t, dir, clock, writer.Options{Topic: sinktest.Topic, RotateRows: 10,
		RotateBytes: 64 << 20, RotateInterval: time.Hour, DedupeWindow: 1000,
		Durable: func(d []writer.Done) {
			in := map[[2]int64]int{}
			for _, r := range sinktest.Rows(t, oldOwner.Lake, 0) {
				in[[2]int64{int64(r.KafkaPartition), r.KafkaOffset}]++
			}
			for _, x := range d {
				for o := int64(0); o <= x.Last; o++ {
					if n := in[[2]int64{int64(x.Partition), o}]; n != 1 {
						t.Errorf("acknowledged %d:%d with offset %d in the table %d times", x.Partition, x.Last, o, n)
					}
				}
			}
			mu.Lock()
			acked = append(acked, d...)
			mu.Unlock()
		}})
	feed := func(w *writer.Writer, from, to int) { t.Helper(); appendOffsets(ctx, t, clock, w, from, to) }
	feed(oldOwner.Writer, 0, 9) // due at ten offsets: committed in the background
	if err := writer.WaitIdle(oldOwner.Writer); err != nil {
		t.Fatal(err)
	}
	newOwner := sinktest.NewParts(t, dir, clock, 1000)
	feed(newOwner.Writer, 10, 14)
	writer.SetCommitHook(oldOwner.Writer, func(stage string) {
		mu.Lock()
		stages = append(stages, stage)
		first := len(stages) == 1
		mu.Unlock()
		if first { // between the old owner's load and its catalog commit, the new owner commits
			if _, err := newOwner.Writer.CloseAll(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	feed(oldOwner.Writer, 10, 19)
	if err := writer.WaitIdle(oldOwner.Writer); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	gotStages, gotAcked := slices.Clone(stages), slices.Clone(acked)
	mu.Unlock()
	// The race was lost: the attempt's files were written twice (the second
	// time without the new owner's offsets), then committed once.
	if want := []string{"files-written", "files-written", "committed"}; !slices.Equal(gotStages, want) {
		t.Fatalf("commit stages %v, want %v (no lost compare-and-swap?)", gotStages, want)
	}
	if want := []writer.Done{{Partition: 2, Last: 9}, {Partition: 2, Last: 19}}; !slices.Equal(gotAcked, want) {
		t.Fatalf("acknowledged %v, want %v", gotAcked, want)
	}
	requireEachOffsetOnce(t, oldOwner, 19)
}

// appendOffsets appends an event at each offset from..to of partition 2 to w.
func appendOffsets(ctx context.Context, t *testing.T, clock *sinktest.Clock, w *writer.Writer, from, to int) {
	t.Helper()
	for o := from; o <= to; o++ {
		ev := sinktest.Event(o, "k1:s", clock.Now())
		row := table.RowFromEvent(&ev)
		if _, err := w.Append(ctx, writer.Record{Partition: 2, Offset: int64(o), Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
}

// requireEachOffsetOnce fails unless the table of p holds each offset
// 0..last exactly once and no other.
func requireEachOffsetOnce(t *testing.T, p *sinktest.Parts, last int64) {
	t.Helper()
	seen := map[int64]int{}
	for _, r := range sinktest.Rows(t, p.Lake, 0) {
		seen[r.KafkaOffset]++
	}
	for o := int64(0); o <= last; o++ {
		if seen[o] != 1 {
			t.Errorf("offset %d is in the table %d times", o, seen[o])
		}
	}
	if int64(len(seen)) != last+1 {
		t.Fatalf("offsets %v", seen)
	}
}
