package datasetsink

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestIDWindowForgetsOldest(t *testing.T) {
	w := newIDWindow(3)
	for _, id := range []string{"a", "b", "c", "a", "d"} { // "a" again is a no-op
		w.add(hashIDString(id))
	}
	for id, want := range map[string]bool{"a": false, "b": true, "c": true, "d": true} {
		if got := w.has(hashIDString(id)); got != want {
			t.Errorf("%s: has %v, want %v", id, got, want)
		}
	}
	if w.len() != 3 {
		t.Fatalf("ring %d", w.len())
	}
}

// TestIDWindowMatchesExactWindow drives a small window through many evictions
// (with index collisions and wrap-around) against a plain model of "the last N".
func TestIDWindowMatchesExactWindow(t *testing.T) {
	const limit = 700
	w := newIDWindow(limit)
	var model []string
	inModel := func(id string) bool {
		for _, m := range model {
			if m == id {
				return true
			}
		}
		return false
	}
	for i := range 20_000 {
		id := fmt.Sprint((i * 7919) % 2_500) // revisits ids, in and out of the window
		if got, want := w.has(hashIDString(id)), inModel(id); got != want {
			t.Fatalf("step %d id %s: has %v, want %v", i, id, got, want)
		}
		if !inModel(id) {
			model = append(model, id)
			if len(model) > limit {
				model = model[1:]
			}
		}
		w.add(hashIDString(id))
	}
}

// TestDedupeByEventID feeds duplicate event_ids (same partition, later offsets)
// within one open file, across published files and across a restart, and checks
// each event is written once and each duplicate counted.
func TestDedupeByEventID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	off := map[int]int64{}
	feed := func(p *parts, partition int, ids ...int) {
		t.Helper()
		for _, id := range ids {
			ev := event(id, "k1:s", clock.Now())
			row := RowFromEvent(&ev)
			if _, err := p.writer.Append(ctx, Record{Partition: partition, Offset: off[partition], Row: &row}); err != nil {
				t.Fatal(err)
			}
			off[partition]++
		}
	}
	p := newParts(t, dir, clock, 5)
	feed(p, 0, 0, 1, 2, 1, 3) // within a file: 1 again at offset 3 (file 0-4 published)
	feed(p, 0, 4, 2, 5, 6, 7) // across files: 2 is in file 0-4 (file 5-9 published)
	feed(p, 0, 8, 8)          // within the open file, not yet published
	feed(p, 1, 1, 2)          // another partition: not a duplicate by design
	if _, err := p.writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.writer.Stats(); st.DuplicatesDropped != 3 || st.RowsWritten != 11 {
		t.Fatalf("first run: %+v", st)
	}
	if got := testutil.ToFloat64(p.m.rowsDropped.WithLabelValues(dropDuplicateEvent)); got != 3 {
		t.Fatalf("duplicate metric %v", got)
	}

	// Restart: the window is rebuilt from the files' event_id column.
	p2 := newParts(t, dir, clock, 5)
	feed(p2, 0, 0, 8, 9, 9, 3) // 0, 8, 3 from files, 9 within the new open file
	feed(p2, 1, 2, 3)
	if _, err := p2.writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p2.writer.Stats(); st.DuplicatesDropped != 5 || st.RowsWritten != 2 {
		t.Fatalf("after restart: %+v", st)
	}
	m, err := p2.catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perPartition := map[int]map[string]int{0: {}, 1: {}}
	for _, f := range m.Files {
		rows, err := readRows(ctx, p2.store, m.Dataset+"/"+f.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			perPartition[f.Partition][r.EventID]++
		}
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

// TestDedupeWindowBound: with a window of 4 ids, a restart seeds the newest files
// (at least 4 ids); an id older than the window is not caught, as documented.
func TestDedupeWindowBound(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock()
	p := newPartsWindow(t, dir, clock, 3, 4)
	for i := range 9 { // files 0-2, 3-5, 6-8
		ev := event(i, "k1:s", clock.Now())
		row := RowFromEvent(&ev)
		if _, err := p.writer.Append(ctx, Record{Partition: 0, Offset: int64(i), Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
	p2 := newPartsWindow(t, dir, clock, 3, 4)
	win := p2.writer.windows[0]
	if win == nil || win.len() != 4 {
		t.Fatalf("seeded window: %+v", win)
	}
	var held []string
	for i := range 9 {
		if win.has(hashIDString(fmt.Sprintf("ev-%06d", i))) {
			held = append(held, fmt.Sprint(i))
		}
	}
	sort.Strings(held)
	if fmt.Sprint(held) != "[5 6 7 8]" {
		t.Fatalf("window holds %v, want the 4 newest ids", held)
	}
}
