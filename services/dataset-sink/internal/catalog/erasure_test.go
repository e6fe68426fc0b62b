package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// dataFiles lists the Parquet files under the table's data directory.
func dataFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(dir, sinktest.Dataset, "data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out[p] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func subjects(rows []table.Row) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		out[r.Subject]++
	}
	return out
}

// TestErasureCommitTagRecutAndExpiry: an erasure becomes a copy-on-write
// commit on the main branch, recorded in the ledger with the snapshot it landed
// in; time travel still shows the erased rows, and so does the older snapshot
// tag, until the purge deadline: then the tag is re-cut without them, the
// table's older snapshots are expired and the data files that held the erased
// rows are gone from disk. Late covered rows are dropped at write time; a
// re-grant's rows are kept.
func TestErasureCommitTagRecutAndExpiry(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	dir := t.TempDir()
	p := sinktest.NewParts(t, dir, clock, 1000)
	t0 := clock.Now()
	off := int64(0)
	add := func(id int, subject string, recv time.Time, consentVersion string) {
		t.Helper()
		ev := sinktest.Event(id, subject, recv)
		ev.ConsentVersion = consentVersion
		row := table.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: off, Row: &row}); err != nil {
			t.Fatal(err)
		}
		off++
	}
	for i := range 20 {
		subject := "k1:keep"
		if i%4 == 0 {
			subject = "k1:gone"
		}
		add(i, subject, t0, "") // decided on the regime alone (no user record)
	}
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	s1, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s1.Totals.Rows != 20 || s1.PolicyVersion != "2025-11-01" || len(s1.Files) != 1 {
		t.Fatalf("s1: %+v", s1)
	}
	before := dataFiles(t, dir)

	clock.Add(time.Hour)
	e := schema.Erasure{Pseudonyms: []string{"k0:old", "k1:gone"}, Purpose: "ai_training",
		EffectiveAt: clock.Now(), Reason: "user_opt_out", ConsentVersion: "0:5", Scope: schema.ScopeSubject}
	if added, err := p.Ledger.Record(ctx, "dataset.erasures", 0, 7, clock.Now(), e); err != nil || !added {
		t.Fatalf("record: %v %v", added, err)
	}
	if added, _ := p.Ledger.Record(ctx, "dataset.erasures", 0, 7, clock.Now(), e); added {
		t.Fatal("ledger recorded a redelivered erasure twice")
	}
	add(100, "k1:gone", t0, "0:4")                         // late row decided on an older grant: dropped
	add(101, "k1:gone", clock.Now().Add(time.Hour), "0:6") // decided on a later re-grant: kept
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := p.Applier.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 1 || res.RowsRemoved != 5 || res.FilesRewrite != 1 || res.Snapshot == 0 {
		t.Fatalf("apply: %+v", res)
	}
	if got := subjects(sinktest.Rows(t, p.Lake, 0)); got["k1:gone"] != 1 || got["k1:keep"] != 15 {
		t.Fatalf("main after the erasure commit: %v", got)
	}
	if es := p.Ledger.Entries(); len(es) != 1 || es[0].LandedSnapshot != res.Snapshot {
		t.Fatalf("ledger does not record the commit the erasure landed in: %+v (commit %d)", es, res.Snapshot)
	}
	// Time travel and the older tag still show the rows: not due yet.
	if got := subjects(sinktest.Rows(t, p.Lake, s1.IcebergSnapshotID)); got["k1:gone"] != 5 {
		t.Fatalf("time travel to s1: %v", got)
	}
	pr, err := p.Catalog.Purge(ctx, 72*time.Hour, time.Minute)
	if err != nil || len(pr.Recut) != 0 {
		t.Fatalf("early purge: %+v %v", pr, err)
	}

	clock.Add(72*time.Hour - 30*time.Second) // within one check interval of the deadline
	pr, err = p.Catalog.Purge(ctx, 72*time.Hour, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pr.Recut[s1.ID]; !ok || pr.SnapshotsExpired == 0 {
		t.Fatalf("purge: %+v", pr)
	}
	s1b, err := p.Catalog.Manifest(ctx, s1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s1b.IcebergSnapshotID == s1.IcebergSnapshotID || s1b.Totals.Rows != 15 {
		t.Fatalf("re-cut tag: snapshot %d (was %d), rows %d", s1b.IcebergSnapshotID, s1.IcebergSnapshotID, s1b.Totals.Rows)
	}
	if got := subjects(sinktest.AllRows(t, p.Lake, s1b)); got["k1:gone"] != 0 || got["k1:keep"] != 15 {
		t.Fatalf("re-cut tag rows: %v", got)
	}
	tb, err := p.Lake.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tb.SnapshotByID(s1.IcebergSnapshotID) != nil {
		t.Fatal("the snapshot holding the erased rows was not expired")
	}
	after := dataFiles(t, dir)
	for f := range before {
		if after[f] {
			t.Fatalf("data file %s that held the erased rows is still on disk", f)
		}
	}
}

func TestTenantErasureAndRetention(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 1000)
	for i := range 5 {
		ev := sinktest.Event(i, "k1:u", clock.Now())
		if i == 2 {
			ev.Tenant = "k1:other"
		}
		row := table.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: 1, Offset: int64(i), Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	s1, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	if _, err := p.Ledger.Record(ctx, "dataset.erasures", 0, 0, clock.Now(), schema.Erasure{Pseudonyms: []string{"k1:tenant-a"}, Purpose: "ai_training",
		EffectiveAt: clock.Now(), ConsentVersion: "1:3", Scope: schema.ScopeTenant}); err != nil {
		t.Fatal(err)
	}
	s2, err := p.Catalog.Snapshot(ctx) // applies the erasure first
	if err != nil {
		t.Fatal(err)
	}
	if rows := sinktest.AllRows(t, p.Lake, s2); len(rows) != 1 || rows[0].Tenant != "k1:other" {
		t.Fatalf("tenant erasure left %d rows", len(rows))
	}
	// Retention: s1 expires after 30 days, s2 (newest) is kept.
	clock.Add(31 * 24 * time.Hour)
	res, err := p.Catalog.Purge(ctx, 72*time.Hour, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.Expired[s1.ID] == "" || res.Expired[s2.ID] != "" {
		t.Fatalf("expired %v", res.Expired)
	}
	if _, err := p.Catalog.Manifest(ctx, s1.ID); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired snapshot: %v", err)
	}
}
