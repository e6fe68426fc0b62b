package writer_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// BenchmarkWriter measures rows/s and MB/s (Parquet bytes published) of the
// writer on local storage, rotation at 100k rows, event_id dedupe on (window of
// 1000 ids, see newParts).
func BenchmarkWriter(b *testing.B) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(b, b.TempDir(), clock, 100_000)
	ev := sinktest.Event(0, "k1:subject-0000000000", clock.Now())
	ev.Text = "I could not log in with <EMAIL_ADDRESS> after the update; the page kept spinning."
	ev.Properties = map[string]string{"plan": "pro", "page": "/issues/123", "feature": "search"}
	rows := make([]table.Row, 1024)
	for i := range rows {
		ev.EventID = "ev-" + time.Duration(i).String()
		rows[i] = table.RowFromEvent(&ev)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		row := rows[i%len(rows)]
		row.EventID = "ev-" + strconv.Itoa(i) // distinct ids: none is dropped by the dedupe
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: int64(i), Row: &row}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := p.Writer.Stats()
	if st.RowsWritten != int64(b.N) {
		b.Fatalf("wrote %d rows of %d", st.RowsWritten, b.N)
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(st.RowsWritten)/secs, "rows/s")
	b.ReportMetric(float64(st.BytesWritten)/secs/1e6, "MB/s")
}
