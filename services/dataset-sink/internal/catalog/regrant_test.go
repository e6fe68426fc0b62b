package catalog_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestRegrantWithinTheHourSurvives is the e2e case: received_at is coarsened to
// the hour, so every row below is stored as 13:00 while the opt-outs are
// effective at 13:11. Rows decided before the opt-out (on an older record or none)
// are erased, at copy-on-write and at write time; rows decided on the re-grant a
// few milliseconds later survive both.
func TestRegrantWithinTheHourSurvives(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 1000)
	hour := time.Date(2025, 11, 28, 13, 0, 0, 0, time.UTC)
	optOut := hour.Add(11*time.Minute + 17*time.Second)
	off := int64(0)
	add := func(id int, subject, tenant, consent, tenantConsent string) {
		t.Helper()
		ev := sinktest.Event(id, subject, hour)
		ev.Tenant, ev.ConsentVersion, ev.TenantConsentVersion = tenant, consent, tenantConsent
		row := table.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: off, Row: &row}); err != nil {
			t.Fatal(err)
		}
		off++
	}
	// User k1:u: granted at 0:3, denied at 0:5, re-granted at 0:6.
	// Tenant k1:t: no record, denied at 1:7, re-granted at 1:8.
	add(1, "k1:u", "k1:other", "0:3", "") // before the user's opt-out: erased
	add(2, "k1:v", "k1:t", "", "")        // before the tenant's opt-out: erased
	add(3, "k1:v", "k1:t", "", "1:2")     // older tenant grant: erased
	add(4, "k1:u", "k1:other", "0:6", "") // after the user's re-grant: kept
	add(5, "k1:v", "k1:t", "", "1:8")     // after the tenant's re-grant: kept
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	for i, e := range []schema.Erasure{
		{Pseudonyms: []string{"k1:u"}, Purpose: "ai_training", EffectiveAt: optOut, Reason: "user_opt_out", ConsentVersion: "0:5", Scope: schema.ScopeSubject},
		{Pseudonyms: []string{"k1:t"}, Purpose: "ai_training", EffectiveAt: optOut, Reason: "tenant_opt_out", ConsentVersion: "1:7", Scope: schema.ScopeTenant},
	} {
		if _, err := p.Ledger.Record(ctx, "dataset.erasures", 0, int64(i), clock.Now(), e); err != nil {
			t.Fatal(err)
		}
	}
	// Late arrivals, after the ledger has both erasures: the same decision.
	add(6, "k1:u", "k1:other", "0:3", "") // erased at write time
	add(7, "k1:v", "k1:t", "", "1:7")     // decided on the denial itself (cannot pass the filter; erased anyway)
	add(8, "k1:u", "k1:other", "0:6", "") // kept
	add(9, "k1:v", "k1:t", "", "1:8")     // kept
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	rows := sinktest.AllRows(t, p.Lake, m)
	sort.Slice(rows, func(i, j int) bool { return rows[i].EventID < rows[j].EventID })
	for _, r := range rows {
		if !r.ReceivedAt.Equal(hour) {
			t.Fatalf("row %s received_at %s, want the coarsened %s", r.EventID, r.ReceivedAt, hour)
		}
		got = append(got, r.EventID)
	}
	want := []string{"ev-000004", "ev-000005", "ev-000008", "ev-000009"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("snapshot rows %v, want %v", got, want)
	}
}
