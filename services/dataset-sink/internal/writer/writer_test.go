package writer_test

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestWriterCrashRestartNoLossNoDuplicate feeds a stream, "crashes" (abandons the
// writer with rows buffered; Kafka commits were never made, so Kafka redelivers
// from the start), restarts over the same table, and checks every event is in
// the table exactly once, partitioned by day.
func TestWriterCrashRestartNoLossNoDuplicate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := sinktest.NewClock()
	const n = 95
	base := clock.Now()
	recs := make([]writer.Record, n)
	for i := range recs {
		// events cross midnight at i == 60: dt must split the files.
		recv := base.Add(time.Duration(i) * 12 * time.Minute)
		ev := sinktest.Event(i, "k1:s", recv)
		row := table.RowFromEvent(&ev)
		recs[i] = writer.Record{Partition: i % 2, Offset: int64(i / 2), Row: &row}
	}
	p := sinktest.NewParts(t, dir, clock, 7)
	for _, r := range recs[:61] {
		if _, err := p.Writer.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := writer.WaitIdle(p.Writer); err != nil { // the due files' commits run in the background
		t.Fatal(err)
	}
	p.Writer.Abandon() // crash: open files lost, staged leftovers may remain

	p2 := sinktest.NewParts(t, dir, clock, 7)
	if len(p2.Writer.Resume()) == 0 {
		t.Fatal("no resume positions after restart")
	}
	for _, r := range recs { // redelivery from the last commit (none)
		if _, err := p2.Writer.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p2.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := p2.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := sinktest.AllRows(t, p2.Lake, m)
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.EventID]++
	}
	if len(rows) != n || len(seen) != n {
		t.Fatalf("rows %d, distinct %d, want %d", len(rows), len(seen), n)
	}
	if m.Totals.Rows != n {
		t.Fatalf("manifest rows %d", m.Totals.Rows)
	}
	days := map[string]bool{}
	for _, f := range m.Files {
		dir := path.Dir(f.Path) // data/received_day=YYYY-MM-DD
		if !strings.HasPrefix(dir, "data/"+table.PartitionField+"=") {
			t.Fatalf("data file %s is not in a day partition", f.Path)
		}
		days[dir] = true
	}
	if len(days) != 2 {
		t.Fatalf("want files for 2 days, got %v", days)
	}
}

// TestTableColumnsAreTimestampsAndKeyValueList: received_at and occurred_at are
// timestamptz, properties is a list of required {key, value} structs (not a
// map: Hugging Face datasets has no map type), optional columns are nullable;
// optional zero values round-trip as null and properties are sorted by key.
func TestTableColumnsAreTimestampsAndKeyValueList(t *testing.T) {
	sc := table.Schema()
	for _, name := range []string{"received_at", "occurred_at"} {
		f, ok := sc.FindFieldByName(name)
		if !ok || f.Type.String() != "timestamptz" {
			t.Fatalf("%s: %v, want timestamptz", name, f.Type)
		}
	}
	f, ok := sc.FindFieldByName("properties")
	if !ok || !strings.HasPrefix(f.Type.String(), "list<struct<") || !strings.Contains(f.Type.String(), "key: required string") || !strings.Contains(f.Type.String(), "value: required string") {
		t.Fatalf("properties: %v", f.Type)
	}
	if f, ok := sc.FindFieldByName("tenant_consent_version"); !ok || f.Required {
		t.Fatal("no optional tenant_consent_version column")
	}
	ev := sinktest.Event(1, "k1:s", sinktest.NewClock().Now())
	ev.Properties = map[string]string{"plan": "pro", "feature": "search", "page": "/"}
	ev.TenantConsentVersion = "1:2"
	row := table.RowFromEvent(&ev)
	if !row.OccurredAt.IsZero() || row.Session != "" {
		t.Fatal("expected empty optionals")
	}
	if fmt.Sprint(row.Properties) != "[{feature search} {page /} {plan pro}]" || row.TenantConsentVersion != "1:2" {
		t.Fatalf("row %+v", row)
	}
	ev.Properties = nil
	if row := table.RowFromEvent(&ev); row.Properties == nil {
		t.Fatal("nil properties: want an empty list, not null")
	}
}

// TestRotateBytesBoundsEveryOpenFileTogether: SINK_ROTATE_BYTES bounds the rows
// buffered on all partitions together — rows on four partitions, each file far
// below the bound, are committed (all of them, at once) as soon as their sum
// reaches its open half (the other half is for the generation in flight), and
// the buffer starts again from zero.
func TestRotateBytesBoundsEveryOpenFileTogether(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	row := sinktest.Row(0, "k1:s", clock.Now())
	// Ten rows' worth of open rows and a piece of buffer on each of the four
	// partitions: reached by the tenth row.
	half := 4*writer.PieceBytes + 10*writer.RowBytes(row)
	var durable []writer.Done
	p := sinktest.NewPartsWith(t, t.TempDir(), clock, writer.Options{Topic: sinktest.Topic, RotateRows: 1000,
		RotateBytes: 2 * half, RotateInterval: time.Hour, DedupeWindow: 1000,
		Durable: func(d []writer.Done) { durable = append(durable, d...) }})
	var done []writer.Done
	for i := range 25 {
		d, err := p.Writer.Append(ctx, writer.Record{Partition: i % 4, Offset: int64(i / 4), Row: sinktest.Row(i, "k1:s", clock.Now())})
		if err != nil {
			t.Fatal(err)
		}
		if err := writer.WaitIdle(p.Writer); err != nil { // the commit runs in the background
			t.Fatal(err)
		}
		d, durable = append(d, durable...), nil
		if len(d) > 0 && i != 9 && i != 19 {
			t.Fatalf("committed at row %d: %+v", i, d)
		}
		if (i == 9 || i == 19) && len(d) != 4 {
			t.Fatalf("row %d: want all 4 partitions committed, got %+v", i, d)
		}
		done = append(done, d...)
	}
	m, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows := sinktest.AllRows(t, p.Lake, m); len(rows) != 20 {
		t.Fatalf("%d rows in the table, want the 20 of two commits", len(rows))
	}
}
