package datasetsink

import (
	"context"
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/consentflow/consentflow/pkg/schema"
)

// TestLegacyMapFileRewrittenWithProperties: a file written before properties
// became a list (a Parquet MAP) is read back with its properties when erasures
// rewrite it, and the rewrite is in the current schema.
func TestLegacyMapFileRewrittenWithProperties(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	p := newParts(t, t.TempDir(), clock, 1000)
	df := DataFile{Day: "2025-11-28", Topic: "events.curated", Partition: 0, First: 0, Last: 1}
	key := "ai_training/" + df.Key()
	staged, err := p.store.Stage(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[legacyRow](staged)
	old := []legacyRow{
		{EventID: "ev-1", Subject: "k1:gone", Tenant: "k1:t", ReceivedAt: clock.Now(), Purpose: "ai_training", Properties: map[string]string{"a": "1"}},
		{EventID: "ev-2", Subject: "k1:keep", Tenant: "k1:t", ReceivedAt: clock.Now(), Purpose: "ai_training", Properties: map[string]string{"b": "2", "a": "3"}},
	}
	if _, err := w.Write(old); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.store.Publish(ctx, staged, key); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ledger.Append(-1, 0, clock.Now(), schema.Erasure{Pseudonyms: []string{"k1:gone"}, Purpose: "ai_training",
		ConsentVersion: "0:1", Scope: schema.ScopeSubject}); err != nil {
		t.Fatal(err)
	}
	m, err := p.catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := allRows(t, p.store, m)
	if len(rows) != 1 || rows[0].EventID != "ev-2" || fmt.Sprint(rows[0].Properties) != "[{a 3} {b 2}]" {
		t.Fatalf("rows %+v", rows)
	}
	if df, _ := ParseDataFile(m.Files[0].Path); df.Erased != 1 {
		t.Fatalf("file %s not rewritten", m.Files[0].Path)
	}
}
