// Package writer turns the curated stream into the dataset's Parquet files,
// exactly once: files are staged, fsynced and published atomically, and each
// published file tells the consumer which offsets became durable.
package writer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// Options configure a Writer.
type Options struct {
	Dataset        string
	Topic          string
	RotateRows     int
	RotateBytes    int64
	RotateInterval time.Duration
	RowGroupRows   int64
	// DedupeWindow is how many recent event_ids per partition are remembered to
	// drop duplicates (0 disables the event_id dedupe; offsets still dedupe).
	DedupeWindow int
}

// Record is one consumed Kafka record. Row is nil when the value could not be
// decoded; the record was then written to the dead-letter topic before Append,
// and its offset still belongs to the file's range (so it is committed with it).
type Record struct {
	Partition int
	Offset    int64
	Row       *table.Row
}

// Done tells the consumer that every offset of Partition up to Last is durable (in
// a published file, or not to be written) and may be committed.
type Done struct {
	Partition int
	Last      int64
}

// Writer turns a partitioned stream of records into Parquet files, one open file
// per partition, each holding a contiguous offset range of one day (dt, from
// received_at). Files are staged, fsynced and published atomically; Done values
// tell the caller which offsets it may commit afterwards. On start the published
// files are the log: records at or below the highest offset already in a file of
// their partition are skipped.
//
// On top of that, the writer drops a row whose event_id it has already accepted
// on the same partition, as long as that id is among the last DedupeWindow
// distinct ids accepted there (rows written to a published file, read back at
// start, or buffered in the open file). This catches the duplicates that the
// at-least-once upstream stages emit (same event, same key, hence same partition,
// at a later offset), within a file, across files and across restarts. Not
// caught: a duplicate arriving more than DedupeWindow accepted ids after its
// original, one on another partition (a changed key or partition count), and
// duplicates between concurrent writers of one dataset (one sink per dataset).
type Writer struct {
	store  storage.Storage
	opts   Options
	ledger *ledger.Ledger
	now    func() time.Time
	m      *Metrics
	log    *zap.Logger

	mu      sync.Mutex
	open    map[int]*openFile
	durable map[int]int64
	windows map[int]*idWindow
	stats   Stats
}

type openFile struct {
	partition   int
	first, last int64
	day         string
	opened      time.Time
	ledgerPos   int64
	buf         []table.Row
	pf          *table.File
}

const writeBatch = 1024

// New returns a writer that resumes after the files already in store.
func New(ctx context.Context, store storage.Storage, l *ledger.Ledger, opts Options, now func() time.Time, m *Metrics, log *zap.Logger) (*Writer, error) {
	w := &Writer{store: store, opts: opts, ledger: l, now: now, m: m, log: log, open: map[int]*openFile{}, durable: map[int]int64{}}
	files, err := table.List(ctx, store, opts.Dataset)
	if err != nil {
		return nil, err
	}
	if w.windows, err = seedWindows(ctx, store, opts.Dataset, opts.Topic, opts.DedupeWindow, files); err != nil {
		return nil, err
	}
	w.m.DedupeIDs.Set(float64(w.windowIDs()))
	for _, f := range files {
		if f.File.Topic != opts.Topic {
			continue
		}
		if prev, ok := w.durable[f.File.Partition]; !ok || f.File.Last > prev {
			w.durable[f.File.Partition] = f.File.Last
		}
	}
	return w, nil
}

// Resume returns, per partition, the highest offset already in a file.
func (w *Writer) Resume() map[int]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int]int64, len(w.durable))
	for k, v := range w.durable {
		out[k] = v
	}
	return out
}

// Written reports whether offset of partition is already in a published file (a
// redelivery: the consumer skips decoding it).
func (w *Writer) Written(partition int, offset int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.durable[partition]
	return ok && offset <= d
}

// Drop reasons (label of dataset_sink_rows_dropped_total).
const (
	dropAlreadyWritten = "already_written" // offset already in a file (redelivery)
	dropDeadLetter     = "dead_letter"     // undecodable, sent to the DLQ
	dropDuplicateEvent = "duplicate_event" // event_id already accepted on the partition
	dropErased         = "erased"          // covered by the erasure ledger
)

// dropReason says why rec is not written, or "" to write it.
func (w *Writer) dropReason(rec Record, h idHash) string {
	switch {
	case rec.Row == nil:
		return dropDeadLetter
	case w.windows[rec.Partition] != nil && w.windows[rec.Partition].has(h):
		return dropDuplicateEvent
	case w.ledger.Covered(rec.Row):
		return dropErased
	}
	return ""
}

// Append adds a record. It returns the ranges that became durable: a record already
// in a file is durable at once, and a file closed by rotation or a day change makes
// its range durable.
func (w *Writer) Append(ctx context.Context, rec Record) ([]Done, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.RecordsConsumed++
	if d, ok := w.durable[rec.Partition]; ok && rec.Offset <= d {
		w.m.RowsDropped.WithLabelValues(dropAlreadyWritten).Inc()
		return []Done{{rec.Partition, rec.Offset}}, nil
	}
	if of := w.open[rec.Partition]; of != nil && rec.Offset <= of.last {
		// Redelivered into the open file (the reader went back to the last
		// commit): the file holds it already and makes it durable with the rest.
		w.m.RowsDropped.WithLabelValues(dropAlreadyWritten).Inc()
		return nil, nil
	}
	var h idHash
	if rec.Row != nil && w.opts.DedupeWindow > 0 {
		h = hashIDString(rec.Row.EventID)
	}
	reason := w.dropReason(rec, h)
	var done []Done
	of := w.open[rec.Partition]
	if of != nil && reason == "" && of.day != "" && rec.Row.Day() != of.day {
		d, err := w.close(ctx, of)
		if err != nil {
			return nil, err
		}
		done, of = append(done, d), nil
	}
	if of == nil {
		of = &openFile{partition: rec.Partition, first: rec.Offset, opened: w.now(), ledgerPos: w.ledger.Position()}
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
		if of.day == "" {
			of.day = rec.Row.Day()
		}
		if w.opts.DedupeWindow > 0 {
			win := w.windows[rec.Partition]
			if win == nil {
				win = newIDWindow(w.opts.DedupeWindow)
				w.windows[rec.Partition] = win
			}
			win.add(h)
		}
		of.buf = append(of.buf, *rec.Row)
		if len(of.buf) >= writeBatch {
			if err := w.spill(ctx, of); err != nil {
				return nil, err
			}
		}
	}
	if w.due(of, false) {
		d, err := w.close(ctx, of)
		if err != nil {
			return nil, err
		}
		done = append(done, d)
	}
	return done, nil
}

func (w *Writer) due(of *openFile, timeOnly bool) bool {
	if w.now().Sub(of.opened) >= w.opts.RotateInterval {
		return true
	}
	if timeOnly {
		return false
	}
	if of.last-of.first+1 >= int64(w.opts.RotateRows) {
		return true
	}
	return of.pf != nil && of.pf.Size() >= w.opts.RotateBytes
}

// spill moves buffered rows into the Parquet writer, staging the file first.
func (w *Writer) spill(ctx context.Context, of *openFile) error {
	if len(of.buf) == 0 {
		return nil
	}
	if of.pf == nil {
		near := table.DataFile{Day: of.day, Topic: w.opts.Topic, Partition: of.partition, First: of.first, Last: of.first}
		staged, err := w.store.Stage(ctx, w.opts.Dataset+"/"+near.Key())
		if err != nil {
			return err
		}
		of.pf = table.NewFile(staged, w.opts.RowGroupRows)
	}
	if err := of.pf.Write(of.buf); err != nil {
		return err
	}
	of.buf = of.buf[:0]
	return nil
}

// close publishes the open file (if it holds rows) and reports its range durable.
func (w *Writer) close(ctx context.Context, of *openFile) (Done, error) {
	delete(w.open, of.partition)
	done := Done{of.partition, of.last}
	if err := w.spill(ctx, of); err != nil {
		w.abandon(of)
		return Done{}, err
	}
	if of.pf == nil { // every record of the range was dropped
		return done, nil
	}
	if err := of.pf.Finish(of.ledgerPos); err != nil {
		w.abandon(of)
		return Done{}, err
	}
	df := table.DataFile{Day: of.day, Topic: w.opts.Topic, Partition: of.partition, First: of.first, Last: of.last}
	st, err := of.pf.Staged.Stat()
	if err != nil {
		w.abandon(of)
		return Done{}, fmt.Errorf("stat staged file: %w", err)
	}
	err = w.store.Publish(ctx, of.pf.Staged, w.opts.Dataset+"/"+df.Key())
	if errors.Is(err, storage.ErrExists) {
		// Only possible if another writer published the same range; the data is
		// there, so the range is durable.
		w.log.Warn("data file already exists, keeping the published one", zap.String("key", df.Key()))
	} else if err != nil {
		return Done{}, err
	} else {
		w.stats.RowsWritten += of.pf.Rows()
		w.stats.FilesWritten++
		w.stats.BytesWritten += st.Size()
		w.m.RowsWritten.Add(float64(of.pf.Rows()))
		w.m.FilesWritten.Inc()
		w.m.BytesWritten.Add(float64(st.Size()))
		w.m.DedupeIDs.Set(float64(w.windowIDs()))
	}
	w.durable[of.partition] = of.last
	return done, nil
}

func (w *Writer) abandon(of *openFile) {
	if of.pf != nil {
		w.store.Discard(of.pf.Staged)
	}
}

// Tick closes files that are open longer than the rotation interval.
func (w *Writer) Tick(ctx context.Context) ([]Done, error) {
	return w.closeWhere(ctx, func(of *openFile) bool { return w.due(of, true) })
}

// CloseAll closes every open file (drain, flush).
func (w *Writer) CloseAll(ctx context.Context) ([]Done, error) {
	return w.closeWhere(ctx, func(*openFile) bool { return true })
}

func (w *Writer) closeWhere(ctx context.Context, pred func(*openFile) bool) ([]Done, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var done []Done
	var errs []error
	for _, of := range w.open {
		if !pred(of) {
			continue
		}
		d, err := w.close(ctx, of)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, d)
	}
	return done, errors.Join(errs...)
}

// Abandon drops every open file without publishing it, as a crash would. The
// writer must not be used afterwards (its dedupe windows still hold the ids of the
// abandoned rows): open a new one over the same storage, as a restart does.
func (w *Writer) Abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, of := range w.open {
		w.abandon(of)
		delete(w.open, p)
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
	// RowsDropped counts records of new offsets not written (dead-lettered,
	// duplicate event_id, erased); DuplicatesDropped is the duplicate part.
	RowsDropped       int64
	DuplicatesDropped int64
}

// Stats returns the writer's totals since start.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}
