package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestErasureRewritesAndPurgeDeadline: rows of an erased subject written before
// the erasure disappear from the next snapshot (copy-on-write), late covered rows
// are dropped at write time, a re-grant's rows are kept, the older snapshot is
// expired within the purge deadline, and the superseded file is deleted then.
func TestErasureRewritesAndPurgeDeadline(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 1000)
	t0 := clock.Now()
	off := int64(0)
	add := func(id int, subject string, recv time.Time, consentVersion string) {
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
	p.Writer.CloseAll(ctx)
	s1, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s1.Totals.Rows != 20 || s1.PolicyVersion != "2025-11-01" {
		t.Fatalf("s1: %+v", s1.Totals)
	}

	clock.Add(time.Hour)
	erasedAt := clock.Now()
	if _, err := p.Ledger.Append(0, 0, clock.Now(), schema.Erasure{Pseudonyms: []string{"k0:old", "k1:gone"}, Purpose: "ai_training",
		EffectiveAt: erasedAt, Reason: "user_opt_out", ConsentVersion: "0:5", Scope: schema.ScopeSubject}); err != nil {
		t.Fatal(err)
	}
	if added, _ := p.Ledger.Append(0, 0, clock.Now(), schema.Erasure{}); added {
		t.Fatal("ledger appended a duplicate offset")
	}
	add(100, "k1:gone", t0, "0:4")                      // late row decided on an older grant: dropped
	add(101, "k1:gone", erasedAt.Add(time.Hour), "0:6") // decided on a later re-grant: kept
	p.Writer.CloseAll(ctx)

	// Not yet due: the purge does nothing.
	res, err := p.Catalog.Purge(ctx, 72*time.Hour, time.Minute)
	if err != nil || res.Snapshot != nil || len(res.Expired) != 0 {
		t.Fatalf("early purge: %+v %v", res, err)
	}
	clock.Add(72*time.Hour - 30*time.Second) // within one check interval of the deadline
	res, err = p.Catalog.Purge(ctx, 72*time.Hour, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot == nil || res.Expired[s1.ID] != "erasure" || len(res.Deleted) != 1 {
		t.Fatalf("purge: %+v", res)
	}
	s2 := *res.Snapshot
	if s2.Parent != s1.ID || s2.ErasureLedgerPosition != 1 {
		t.Fatalf("s2 parent %q position %d", s2.Parent, s2.ErasureLedgerPosition)
	}
	rows := sinktest.AllRows(t, p.Store, s2)
	kept := 0
	for _, r := range rows {
		if r.Subject == "k1:gone" {
			if r.EventID != "ev-000101" {
				t.Fatalf("erased row %s in snapshot", r.EventID)
			}
			kept++
		}
	}
	if kept != 1 || len(rows) != 16 || s2.Totals.Rows != 16 {
		t.Fatalf("rows %d, re-granted kept %d", len(rows), kept)
	}
	for _, f := range s2.Files {
		if df, _ := table.ParseDataFile(f.Path); df.First == 0 && df.Erased != 1 {
			t.Fatalf("file %s not rewritten", f.Path)
		}
	}
	// The old snapshot is gone (410) and its original file deleted.
	if _, err := p.Catalog.Manifest(ctx, s1.ID); err == nil {
		t.Fatal("expired snapshot still served")
	}
	if _, err := p.Store.Stat(ctx, "ai_training/"+s1.Files[0].Path); err == nil {
		t.Fatal("superseded file not deleted")
	}
	if latest, err := p.Catalog.Manifest(ctx, "latest"); err != nil || latest.ID != s2.ID {
		t.Fatalf("latest %s %v", latest.ID, err)
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
		p.Writer.Append(ctx, writer.Record{Partition: 1, Offset: int64(i), Row: &row})
	}
	p.Writer.CloseAll(ctx)
	s1, _ := p.Catalog.Snapshot(ctx)
	clock.Add(time.Minute)
	p.Ledger.Append(0, 0, clock.Now(), schema.Erasure{Pseudonyms: []string{"k1:tenant-a"}, Purpose: "ai_training",
		EffectiveAt: clock.Now(), ConsentVersion: "1:3", Scope: schema.ScopeTenant})
	s2, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows := sinktest.AllRows(t, p.Store, s2); len(rows) != 1 || rows[0].Tenant != "k1:other" {
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
}
