package writer_test

import (
	"context"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestTickCommitsEveryOpenFileInOneCommit: when one partition's file reaches the
// rotation interval, the tick commits every open file in one table commit (the
// others would have needed a commit each within the same interval); nothing is
// committed before a file is due.
func TestTickCommitsEveryOpenFileInOneCommit(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	var durable []writer.Done
	p := sinktest.NewPartsWith(t, t.TempDir(), clock, writer.Options{Topic: sinktest.Topic, RotateRows: 1000,
		RotateBytes: 64 << 20, RotateInterval: 5 * time.Second, DedupeWindow: 1000,
		Durable: func(d []writer.Done) { durable = append(durable, d...) }})
	appendAt := func(partition int, offset int64, i int) {
		t.Helper()
		ev := sinktest.Event(i, "k1:s", clock.Now())
		row := table.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: partition, Offset: offset, Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
	snapshots := func() int {
		t.Helper()
		tb, err := p.Lake.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(tb.Metadata().Snapshots())
	}
	before := snapshots()
	appendAt(0, 0, 0)
	clock.Add(2 * time.Second)
	appendAt(1, 0, 1)
	clock.Add(2 * time.Second)
	appendAt(2, 0, 2)
	if done, err := p.Writer.Tick(ctx); err != nil || len(done) != 0 || writer.WaitIdle(p.Writer) != nil || len(durable) != 0 {
		t.Fatalf("tick before any file is due: done %v %v, err %v", done, durable, err)
	}
	clock.Add(time.Second) // partition 0's file is 5 s old, 1's 3 s, 2's 1 s
	done, err := p.Writer.Tick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.WaitIdle(p.Writer); err != nil { // the commit runs in the background
		t.Fatal(err)
	}
	done = append(done, durable...)
	if len(done) != 3 {
		t.Fatalf("tick committed %v, want partitions 0, 1 and 2", done)
	}
	if got := snapshots() - before; got != 1 {
		t.Fatalf("%d table commits, want 1", got)
	}
	tb, err := p.Lake.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := lake.StateOf(tb)
	if err != nil {
		t.Fatal(err)
	}
	for part := range 3 {
		if got := st.Offsets.Get(sinktest.Topic, part); got != 0 {
			t.Fatalf("table offset of partition %d is %d, want 0", part, got)
		}
	}
}
