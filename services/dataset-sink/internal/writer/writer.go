// Package writer turns the curated stream into commits of the dataset's Iceberg
// table, exactly once: every commit carries, in its snapshot summary, the Kafka
// offsets it covers and the offset each partition has reached, and a commit is
// redone on the reloaded table when another writer got in first — so rows
// another sink instance committed meanwhile are dropped, never written twice.
package writer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// Options configure a Writer.
type Options struct {
	Topic string
	// RotateRows and RotateInterval bound an open file: offsets, age of its
	// first row. RotateBytes bounds the estimated in-memory bytes of every
	// buffered row — the generation being committed and the open files filling
	// behind it together: when the open rows reach RotateBytes/2, all open files
	// are committed (one commit), and while a commit is in flight Append waits
	// once the open rows reach RotateBytes/2, so the buffer stays bounded however
	// many partitions the sink holds.
	RotateRows     int
	RotateBytes    int64
	RotateInterval time.Duration
	// DedupeWindow is how many recent event_ids per partition are remembered to
	// drop duplicates (0 disables the event_id dedupe; offsets still dedupe).
	DedupeWindow int
	// Keys, when set, are the pseudonym key ids the anonymizer's keyring holds:
	// a row under another key stops the stage (the configuration lacks a key
	// rows use). Retiring keys' rows are dropped.
	Keys, Retiring []string
	// Durable, when set, is called with the ranges a commit made durable,
	// generation by generation in commit order, only after the table commit
	// (under the writer's mutex: it must not call the writer). When nil, those
	// ranges are returned by the next Append, Tick or CloseAll.
	Durable func([]Done)
}

// Record is one consumed Kafka record. Row is nil when the value could not be
// decoded; the record was then written to the dead-letter topic before Append,
// and its offset still belongs to the open file's range (so it is committed
// with it).
type Record struct {
	Partition int
	Offset    int64
	Row       *tbl.Row
}

// Done tells the consumer that every offset of Partition up to Last is durable (in
// the table, or not to be written) and may be committed.
type Done struct {
	Partition int
	Last      int64
}

// ErrUnknownKey is returned for a row pseudonymized under a key the sink's
// configuration does not list.
var ErrUnknownKey = errors.New("row uses a pseudonym key that PSEUDONYM_KEY_IDS does not list")

// Writer buffers the records of each Kafka partition in an open file (rows in
// memory) and commits due files to the table: one Iceberg append per commit,
// all due files together. A commit runs in the background: the due files are
// detached into a generation that one committer goroutine commits while Append
// fills new open files. At most one generation is in flight; files that become
// due meanwhile stay open and are detached when it finishes, so generations
// commit (and their ranges become durable) in offset order. A failed commit
// makes nothing durable and its error is returned by the next Append, Tick or
// CloseAll: the stage stops, the table is the log. It resumes from the table: the offsets in the current
// snapshot's summary are durable, and records at or below them are skipped.
//
// On top of that, the writer drops a row whose event_id it has already accepted
// on the same partition, as long as that id is among the last DedupeWindow
// distinct ids seen there (rows in the table, read back when the writer first
// sees the partition, and rows buffered). Not caught: a duplicate arriving more
// than DedupeWindow offsets after its original, or on another partition.
type Writer struct {
	lake   *lake.Lake
	ledger *ledger.Ledger
	opts   Options
	now    func() time.Time
	m      *Metrics
	log    *zap.Logger
	schema *arrow.Schema

	mu       sync.Mutex
	cond     *sync.Cond // on mu: a generation finished (or the writer was abandoned)
	open     map[int]*openFile
	buffered int64         // estimated bytes of every buffered row: open files and the generation in flight
	openRows int64         // estimated bytes of the rows of the open files
	durable  map[int]int64 // from the table's state, refreshed at every commit
	windows  map[int]*idWindow
	lastSeen map[int]int64 // highest offset appended per partition (-1: none yet)
	chunks   chunkPool     // pieces of committed files' row buffers, for reuse
	stats    Stats

	inflight     *generation   // the generation being committed, nil when none
	inflightLast map[int]int64 // last offset per partition of the generation in flight
	err          error         // a failed commit: the writer stops
	abandoned    bool
	waiting      int                // Appends and Ticks waiting for room (tests)
	pending      []Done             // durable ranges not yet returned (Options.Durable unset)
	hook         func(stage string) // test seam: called by the committer at "files-written" and "committed"
	bg           context.Context    // the committer's context: not cancelled with a batch
}

// generation is a set of detached open files committed together.
type generation struct {
	files []*openFile
	bytes int64
	done  chan struct{} // closed when the generation is finished (committed or failed)
}

// errAbandoned is returned by a writer used after Abandon.
var errAbandoned = errors.New("writer abandoned")

type openFile struct {
	partition   int
	first, last int64
	opened      time.Time
	rows        rowBuf
	bytes       int64
}

// New returns a writer that resumes after what the table holds.
func New(ctx context.Context, lk *lake.Lake, l *ledger.Ledger, opts Options, now func() time.Time, m *Metrics, log *zap.Logger) (*Writer, error) {
	w := &Writer{lake: lk, ledger: l, opts: opts, now: now, m: m, log: log,
		open: map[int]*openFile{}, durable: map[int]int64{}, windows: map[int]*idWindow{}, lastSeen: map[int]int64{},
		inflightLast: map[int]int64{}, bg: context.WithoutCancel(ctx)}
	w.cond = sync.NewCond(&w.mu)
	t, err := lk.Load(ctx)
	if err != nil {
		return nil, err
	}
	if w.schema, err = table.SchemaToArrowSchema(t.Schema(), nil, true, false); err != nil {
		return nil, fmt.Errorf("arrow schema of %s: %w", lk.Name(), err)
	}
	st, err := lake.StateOf(t)
	if err != nil {
		return nil, err
	}
	w.setDurable(st)
	return w, nil
}

func (w *Writer) setDurable(st lake.State) {
	for p, o := range st.Offsets[w.opts.Topic] {
		if cur, ok := w.durable[p]; !ok || o > cur {
			w.durable[p] = o
		}
	}
}

// Resume returns, per partition, the highest offset the table holds.
func (w *Writer) Resume() map[int]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int]int64, len(w.durable))
	for k, v := range w.durable {
		out[k] = v
	}
	return out
}

// Written reports whether offset of partition is already in the table (a
// redelivery: the consumer skips decoding it).
func (w *Writer) Written(partition int, offset int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.durable[partition]
	return ok && offset <= d
}

// Drop reasons (label of dataset_sink_rows_dropped_total).
const (
	dropAlreadyWritten = "already_written" // offset already in the table (redelivery)
	dropDeadLetter     = "dead_letter"     // undecodable, sent to the DLQ
	dropDuplicateEvent = "duplicate_event" // event_id already accepted on the partition
	dropErased         = "erased"          // covered by the erasure ledger
	dropRetiredKey     = "retired_key"     // pseudonymized under a key being retired
	dropCommitted      = "committed_by_another_writer"
)

// KeyOf returns the key id of a pseudonym ("k1" of "k1:abc"), or "".
func KeyOf(pseudonym string) string {
	k, _, ok := strings.Cut(pseudonym, ":")
	if !ok {
		return ""
	}
	return k
}

// RowKeys are the key ids a row's pseudonyms use.
func RowKeys(r *tbl.Row) []string {
	var buf [3]string
	return slices.Clone(rowKeys(r, &buf))
}

// rowKeys are RowKeys in buf (the write path asks twice per row: no allocation).
func rowKeys(r *tbl.Row, buf *[3]string) []string {
	buf[0], buf[1] = KeyOf(r.Subject), KeyOf(r.Tenant)
	if r.Session != "" {
		buf[2] = KeyOf(r.Session)
		return buf[:3]
	}
	return buf[:2]
}

// dropReason says why rec is not written, or "" to write it.
func (w *Writer) dropReason(rec Record, h idHash) (string, error) {
	if rec.Row == nil {
		return dropDeadLetter, nil
	}
	var buf [3]string
	for _, k := range rowKeys(rec.Row, &buf) {
		if slices.Contains(w.opts.Retiring, k) {
			return dropRetiredKey, nil
		}
		if len(w.opts.Keys) > 0 && !slices.Contains(w.opts.Keys, k) {
			return "", fmt.Errorf("%w: %q (listed: %s) at %d:%d", ErrUnknownKey, k, strings.Join(w.opts.Keys, ","), rec.Partition, rec.Offset)
		}
	}
	if win := w.windows[rec.Partition]; win != nil && win.has(h) {
		return dropDuplicateEvent, nil
	}
	if w.ledger.Covered(rec.Row) {
		return dropErased, nil
	}
	return "", nil
}

// Append adds a record. It returns the ranges that became durable: a record
// already in the table is durable at once, and (without Options.Durable) those
// of the commits finished since the last call. Files that became due are
// handed to the committer; when a commit is in flight and the open rows take
// RotateBytes/2, Append waits for it.
func (w *Writer) Append(ctx context.Context, rec Record) ([]Done, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.waitRoom(); err != nil {
		return nil, err
	}
	w.stats.RecordsConsumed++
	if d, ok := w.durable[rec.Partition]; ok && rec.Offset <= d {
		w.m.RowsDropped.WithLabelValues(dropAlreadyWritten).Inc()
		return append(w.takePending(), Done{rec.Partition, rec.Offset}), nil
	}
	of := w.open[rec.Partition]
	if of != nil && rec.Offset <= of.last {
		// Redelivered into the open file (the reader went back to the last
		// commit): the file holds it already and makes it durable with the rest.
		w.m.RowsDropped.WithLabelValues(dropAlreadyWritten).Inc()
		return w.takePending(), nil
	}
	if l, ok := w.inflightLast[rec.Partition]; ok && rec.Offset <= l {
		// Redelivered into the generation in flight: it becomes durable with it.
		w.m.RowsDropped.WithLabelValues(dropAlreadyWritten).Inc()
		return w.takePending(), nil
	}
	if err := w.seed(ctx, rec.Partition, rec.Offset); err != nil {
		return nil, err
	}
	w.lastSeen[rec.Partition] = rec.Offset
	var h idHash
	if rec.Row != nil && w.opts.DedupeWindow > 0 {
		h = hashIDString(rec.Row.EventID)
	}
	reason, err := w.dropReason(rec, h)
	if err != nil {
		return nil, err
	}
	if of == nil {
		of = &openFile{partition: rec.Partition, first: rec.Offset, opened: w.now()}
		w.open[rec.Partition] = of
	}
	of.last = rec.Offset
	if reason != "" {
		w.m.RowsDropped.WithLabelValues(reason).Inc()
		w.stats.RowsDropped++
		if reason == dropDuplicateEvent {
			w.stats.DuplicatesDropped++
		}
	} else {
		if w.opts.DedupeWindow > 0 {
			win := w.windows[rec.Partition]
			if win == nil {
				win = newIDWindow(w.opts.DedupeWindow)
				w.windows[rec.Partition] = win
			}
			win.add(h)
		}
		newPiece := of.rows.len()%chunkRows == 0
		row := of.rows.add(rec.Row, &w.chunks)
		row.KafkaPartition, row.KafkaOffset = int32(rec.Partition), rec.Offset
		n := rowBytes(row)
		if newPiece {
			n += pieceBytes
		}
		of.bytes += n
		w.buffered += n
		w.openRows += n
	}
	if w.openRows >= w.half() {
		w.rotate(func(*openFile) bool { return true })
	} else if w.due(of, false) {
		w.rotate(func(of *openFile) bool { return w.due(of, false) })
	}
	return w.takePending(), nil
}

// half is the open rows' share of RotateBytes: the other half is the
// generation in flight's.
func (w *Writer) half() int64 { return max(w.opts.RotateBytes/2, 1) }

// waitRoom waits, under mu, while a generation is in flight and the open rows
// take their half of RotateBytes (backpressure), and returns the writer's error.
func (w *Writer) waitRoom() error {
	if w.inflight != nil && w.openRows >= w.half() && w.err == nil && !w.abandoned {
		start := time.Now()
		w.waiting++
		for w.inflight != nil && w.openRows >= w.half() && w.err == nil && !w.abandoned {
			w.cond.Wait()
		}
		w.waiting--
		w.m.AppendBlocked.Add(time.Since(start).Seconds())
	}
	if w.err != nil {
		return w.err
	}
	if w.abandoned {
		return errAbandoned
	}
	return nil
}

// SetCommitHook makes the committer call hook(stage) at "files-written" (an
// attempt's data files are written, before its catalog commit) and
// "committed" (after the catalog commit, before anything is made durable). A
// test seam: the writer's tests hold a commit with it, and the sink's live
// kill test sets it in its helper process only; the service never sets it.
// Set it before the first Append.
func (w *Writer) SetCommitHook(hook func(stage string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hook = hook
}

// SetDurable sets Options.Durable (the events stage owns the acknowledgements
// and is built after the writer); ranges made durable before and not yet
// returned are handed to it at once.
func (w *Writer) SetDurable(f func([]Done)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.opts.Durable = f
	if p := w.takePending(); len(p) > 0 && f != nil {
		f(p)
	}
}

func (w *Writer) takePending() []Done {
	p := w.pending
	w.pending = nil
	return p
}

// seed fills the dedupe window of a partition from the table the first time the
// writer sees the partition, and again when the partition comes back after
// another writer had it (its offsets jumped past what this writer saw).
func (w *Writer) seed(ctx context.Context, partition int, offset int64) error {
	if w.opts.DedupeWindow <= 0 {
		return nil
	}
	last, seen := w.lastSeen[partition]
	if seen && (offset == last+1 || w.open[partition] != nil) {
		return nil
	}
	t, err := w.lake.Load(ctx)
	if err != nil {
		return err
	}
	st, err := lake.StateOf(t)
	if err != nil {
		return err
	}
	w.setDurable(st)
	wm := st.Offsets.Get(w.opts.Topic, partition)
	win := newIDWindow(w.opts.DedupeWindow)
	w.windows[partition] = win
	if wm < 0 || t.CurrentSnapshot() == nil {
		return nil
	}
	ref := func(n string) iceberg.UnboundTerm { return iceberg.Reference(n) }
	filter := iceberg.NewAnd(iceberg.EqualTo(ref("kafka_partition"), int32(partition)),
		iceberg.GreaterThan(ref("kafka_offset"), wm-int64(w.opts.DedupeWindow)))
	type idAt struct {
		off int64
		id  string
	}
	var ids []idAt
	// The filter prunes data files by their kafka_partition/kafka_offset bounds;
	// rows are filtered here (iceberg-go v0.7.0 evaluates a row filter against
	// the wrong columns when the scan also selects fields).
	tasks, err := t.Scan(table.WithRowFilter(filter)).PlanFiles(ctx)
	if err != nil {
		return fmt.Errorf("seed dedupe window of partition %d: %w", partition, err)
	}
	from := wm - int64(w.opts.DedupeWindow)
	_, recs, err := t.Scan(table.WithSelectedFields("event_id", "kafka_partition", "kafka_offset")).ReadTasks(ctx, tasks)
	if err != nil {
		return fmt.Errorf("seed dedupe window of partition %d: %w", partition, err)
	}
	for rec, err := range recs {
		if err != nil {
			return fmt.Errorf("seed dedupe window of partition %d: %w", partition, err)
		}
		c := tbl.ColsOf(rec)
		id, part, off := c.String("event_id"), c.Int64("kafka_partition"), c.Int64("kafka_offset")
		for i := range int(rec.NumRows()) {
			if part(i) == int64(partition) && off(i) > from {
				ids = append(ids, idAt{off(i), id(i)})
			}
		}
		rec.Release()
	}
	slices.SortFunc(ids, func(a, b idAt) int { return int(a.off - b.off) })
	for _, x := range ids {
		win.add(hashIDString(x.id))
	}
	w.m.DedupeIDs.Set(float64(w.windowIDs()))
	w.log.Debug("dedupe window seeded from the table", zap.Int("partition", partition), zap.Int("ids", len(ids)))
	return nil
}

func (w *Writer) due(of *openFile, timeOnly bool) bool {
	if w.now().Sub(of.opened) >= w.opts.RotateInterval {
		return true
	}
	if timeOnly {
		return false
	}
	return of.last-of.first+1 >= int64(w.opts.RotateRows)
}

// Tick commits, when a file is open longer than the rotation interval, every
// open file: one table commit per interval however many partitions the writer
// holds (their files, opened at other times, would each have made a commit of
// their own within the same interval: a commit rewrites the table's metadata,
// and at 6 partitions that was 6 commits per interval). The commit runs in the
// background (or after the generation in flight); Tick does not wait for it.
func (w *Writer) Tick(ctx context.Context) ([]Done, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.waitRoom(); err != nil {
		return nil, err
	}
	for _, of := range w.open {
		if w.due(of, true) {
			w.rotate(func(*openFile) bool { return true })
			break
		}
	}
	return w.takePending(), nil
}

// CloseAll commits every buffered row (drain, flush): it waits for the
// generation in flight, then commits every open file, and returns when both
// are in the table and durable.
func (w *Writer) CloseAll(ctx context.Context) ([]Done, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.inflight != nil {
		ch := w.inflight.done
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		w.mu.Lock()
		if ctx.Err() != nil {
			return w.takePending(), ctx.Err()
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	if w.abandoned {
		return nil, errAbandoned
	}
	g := w.detach(func(*openFile) bool { return true })
	if g == nil {
		return w.takePending(), nil
	}
	w.mu.Unlock()
	t, committed, err := w.commitGeneration(ctx, g)
	w.mu.Lock()
	w.finish(g, t, committed, err)
	if err != nil {
		return nil, err
	}
	return w.takePending(), nil
}

// Abandon drops every open file without committing it, as a crash would; a
// commit in flight may still land (as after a crash past the catalog commit)
// but makes nothing durable. The writer must not be used afterwards: open a
// new one, as a restart does.
func (w *Writer) Abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.abandoned = true
	clear(w.open)
	w.buffered -= w.openRows
	w.openRows = 0
	w.pending = nil
	w.cond.Broadcast()
}

// rotate hands the open files pred selects to the committer, unless a
// generation is in flight: they then stay open, and finish detaches what is
// due when it ends.
func (w *Writer) rotate(pred func(*openFile) bool) {
	if w.inflight != nil || w.err != nil || w.abandoned {
		return
	}
	g := w.detach(pred)
	if g == nil {
		return
	}
	go func() {
		t, committed, err := w.commitGeneration(w.bg, g)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.finish(g, t, committed, err)
	}()
}

// detach takes the open files pred selects out of the open set into the
// generation in flight.
func (w *Writer) detach(pred func(*openFile) bool) *generation {
	g := &generation{done: make(chan struct{})}
	for _, of := range w.open {
		if pred(of) {
			g.files = append(g.files, of)
		}
	}
	if len(g.files) == 0 {
		return nil
	}
	slices.SortFunc(g.files, func(a, b *openFile) int { return a.partition - b.partition })
	for _, of := range g.files {
		delete(w.open, of.partition)
		w.openRows -= of.bytes
		g.bytes += of.bytes
		w.inflightLast[of.partition] = of.last
	}
	w.inflight = g
	w.m.CommitInFlight.Set(1)
	return g
}

// finish ends the generation in flight, under mu: the table's state, stats and
// metrics of a commit, the rows' memory back to the pool, the ranges made
// durable delivered (none when the commit failed or the writer was abandoned),
// and the next due files detached.
func (w *Writer) finish(g *generation, t *table.Table, out commitOutcome, err error) {
	defer close(g.done)
	defer w.cond.Broadcast()
	w.inflight = nil
	clear(w.inflightLast)
	w.m.CommitInFlight.Set(0)
	w.buffered -= g.bytes
	var rows int64
	for _, of := range g.files {
		rows += int64(of.rows.len())
		of.rows.release(&w.chunks)
	}
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("commit of partitions' files to %s: %w", w.lake.Name(), err)
		}
		return
	}
	if t != nil {
		if st, err := lake.StateOf(t); err == nil {
			w.setDurable(st)
		}
	}
	for _, of := range g.files {
		w.durable[of.partition] = max(w.durable[of.partition], of.last)
		w.lastSeen[of.partition] = max(w.lastSeen[of.partition], of.last)
	}
	if out.rows > 0 {
		w.stats.RowsWritten += out.rows
		w.stats.FilesWritten += out.files
		w.stats.BytesWritten += out.bytes
		w.stats.Commits++
		w.m.RowsWritten.Add(float64(out.rows))
		w.m.FilesWritten.Add(float64(out.files))
		w.m.BytesWritten.Add(float64(out.bytes))
	}
	if dropped := rows - out.rows; dropped > 0 && out.wrote {
		w.m.RowsDropped.WithLabelValues(dropCommitted).Add(float64(dropped))
	}
	w.m.DedupeIDs.Set(float64(w.windowIDs()))
	if w.abandoned {
		return
	}
	done := make([]Done, 0, len(g.files))
	for _, of := range g.files {
		done = append(done, Done{of.partition, of.last})
	}
	if w.opts.Durable != nil {
		w.opts.Durable(done)
	} else {
		w.pending = append(w.pending, done...)
	}
	// What became due while this generation was in flight.
	switch {
	case w.openRows >= w.half():
		w.rotate(func(*openFile) bool { return true })
	case w.anyDue(true):
		w.rotate(func(*openFile) bool { return true })
	default:
		w.rotate(func(of *openFile) bool { return w.due(of, false) })
	}
}

func (w *Writer) anyDue(timeOnly bool) bool {
	for _, of := range w.open {
		if w.due(of, timeOnly) {
			return true
		}
	}
	return false
}

// written are the data files of one attempt, and what they hold.
type written struct {
	files []iceberg.DataFile
	sig   string // which rows: partitions, offsets kept, ledger view
}

// commit appends the rows of files in one Iceberg commit. Each attempt keeps
// only the rows the table does not hold yet (offset above the partition's
// offset in the current snapshot) and that the ledger does not cover (with a
// ledger view at least as new as the erasures the current snapshot is clean
// of), so concurrent writers never duplicate a row and an erasure applied
// meanwhile is never undone. Data files are written once per distinct row set:
// a retry on an unchanged row set commits the same files again.
//
// It runs without the writer's mutex: it reads only the generation's rows
// (the committer's until finish), the ledger and the lake; finish records the
// outcome. It returns the committed table and the rows it wrote.
func (w *Writer) commitGeneration(ctx context.Context, g *generation) (*table.Table, commitOutcome, error) {
	files := g.files
	start := time.Now()
	var last *written
	var abandoned []iceberg.DataFile
	var committedRows int64
	ranges := map[int][2]int64{}
	for _, of := range files {
		ranges[of.partition] = [2]int64{of.first, of.last}
	}
	t, err := w.lake.Commit(ctx, "append", func(ctx context.Context, a *lake.Attempt) (*table.Transaction, error) {
		st := a.State
		if !w.ledger.Watermarks().Covers(st.Erasures) {
			if err := w.ledger.Refresh(ctx); err != nil {
				return nil, err
			}
		}
		next := st.Clone()
		total := 0
		for _, of := range files {
			total += of.rows.len()
		}
		keep := make([]*tbl.Row, 0, total)
		var sig strings.Builder
		for _, of := range files {
			wm := st.Offsets.Get(w.opts.Topic, of.partition)
			if wm >= 0 && of.first > wm+1 {
				w.m.OffsetGaps.Inc()
				w.log.Warn("offsets missing from the table before this file (a restored table, or records deleted by retention)",
					zap.Int("partition", of.partition), zap.Int64("table_offset", wm), zap.Int64("first", of.first))
			}
			n := 0
			of.rows.each(func(r *tbl.Row) {
				if r.KafkaOffset <= wm || w.ledger.Covered(r) {
					return
				}
				keep = append(keep, r)
				var buf [3]string
				next.AddKeys(rowKeys(r, &buf)...)
				n++
			})
			next.Offsets.Raise(w.opts.Topic, of.partition, of.last)
			fmt.Fprintf(&sig, "%d:%d>%d;", of.partition, n, wm)
		}
		fmt.Fprintf(&sig, "ledger=%d", w.ledger.Len())
		if len(keep) == 0 {
			// Nothing new to write: another writer committed these offsets,
			// or every record was dropped. The snapshot's offsets stay as they
			// are; the records are durable as far as the consumer goes.
			return nil, nil
		}
		if last == nil || last.sig != sig.String() {
			if last != nil {
				abandoned = append(abandoned, last.files...)
			}
			dfs, err := w.write(ctx, a.Base, keep)
			if err != nil {
				return nil, err
			}
			last = &written{files: dfs, sig: sig.String()}
		}
		if w.hook != nil {
			w.hook("files-written")
		}
		committedRows = int64(len(keep))
		tx := a.Base.NewTransaction()
		props := a.Props(next, map[string]string{lake.KeyRange: lake.Ranges(w.opts.Topic, ranges)})
		if err := tx.AddDataFiles(ctx, last.files, props, table.WithoutDuplicateCheck()); err != nil {
			return nil, err
		}
		return tx, nil
	})
	if err != nil {
		if last != nil {
			abandoned = append(abandoned, last.files...)
		}
		w.remove(ctx, abandoned)
		return nil, commitOutcome{}, err
	}
	w.remove(ctx, abandoned)
	out := commitOutcome{rows: committedRows, wrote: last != nil}
	if last != nil && committedRows > 0 {
		out.files = int64(len(last.files))
		for _, df := range last.files {
			out.bytes += df.FileSizeBytes()
		}
	}
	w.m.CommitSeconds.Observe(time.Since(start).Seconds())
	if w.hook != nil {
		w.hook("committed")
	}
	return t, out, nil
}

// commitOutcome is what a commit wrote.
type commitOutcome struct {
	rows, files, bytes int64
	wrote              bool // data files were written (some attempt had rows to keep)
}

// write writes rows to Parquet data files of the table (not yet committed).
func (w *Writer) write(ctx context.Context, t *table.Table, rows []*tbl.Row) ([]iceberg.DataFile, error) {
	b, err := tbl.NewBuilder(w.schema)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	const batch = 4096
	seq := func(yield func(arrow.RecordBatch, error) bool) {
		for i := 0; i < len(rows); i += batch {
			b.AppendRows(rows[i:min(i+batch, len(rows))])
			if !yield(b.NewBatch(), nil) {
				return
			}
		}
	}
	var dfs []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, t, w.schema, seq, table.WithMaxWriteWorkers(1)) {
		if err != nil {
			w.remove(ctx, dfs)
			return nil, fmt.Errorf("write data files: %w", err)
		}
		dfs = append(dfs, df)
	}
	return dfs, nil
}

// remove deletes data files that no commit references (written by an attempt
// that was redone with other rows, or by a commit that failed).
func (w *Writer) remove(ctx context.Context, dfs []iceberg.DataFile) {
	if len(dfs) == 0 {
		return
	}
	t, err := w.lake.Load(ctx)
	if err != nil {
		return
	}
	fs, err := t.FS(ctx)
	if err != nil {
		return
	}
	for _, df := range dfs {
		if err := fs.Remove(df.FilePath()); err != nil {
			w.log.Warn("remove uncommitted data file (orphan cleanup will)", zap.String("path", df.FilePath()), zap.Error(err))
		}
	}
}

func (w *Writer) windowIDs() int {
	n := 0
	for _, win := range w.windows {
		n += win.len()
	}
	return n
}

// Stats are the writer's totals since start.
type Stats struct {
	// RecordsConsumed counts every record handed to the writer, redeliveries
	// included.
	RecordsConsumed int64
	RowsWritten     int64
	FilesWritten    int64
	BytesWritten    int64
	Commits         int64
	// RowsDropped counts records of new offsets not written (dead-lettered,
	// duplicate event_id, erased, retired key); DuplicatesDropped is the
	// duplicate part.
	RowsDropped       int64
	DuplicatesDropped int64
}

// Stats returns the writer's totals since start.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}
