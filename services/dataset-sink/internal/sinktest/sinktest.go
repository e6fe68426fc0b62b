// Package sinktest builds the dataset sink's parts over a temporary directory for
// the tests of its packages: a settable clock, curated events, and a storage,
// table (sqlite catalog), ledger, writer, applier and catalog wired as the sink
// wires them.
package sinktest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	icetable "github.com/apache/iceberg-go/table"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/erasure"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
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

// Parts are a sink's storage, table, ledger, writer, applier and catalog over
// one directory (sqlite catalog).
type Parts struct {
	Store         *storage.FS
	Lake          *lake.Lake
	Ledger        *ledger.Ledger
	Writer        *writer.Writer
	Applier       *erasure.Applier
	Catalog       *catalog.Catalog
	WriterMetrics *writer.Metrics
	Dir           string
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
	return NewPartsWith(t, dir, clock, writer.Options{Topic: Topic, RotateRows: rotateRows, RotateBytes: 64 << 20,
		RotateInterval: time.Hour, DedupeWindow: window})
}

// NewPartsWith builds the parts with writer options o.
func NewPartsWith(t testing.TB, dir string, clock *Clock, o writer.Options) *Parts {
	t.Helper()
	return NewPartsGrouped(t, dir, clock, o, 1000)
}

// NewPartsOn builds the parts over any storage: the table at location (its
// files also reachable as <Dataset>/... keys of store), the sqlite catalog at
// catalogPath.
func NewPartsOn(t testing.TB, store storage.Storage, location string, ioProps map[string]string, catalogPath string, clock *Clock, o writer.Options) *Parts {
	t.Helper()
	return newParts(t, store, location, ioProps, catalogPath, clock, o, 1000)
}

// NewPartsGrouped is NewPartsWith with Parquet row groups of rowGroupRows rows
// (the others' 1,000 keep files small; the binary's default is 65,536, and the
// Parquet writer holds a row group's pages until it is flushed).
func NewPartsGrouped(t testing.TB, dir string, clock *Clock, o writer.Options, rowGroupRows int64) *Parts {
	t.Helper()
	store, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := lake.FileLocation(dir + "/" + Dataset)
	if err != nil {
		t.Fatal(err)
	}
	p := newParts(t, store, loc, nil, dir+"/catalog.db", clock, o, rowGroupRows)
	p.Store, p.Dir = store, dir
	return p
}

func newParts(t testing.TB, store storage.Storage, location string, ioProps map[string]string, catalogPath string, clock *Clock, o writer.Options, rowGroupRows int64) *Parts {
	t.Helper()
	ctx := context.Background()
	lk, err := lake.Open(ctx, lake.Options{CatalogURI: "sqlite:" + catalogPath, CatalogName: "consentflow", Namespace: "consentflow",
		Table: Dataset, Location: location, IOProps: ioProps, TargetFileBytes: 512 << 20, RowGroupRows: rowGroupRows}, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lk.Close() })
	l, err := ledger.Open(ctx, lk.DB(), lk.Dialect, "consentflow."+lk.Name())
	if err != nil {
		t.Fatal(err)
	}
	wm := writer.NewMetrics(nil)
	w, err := writer.New(ctx, lk, l, o, clock.Now, wm, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	a := &erasure.Applier{Lake: lk, Ledger: l, Retiring: o.Retiring, Now: clock.Now, M: erasure.NewMetrics(nil), Log: zap.NewNop()}
	cat := catalog.New(lk, l, a, store, catalog.Options{Dataset: Dataset, Topic: Topic, Retention: 30 * 24 * time.Hour,
		History: 24 * time.Hour, OrphanAge: time.Hour}, clock.Now, catalog.NewMetrics(nil), zap.NewNop())
	return &Parts{Lake: lk, Ledger: l, Writer: w, Applier: a, Catalog: cat, WriterMetrics: wm}
}

// Rows reads every row of table snapshot id (0: the current one).
func Rows(t testing.TB, lk *lake.Lake, id int64) []table.Row {
	t.Helper()
	ctx := context.Background()
	tb, err := lk.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id == 0 {
		if tb.CurrentSnapshot() == nil {
			return nil
		}
		id = tb.CurrentSnapshot().SnapshotID
	}
	_, recs, err := tb.Scan(icetable.WithSnapshotID(id)).ToArrowRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []table.Row
	for rec, err := range recs {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, table.RowsOf(rec)...)
		rec.Release()
	}
	return out
}

// AllRows reads every row of a snapshot's manifest (its table snapshot),
// checking the total against the manifest.
func AllRows(t testing.TB, lk *lake.Lake, m manifest.Manifest) []table.Row {
	t.Helper()
	rows := Rows(t, lk, m.IcebergSnapshotID)
	if int64(len(rows)) != m.Totals.Rows {
		t.Fatalf("snapshot %s: %d rows, manifest says %d", m.ID, len(rows), m.Totals.Rows)
	}
	return rows
}
