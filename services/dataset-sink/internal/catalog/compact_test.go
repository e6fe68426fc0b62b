package catalog_test

import (
	"context"
	"testing"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestCompactionMergesSmallFiles: ten small appends of one day become one data
// file; the rows and the sink's state (Kafka offsets) are unchanged.
func TestCompactionMergesSmallFiles(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 3)
	for i := range 30 {
		ev := sinktest.Event(i, "k1:s", clock.Now())
		row := table.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: int64(i), Row: &row}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 2 {
			// Each file of 3 rows in the table before the next row: commits run
			// in the background, and a file due while one is in flight would grow.
			if _, err := p.Writer.CloseAll(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	files := func() int {
		tb, err := p.Lake.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := tb.Scan().PlanFiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(tasks)
	}
	if n := files(); n != 10 {
		t.Fatalf("%d data files before compaction, want 10", n)
	}
	res, err := p.Applier.Compact(ctx, 4, 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesBefore != 10 || res.FilesAfter != 1 || files() != 1 {
		t.Fatalf("compaction %+v, %d files after", res, files())
	}
	seen := map[int64]int{}
	for _, r := range sinktest.Rows(t, p.Lake, 0) {
		seen[r.KafkaOffset]++
	}
	for o := range int64(30) {
		if seen[o] != 1 {
			t.Fatalf("offset %d %d times after compaction", o, seen[o])
		}
	}
	tb, _ := p.Lake.Load(ctx)
	st, err := lake.StateOf(tb)
	if err != nil || st.Offsets.Get(sinktest.Topic, 0) != 29 {
		t.Fatalf("state after compaction: %+v %v", st, err)
	}
}
