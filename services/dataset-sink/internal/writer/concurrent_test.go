package writer_test

import (
	"context"
	"testing"

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
	feed := func(w *writer.Writer, from, to int) {
		t.Helper()
		for o := from; o <= to; o++ {
			ev := sinktest.Event(o, "k1:s", clock.Now())
			row := table.RowFromEvent(&ev)
			if _, err := w.Append(ctx, writer.Record{Partition: 2, Offset: int64(o), Row: &row}); err != nil {
				t.Fatal(err)
			}
		}
	}
	feed(oldOwner.Writer, 0, 9)
	feed(newOwner.Writer, 5, 14)
	for _, w := range []*writer.Writer{oldOwner.Writer, newOwner.Writer} {
		if _, err := w.CloseAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int64]int{}
	for _, r := range sinktest.Rows(t, oldOwner.Lake, 0) {
		seen[r.KafkaOffset]++
	}
	for o := int64(0); o <= 14; o++ {
		if seen[o] != 1 {
			t.Errorf("offset %d is in the table %d times", o, seen[o])
		}
	}
	if len(seen) != 15 {
		t.Fatalf("offsets %v", seen)
	}
}
