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
	// first row. RotateBytes bounds the estimated in-memory bytes of the rows
	// of every open file together: when they reach it, all are committed (one
	// commit), so the buffer stays bounded however many partitions the sink holds.
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
// all due files together. It resumes from the table: the offsets in the current
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
	open     map[int]*openFile
	buffered int64         // estimated bytes of the rows of every open file
	durable  map[int]int64 // from the table's state, refreshed at every commit
	windows  map[int]*idWindow
	lastSeen map[int]int64 // highest offset appended per partition (-1: none yet)
	chunks   chunkPool     // pieces of committed files' row buffers, for reuse
	stats    Stats
}

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
		open: map[int]*openFile{}, durable: map[int]int64{}, windows: map[int]*idWindow{}, lastSeen: map[int]int64{}}
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
// already in the table is durable at once, and files that became due are
// committed.
func (w *Writer) Append(ctx context.Context, rec Record) ([]Done, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.RecordsConsumed++
	if d, ok := w.durable[rec.Partition]; ok && rec.Offset <= d {
		w.m.RowsDropped.WithLabelValues(dropAlreadyWritten).Inc()
		return []Done{{rec.Partition, rec.Offset}}, nil
	}
	of := w.open[rec.Partition]
	if of != nil && rec.Offset <= of.last {
		// Redelivered into the open file (the reader went back to the last
		// commit): the file holds it already and makes it durable with the rest.
		w.m.RowsDropped.WithLabelValues(dropAlreadyWritten).Inc()
		return nil, nil
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
		row := of.rows.add(rec.Row, &w.chunks)
		row.KafkaPartition, row.KafkaOffset = int32(rec.Partition), rec.Offset
		n := rowBytes(row)
		of.bytes += n
		w.buffered += n
	}
	if w.buffered >= w.opts.RotateBytes {
		return w.commitWhere(ctx, func(*openFile) bool { return true })
	}
	if !w.due(of, false) {
		return nil, nil
	}
	return w.commitWhere(ctx, func(of *openFile) bool { return w.due(of, false) })
}

func rowBytes(r *tbl.Row) int64 {
	n := 200 + len(r.EventID) + len(r.EventType) + len(r.Subject) + len(r.Tenant) + len(r.Session) + len(r.Text) +
		len(r.IPPrefix) + len(r.Jurisdiction) + len(r.Locale) + len(r.Region) + len(r.Source) + len(r.Purpose) +
		len(r.ConsentVersion) + len(r.PolicyVersion) + len(r.TenantConsentVersion)
	for _, p := range r.Properties {
		n += 32 + len(p.Key) + len(p.Value)
	}
	return int64(n)
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
// and at 6 partitions that was 6 commits per interval).
func (w *Writer) Tick(ctx context.Context) ([]Done, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, of := range w.open {
		if w.due(of, true) {
			return w.commitWhere(ctx, func(*openFile) bool { return true })
		}
	}
	return nil, nil
}

// CloseAll commits every open file (drain, flush).
func (w *Writer) CloseAll(ctx context.Context) ([]Done, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commitWhere(ctx, func(*openFile) bool { return true })
}

// Abandon drops every open file without committing it, as a crash would. The
// writer must not be used afterwards: open a new one, as a restart does.
func (w *Writer) Abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.open)
	w.buffered = 0
}

// commitWhere commits the open files pred selects, in one table commit.
func (w *Writer) commitWhere(ctx context.Context, pred func(*openFile) bool) ([]Done, error) {
	var files []*openFile
	for _, of := range w.open {
		if pred(of) {
			files = append(files, of)
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	slices.SortFunc(files, func(a, b *openFile) int { return a.partition - b.partition })
	if err := w.commit(ctx, files); err != nil {
		return nil, err
	}
	done := make([]Done, 0, len(files))
	for _, of := range files {
		delete(w.open, of.partition)
		w.buffered -= of.bytes
		done = append(done, Done{of.partition, of.last})
	}
	w.m.DedupeIDs.Set(float64(w.windowIDs()))
	return done, nil
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
func (w *Writer) commit(ctx context.Context, files []*openFile) error {
	start := w.now()
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
		return err
	}
	w.remove(ctx, abandoned)
	st, err := lake.StateOf(t)
	if err == nil {
		w.setDurable(st)
	}
	for _, of := range files {
		w.durable[of.partition] = max(w.durable[of.partition], of.last)
		w.lastSeen[of.partition] = max(w.lastSeen[of.partition], of.last)
	}
	if last != nil && committedRows > 0 {
		var bytes int64
		for _, df := range last.files {
			bytes += df.FileSizeBytes()
		}
		w.stats.RowsWritten += committedRows
		w.stats.FilesWritten += int64(len(last.files))
		w.stats.BytesWritten += bytes
		w.stats.Commits++
		w.m.RowsWritten.Add(float64(committedRows))
		w.m.FilesWritten.Add(float64(len(last.files)))
		w.m.BytesWritten.Add(float64(bytes))
	}
	var dropped int64
	for _, of := range files {
		dropped += int64(of.rows.len())
		of.rows.release(&w.chunks)
	}
	if dropped -= committedRows; dropped > 0 && last != nil {
		w.m.RowsDropped.WithLabelValues(dropCommitted).Add(float64(dropped))
	}
	w.m.CommitSeconds.Observe(w.now().Sub(start).Seconds())
	return nil
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
