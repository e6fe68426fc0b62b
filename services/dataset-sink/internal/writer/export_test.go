package writer

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

// Buffered is the estimated bytes of the rows of every open file.
func Buffered(w *Writer) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buffered
}
