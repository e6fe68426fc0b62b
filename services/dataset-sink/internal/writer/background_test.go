package writer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/consentflow/consentflow/pkg/schema"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// Tests of the background commit (docs/design/sink-background-commit.md). A
// commit hook holds the committer at "files-written" (data files written, the
// catalog commit not yet made) until the test releases it. The waits below
// with a deadline only turn a hang (the behaviour under test missing) into a
// failure; they measure nothing.

const guard = 30 * time.Second

// held is a commit hook that stops the first commit at "files-written" until
// release; later commits pass.
type held struct {
	reached chan struct{} // closed when the first commit is held
	release chan struct{}
	once    sync.Once
	first   sync.Once
}

func newHeld(t *testing.T) *held {
	h := &held{reached: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(h.let) // a failed test must not leave the committer blocked
	return h
}

func (h *held) hook(stage string) {
	if stage != "files-written" {
		return
	}
	h.first.Do(func() {
		close(h.reached)
		<-h.release
	})
}

func (h *held) let() { h.once.Do(func() { close(h.release) }) }

func (h *held) waitReached(t *testing.T) {
	t.Helper()
	select {
	case <-h.reached:
	case <-time.After(guard):
		t.Fatal("no commit reached the catalog commit")
	}
}

func appendRows(t *testing.T, w *writer.Writer, clock *sinktest.Clock, partition int, from, to int64) {
	t.Helper()
	for o := from; o <= to; o++ {
		if _, err := w.Append(context.Background(), writer.Record{Partition: partition, Offset: o, Row: sinktest.Row(int(o), "k1:s", clock.Now())}); err != nil {
			t.Fatal(err)
		}
	}
}

// tableOffset is the partition's offset in the table's current snapshot (-1:
// none), read from the catalog.
func tableOffset(t *testing.T, lk *lake.Lake, partition int) int64 {
	t.Helper()
	tb, err := lk.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, err := lake.StateOf(tb)
	if err != nil {
		t.Fatal(err)
	}
	return st.Offsets.Get(sinktest.Topic, partition)
}

func offsetsOnce(t *testing.T, lk *lake.Lake, partition int, last int64) {
	t.Helper()
	seen := map[int64]int{}
	for _, r := range sinktest.Rows(t, lk, 0) {
		if int(r.KafkaPartition) == partition {
			seen[r.KafkaOffset]++
		}
	}
	for o := int64(0); o <= last; o++ {
		if seen[o] != 1 {
			t.Errorf("offset %d of partition %d is in the table %d times", o, partition, seen[o])
		}
	}
	if len(seen) != int(last+1) {
		t.Errorf("partition %d: %d offsets in the table, want %d", partition, len(seen), last+1)
	}
}

// TestDurableInOrderOnlyAfterTheCatalogCommit: while a commit is held before
// its catalog commit, Append goes on (the next files fill) and nothing is made
// durable; every range handed to Durable is, at that moment, in the table
// (read back from the catalog), and the generations are acknowledged in order.
func TestDurableInOrderOnlyAfterTheCatalogCommit(t *testing.T) {
	clock := sinktest.NewClock()
	var mu sync.Mutex
	var durable []writer.Done
	var p *sinktest.Parts
	p = sinktest.NewPartsWith(t, t.TempDir(), clock, writer.Options{Topic: sinktest.Topic, RotateRows: 5,
		RotateBytes: 64 << 20, RotateInterval: time.Hour, DedupeWindow: 1000,
		Durable: func(d []writer.Done) {
			mu.Lock()
			defer mu.Unlock()
			for _, x := range d {
				if got := tableOffset(t, p.Lake, x.Partition); got < x.Last {
					t.Errorf("acknowledged %d:%d with the table at offset %d", x.Partition, x.Last, got)
				}
			}
			durable = append(durable, d...)
		}})
	h := newHeld(t)
	writer.SetCommitHook(p.Writer, h.hook)

	appended := make(chan struct{})
	go func() {
		defer close(appended)
		appendRows(t, p.Writer, clock, 0, 0, 4) // due: the first generation, held
		appendRows(t, p.Writer, clock, 0, 5, 9) // due while it is in flight: stays open
	}()
	h.waitReached(t)
	select {
	case <-appended:
	case <-time.After(guard):
		t.Fatal("Append waited for the commit in flight (the commit runs inline)")
	}
	mu.Lock()
	if len(durable) != 0 {
		t.Fatalf("acknowledged %v before the catalog commit", durable)
	}
	mu.Unlock()
	if got := tableOffset(t, p.Lake, 0); got != -1 {
		t.Fatalf("table at offset %d while the commit is held", got)
	}
	h.let()
	if err := writer.WaitIdle(p.Writer); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []writer.Done{{Partition: 0, Last: 4}, {Partition: 0, Last: 9}}
	if len(durable) != 2 || durable[0] != want[0] || durable[1] != want[1] {
		t.Fatalf("acknowledged %v, want %v", durable, want)
	}
	offsetsOnce(t, p.Lake, 0, 9)
}

// TestBothGenerationsStayWithinRotateBytes: with a generation of ten rows on
// three partitions in flight (RotateBytes is two such generations' worth, each
// ten rows and a piece per partition: rotation at half), Append takes ten more
// and then waits; the buffered bytes stay within RotateBytes; once the commit
// lands everything follows, each offset once.
func TestBothGenerationsStayWithinRotateBytes(t *testing.T) {
	clock := sinktest.NewClock()
	row := sinktest.Row(0, "k1:s", clock.Now())
	limit := 2 * (3*writer.PieceBytes + 10*writer.RowBytes(row))
	p := sinktest.NewPartsWith(t, t.TempDir(), clock, writer.Options{Topic: sinktest.Topic, RotateRows: 1000,
		RotateBytes: limit, RotateInterval: time.Hour, DedupeWindow: 1000})
	h := newHeld(t)
	writer.SetCommitHook(p.Writer, h.hook)

	var mu sync.Mutex
	appended := int64(-1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for o := int64(0); o < 30; o++ {
			appendRows(t, p.Writer, clock, int(o%3), o/3, o/3)
			mu.Lock()
			appended = o
			mu.Unlock()
		}
	}()
	h.waitReached(t)
	for deadline := time.Now().Add(guard); !writer.Waiting(p.Writer); {
		if time.Now().After(deadline) {
			t.Fatal("Append never waited for the commit in flight")
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	got := appended
	mu.Unlock()
	if got != 19 {
		t.Fatalf("Append waits after row %d, want 19 (ten held, ten open)", got)
	}
	if b := writer.Buffered(p.Writer); b > limit {
		t.Fatalf("buffered %d bytes, RotateBytes %d", b, limit)
	}
	h.let()
	<-done
	if _, err := p.Writer.CloseAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for part := range 3 {
		offsetsOnce(t, p.Lake, part, 9)
	}
	if b := testutil.ToFloat64(p.WriterMetrics.AppendBlocked); b <= 0 {
		t.Fatalf("append blocked seconds %v", b)
	}
}

// TestRedeliveryIntoTheGenerationInFlight: offsets redelivered while their
// generation is being committed are dropped as already written (not buffered
// again), and are in the table once after the commit.
func TestRedeliveryIntoTheGenerationInFlight(t *testing.T) {
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 5)
	h := newHeld(t)
	writer.SetCommitHook(p.Writer, h.hook)
	appendRows(t, p.Writer, clock, 0, 0, 4) // the generation in flight
	h.waitReached(t)
	appendRows(t, p.Writer, clock, 0, 2, 4) // the loop went back after a retry
	if n := writer.OpenRows(p.Writer); n != 0 {
		t.Fatalf("redelivered offsets buffered again: %d bytes open", n)
	}
	if got := testutil.ToFloat64(p.WriterMetrics.RowsDropped.WithLabelValues("already_written")); got != 3 {
		t.Fatalf("already_written %v, want 3", got)
	}
	appendRows(t, p.Writer, clock, 0, 5, 6)
	h.let()
	if _, err := p.Writer.CloseAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	offsetsOnce(t, p.Lake, 0, 6)
}

// TestFailedCommitAcknowledgesNothing: a table commit that fails (the catalog
// database goes away after the data files are written) makes nothing durable,
// and its error stops the writer: the next Append and CloseAll return it.
func TestFailedCommitAcknowledgesNothing(t *testing.T) {
	clock := sinktest.NewClock()
	var mu sync.Mutex
	var durable []writer.Done
	dir := t.TempDir()
	p := sinktest.NewPartsWith(t, dir, clock, writer.Options{Topic: sinktest.Topic, RotateRows: 5,
		RotateBytes: 64 << 20, RotateInterval: time.Hour, DedupeWindow: 1000,
		Durable: func(d []writer.Done) { mu.Lock(); durable = append(durable, d...); mu.Unlock() }})
	writer.SetCommitHook(p.Writer, func(stage string) {
		if stage == "files-written" {
			p.Lake.Close() // the catalog commit fails
		}
	})
	var done []writer.Done
	for o := int64(0); o <= 4; o++ {
		d, err := p.Writer.Append(context.Background(), writer.Record{Partition: 0, Offset: o, Row: sinktest.Row(int(o), "k1:s", clock.Now())})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, d...)
	}
	if err := writer.WaitIdle(p.Writer); err == nil {
		t.Fatal("the commit did not fail")
	}
	d, err := p.Writer.Append(context.Background(), writer.Record{Partition: 0, Offset: 5, Row: sinktest.Row(5, "k1:s", clock.Now())})
	if err == nil {
		t.Fatal("Append after a failed commit succeeded")
	}
	done = append(done, d...)
	d, err = p.Writer.CloseAll(context.Background())
	if err == nil {
		t.Fatal("CloseAll after a failed commit succeeded")
	}
	done = append(done, d...)
	mu.Lock()
	defer mu.Unlock()
	if len(durable) != 0 || len(done) != 0 {
		t.Fatalf("acknowledged %v %v after a failed commit", durable, done)
	}
	restarted := sinktest.NewParts(t, dir, clock, 5)
	if got := tableOffset(t, restarted.Lake, 0); got != -1 {
		t.Fatalf("table at offset %d after the failed commit", got)
	}
}

// TestAbandonMidCommitAcksNothing: a kill while a commit is in flight makes
// nothing durable, even if the commit then lands; a new writer resumes from
// the table.
func TestAbandonMidCommitAcksNothing(t *testing.T) {
	clock := sinktest.NewClock()
	dir := t.TempDir()
	var mu sync.Mutex
	var durable []writer.Done
	p := sinktest.NewPartsWith(t, dir, clock, writer.Options{Topic: sinktest.Topic, RotateRows: 5,
		RotateBytes: 64 << 20, RotateInterval: time.Hour, DedupeWindow: 1000,
		Durable: func(d []writer.Done) { mu.Lock(); durable = append(durable, d...); mu.Unlock() }})
	h := newHeld(t)
	writer.SetCommitHook(p.Writer, h.hook)
	appendRows(t, p.Writer, clock, 0, 0, 4)
	h.waitReached(t)
	appendRows(t, p.Writer, clock, 0, 5, 7)
	p.Writer.Abandon()
	h.let()
	writer.WaitIdle(p.Writer) //nolint:errcheck // abandoned: the commit's outcome is the table's business
	mu.Lock()
	if len(durable) != 0 {
		t.Fatalf("acknowledged %v after the kill", durable)
	}
	mu.Unlock()
	restarted := sinktest.NewParts(t, dir, clock, 5)
	resume := restarted.Writer.Resume()[0]
	if resume != 4 { // the held commit landed after the kill; 5-7 were lost with the open file
		t.Fatalf("resume at %d, want 4", resume)
	}
	appendRows(t, restarted.Writer, clock, 0, 0, 9) // redelivered from the group's commit (none)
	if _, err := restarted.Writer.CloseAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	offsetsOnce(t, restarted.Lake, 0, 9)
}

// TestErasureWhileACommitIsInFlight: an erasure recorded while a generation is
// held past its row filter covers a row of that generation and a row of the
// next one: the next one's row is never written, the held one's lands and the
// applier's copy-on-write commit removes it; the other subject's rows all stay.
func TestErasureWhileACommitIsInFlight(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 5)
	h := newHeld(t)
	writer.SetCommitHook(p.Writer, h.hook)
	subject := func(o int64) string { // offsets 2 and 7 are alice's
		if o == 2 || o == 7 {
			return "k1:alice"
		}
		return "k1:bob"
	}
	appendAs := func(from, to int64) {
		t.Helper()
		for o := from; o <= to; o++ {
			if _, err := p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: o, Row: sinktest.Row(int(o), subject(o), clock.Now())}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendAs(0, 4) // the generation in flight: alice at 2
	h.waitReached(t)
	if _, err := p.Ledger.Insert(ctx, "dataset.erasures", 0, 0, clock.Now(),
		schema.Erasure{Pseudonyms: []string{"k1:alice"}, Purpose: "ai_training", ConsentVersion: "0:1", Scope: schema.ScopeSubject}); err != nil {
		t.Fatal(err)
	}
	if err := p.Ledger.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	appendAs(5, 9) // alice at 7, after the erasure
	h.let()
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	before := map[int64]string{}
	for _, r := range sinktest.Rows(t, p.Lake, 0) {
		before[r.KafkaOffset] = r.Subject
	}
	if before[7] != "" || before[2] != "k1:alice" { // 7 never written; 2 had passed the filter
		t.Fatalf("before the apply: offset 2 %q, offset 7 %q", before[2], before[7])
	}
	if got := testutil.ToFloat64(p.WriterMetrics.RowsDropped.WithLabelValues("erased")); got != 1 {
		t.Fatalf("erased at Append %v, want 1 (offset 7)", got)
	}
	if _, err := p.Applier.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	for _, r := range sinktest.Rows(t, p.Lake, 0) {
		seen[r.KafkaOffset] = r.Subject
	}
	for o := int64(0); o <= 9; o++ {
		want := subject(o)
		if want == "k1:alice" {
			want = ""
		}
		if seen[o] != want {
			t.Errorf("offset %d: subject %q in the table, want %q", o, seen[o], want)
		}
	}
}
