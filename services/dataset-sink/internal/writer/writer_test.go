package writer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestWriterCrashRestartNoLossNoDuplicate feeds a stream, "crashes" (abandons the
// writer with open files; commits are never made, so Kafka redelivers from the
// start), restarts over the same directory, and checks every event is in exactly
// one file.
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
	rows := sinktest.AllRows(t, p2.Store, m)
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
		df, err := table.ParseDataFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		days[df.Day] = true
	}
	if len(days) != 2 {
		t.Fatalf("want files for 2 days, got %v", days)
	}
}

func TestParquetColumnsAreTimestampsAndKeyValueList(t *testing.T) {
	schema := parquet.SchemaOf(table.Row{})
	for _, name := range []string{"received_at", "occurred_at"} {
		col, ok := schema.Lookup(name)
		if !ok {
			t.Fatalf("no column %s", name)
		}
		lt := col.Node.Type().LogicalType()
		if lt == nil || lt.String() != "TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)" {
			t.Fatalf("%s: logical type %v, want timestamp(millis, UTC)", name, lt)
		}
	}
	// properties: LIST of STRUCT{key, value}, not a MAP (Hugging Face datasets
	// has no map type).
	var props parquet.Field
	for _, f := range schema.Fields() {
		if f.Name() == "properties" {
			props = f
		}
	}
	if props == nil || props.Type().LogicalType() == nil || props.Type().LogicalType().String() != "LIST" {
		t.Fatalf("properties is not a LIST: %s", schema)
	}
	for _, leaf := range []string{"key", "value"} {
		if f, ok := schema.Lookup("properties", "list", "element", leaf); !ok || f.Node.Optional() {
			t.Fatalf("no required properties.list.element.%s: %s", leaf, schema)
		}
	}
	if col, ok := schema.Lookup("tenant_consent_version"); !ok || !col.Node.Optional() {
		t.Fatal("no optional tenant_consent_version column")
	}
	// optional zero values round-trip as null; properties are sorted by key
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
