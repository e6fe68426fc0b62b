package datasetsink

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkWriter measures rows/s and MB/s (Parquet bytes published) of the
// writer on local storage, rotation at 100k rows, event_id dedupe on (window of
// 1000 ids, see newParts).
func BenchmarkWriter(b *testing.B) {
	ctx := context.Background()
	clock := newClock()
	p := newParts(b, b.TempDir(), clock, 100_000)
	ev := event(0, "k1:subject-0000000000", clock.Now())
	ev.Text = "I could not log in with <EMAIL_ADDRESS> after the update; the page kept spinning."
	ev.Properties = map[string]string{"plan": "pro", "page": "/issues/123", "feature": "search"}
	rows := make([]Row, 1024)
	for i := range rows {
		ev.EventID = "ev-" + time.Duration(i).String()
		rows[i] = RowFromEvent(&ev)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		row := rows[i%len(rows)]
		row.EventID = "ev-" + strconv.Itoa(i) // distinct ids: none is dropped by the dedupe
		if _, err := p.writer.Append(ctx, Record{Partition: 0, Offset: int64(i), Row: &row}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := p.writer.CloseAll(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := p.writer.Stats()
	if st.RowsWritten != int64(b.N) {
		b.Fatalf("wrote %d rows of %d", st.RowsWritten, b.N)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(st.RowsWritten)/secs, "rows/s")
	b.ReportMetric(float64(st.BytesWritten)/secs/1e6, "MB/s")
}
