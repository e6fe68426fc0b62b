package writer

import tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"

// WindowLen is how many event ids the dedupe window of partition holds.
func WindowLen(w *Writer, partition int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if win := w.windows[partition]; win != nil {
		return win.len()
	}
	return 0
}

// WindowHas reports whether the dedupe window of partition holds id.
func WindowHas(w *Writer, partition int, id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	win := w.windows[partition]
	return win != nil && win.has(hashIDString(id))
}

// Buffered is the estimated bytes of every buffered row (open files and the
// generation in flight).
func Buffered(w *Writer) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buffered
}

// SetCommitHook makes the committer call hook(stage) at "files-written" (the
// attempt's data files are written, before the catalog commit) and
// "committed" (after the catalog commit, before anything is made durable).
// Set it before the first Append.
func SetCommitHook(w *Writer, hook func(stage string)) { w.SetCommitHook(hook) }

// InFlight reports whether a generation is being committed.
func InFlight(w *Writer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inflight != nil
}

// WaitIdle waits until no commit is in flight (nor due after it) and returns
// the writer's error.
func WaitIdle(w *Writer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.inflight != nil {
		w.cond.Wait()
	}
	return w.err
}

// OpenRows is the estimated bytes of the rows of the open files (not the
// generation in flight).
func OpenRows(w *Writer) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.openRows
}

// Waiting reports whether an Append (or Tick) is waiting for the commit in
// flight to make room.
func Waiting(w *Writer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.waiting > 0
}

// RowBytes is what a buffered row counts towards RotateBytes besides its
// piece; PieceBytes is what a piece of an open file's buffer counts.
func RowBytes(r *tbl.Row) int64 { return rowBytes(r) }

const PieceBytes = pieceBytes
