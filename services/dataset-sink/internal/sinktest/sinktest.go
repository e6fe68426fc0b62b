// Package sinktest builds the dataset sink's parts over a temporary directory for
// the tests of its packages: a settable clock, curated events, and a storage,
// ledger, writer and catalog wired as the sink wires them.
package sinktest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// Dataset and Topic are the names the parts use.
const (
	Dataset = "ai_training"
	Topic   = "events.curated"
)

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at 2025-11-28 12:00 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2025, 11, 28, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Event returns curated event number i of subject, received at received.
func Event(i int, subject string, received time.Time) schema.CuratedEvent {
	return schema.CuratedEvent{
		EventID: fmt.Sprintf("ev-%06d", i), EventType: "issue_created", Subject: subject, Tenant: "k1:tenant-a",
		ReceivedAt: received, Jurisdiction: "DE", Properties: map[string]string{"plan": "pro"},
		Text: "hello <EMAIL_ADDRESS>", Source: "api", Purpose: "ai_training", PolicyVersion: "2025-11-01",
	}
}

// Row returns Event(i, subject, received) as a row.
func Row(i int, subject string, received time.Time) *table.Row {
	ev := Event(i, subject, received)
	r := table.RowFromEvent(&ev)
	return &r
}

// Parts are a sink's storage, ledger, writer and catalog over one directory.
type Parts struct {
	Store         *storage.FS
	Ledger        *ledger.Ledger
	Writer        *writer.Writer
	Catalog       *catalog.Catalog
	WriterMetrics *writer.Metrics
}

// NewParts builds the parts over dir with files of rotateRows offsets and a
// dedupe window of 1000 ids.
func NewParts(t testing.TB, dir string, clock *Clock, rotateRows int) *Parts {
	t.Helper()
	return NewPartsWindow(t, dir, clock, rotateRows, 1000)
}

// NewPartsWindow is NewParts with a dedupe window of window ids per partition.
func NewPartsWindow(t testing.TB, dir string, clock *Clock, rotateRows, window int) *Parts {
	t.Helper()
	ctx := context.Background()
	store, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RemoveStaged(Dataset); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(dir + "/" + Dataset + "/erasures.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	wm := writer.NewMetrics(nil)
	w, err := writer.New(ctx, store, l, writer.Options{Dataset: Dataset, Topic: Topic,
		RotateRows: rotateRows, RotateBytes: 64 << 20, RotateInterval: time.Hour, RowGroupRows: 1000, DedupeWindow: window}, clock.Now, wm, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(store, l, catalog.Options{Dataset: Dataset, Retention: 30 * 24 * time.Hour, RowGroupRows: 1000}, clock.Now, catalog.NewMetrics(nil), zap.NewNop())
	return &Parts{Store: store, Ledger: l, Writer: w, Catalog: cat, WriterMetrics: wm}
}

// AllRows reads every row of a manifest's files, checking each file's row count.
func AllRows(t testing.TB, store storage.Storage, m manifest.Manifest) []table.Row {
	t.Helper()
	var out []table.Row
	for _, f := range m.Files {
		rows, err := table.ReadRows(context.Background(), store, m.Dataset+"/"+f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(rows)) != f.Rows {
			t.Fatalf("%s: %d rows, manifest says %d", f.Path, len(rows), f.Rows)
		}
		out = append(out, rows...)
	}
	return out
}
