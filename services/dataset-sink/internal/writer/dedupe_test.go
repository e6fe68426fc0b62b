package writer_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestDedupeByEventID feeds duplicate event_ids (same partition, later offsets)
// within one open file, across published files and across a restart, and checks
// each event is written once and each duplicate counted.
func TestDedupeByEventID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := sinktest.NewClock()
	off := map[int]int64{}
	feed := func(p *sinktest.Parts, partition int, ids ...int) {
		t.Helper()
		for _, id := range ids {
			ev := sinktest.Event(id, "k1:s", clock.Now())
			row := table.RowFromEvent(&ev)
			if _, err := p.Writer.Append(ctx, writer.Record{Partition: partition, Offset: off[partition], Row: &row}); err != nil {
				t.Fatal(err)
			}
			off[partition]++
		}
	}
	p := sinktest.NewParts(t, dir, clock, 5)
	feed(p, 0, 0, 1, 2, 1, 3) // within a file: 1 again at offset 3 (file 0-4 published)
	feed(p, 0, 4, 2, 5, 6, 7) // across files: 2 is in file 0-4 (file 5-9 published)
	feed(p, 0, 8, 8)          // within the open file, not yet published
	feed(p, 1, 1, 2)          // another partition: not a duplicate by design
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Writer.Stats(); st.DuplicatesDropped != 3 || st.RowsWritten != 11 {
		t.Fatalf("first run: %+v", st)
	}
	if got := testutil.ToFloat64(p.WriterMetrics.RowsDropped.WithLabelValues("duplicate_event")); got != 3 {
		t.Fatalf("duplicate metric %v", got)
	}

	// Restart: the window is rebuilt from the files' event_id column.
	p2 := sinktest.NewParts(t, dir, clock, 5)
	feed(p2, 0, 0, 8, 9, 9, 3) // 0, 8, 3 from files, 9 within the new open file
	feed(p2, 1, 2, 3)
	if _, err := p2.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p2.Writer.Stats(); st.DuplicatesDropped != 5 || st.RowsWritten != 2 {
		t.Fatalf("after restart: %+v", st)
	}
	m, err := p2.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perPartition := map[int]map[string]int{0: {}, 1: {}}
	for _, r := range sinktest.AllRows(t, p2.Lake, m) {
		perPartition[int(r.KafkaPartition)][r.EventID]++
	}
	for part, ids := range perPartition {
		for id, n := range ids {
			if n != 1 {
				t.Errorf("partition %d: %s written %d times", part, id, n)
			}
		}
	}
	if len(perPartition[0]) != 10 || len(perPartition[1]) != 3 {
		t.Fatalf("distinct ids: p0 %d p1 %d", len(perPartition[0]), len(perPartition[1]))
	}
}

// TestDedupeWindowBound: with a window of 4 ids, a restart seeds the window from
// the partition's rows of the last 4 offsets in the table; a duplicate of an id
// older than the window is not caught, as documented.
func TestDedupeWindowBound(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := sinktest.NewClock()
	p := sinktest.NewPartsWindow(t, dir, clock, 3, 4)
	for i := range 9 { // files 0-2, 3-5, 6-8
		ev := sinktest.Event(i, "k1:s", clock.Now())
		row := table.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: int64(i), Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := writer.WaitIdle(p.Writer); err != nil { // the three files' commits run in the background
		t.Fatal(err)
	}
	p2 := sinktest.NewPartsWindow(t, dir, clock, 3, 4)
	dup := func(id int, off int64) {
		ev := sinktest.Event(id, "k1:s", clock.Now())
		row := table.RowFromEvent(&ev)
		if _, err := p2.Writer.Append(ctx, writer.Record{Partition: 0, Offset: off, Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
	dup(5, 9) // seeds the window (ids of offsets 5-8), then caught
	if n := writer.WindowLen(p2.Writer, 0); n != 4 {
		t.Fatalf("seeded window holds %d ids", n)
	}
	var held []string
	for i := range 9 {
		if writer.WindowHas(p2.Writer, 0, fmt.Sprintf("ev-%06d", i)) {
			held = append(held, fmt.Sprint(i))
		}
	}
	sort.Strings(held)
	if fmt.Sprint(held) != "[5 6 7 8]" {
		t.Fatalf("window holds %v, want the 4 newest ids", held)
	}
	dup(4, 10) // older than the window: not caught
	if st := p2.Writer.Stats(); st.DuplicatesDropped != 1 {
		t.Fatalf("duplicates dropped %d, want 1 (ev 5 only)", st.DuplicatesDropped)
	}
}
