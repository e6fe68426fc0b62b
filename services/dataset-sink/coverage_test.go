package datasetsink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// TestMatcherCoverageByVersion is the erasure coverage rule: an erasure covers a
// row of its pseudonym and purpose unless the row's decision rested on a later
// change of the same key (the user's record for SUBJECT, the tenant's for TENANT).
func TestMatcherCoverageByVersion(t *testing.T) {
	subject := func(versions ...string) []schema.Erasure {
		var out []schema.Erasure
		for _, v := range versions {
			out = append(out, schema.Erasure{Pseudonyms: []string{"k1:old", "k2:u"}, Purpose: "ai_training",
				ConsentVersion: v, Scope: schema.ScopeSubject})
		}
		return out
	}
	tenant := func(v string) []schema.Erasure {
		return []schema.Erasure{{Pseudonyms: []string{"k2:t"}, Purpose: "ai_training", ConsentVersion: v, Scope: schema.ScopeTenant}}
	}
	row := func(consent, tenantConsent string) Row {
		return Row{Subject: "k2:u", Tenant: "k2:t", Purpose: "ai_training", ConsentVersion: consent, TenantConsentVersion: tenantConsent,
			ReceivedAt: time.Date(2025, 11, 28, 13, 0, 0, 0, time.UTC)}
	}
	for _, tc := range []struct {
		name     string
		erasures []schema.Erasure
		row      Row
		covered  bool
	}{
		{"older grant", subject("0:10"), row("0:5", ""), true},
		{"same version", subject("0:10"), row("0:10", ""), true},
		{"no user record (regime alone)", subject("0:10"), row("", ""), true},
		{"later re-grant", subject("0:10"), row("0:12", ""), false},
		{"other partition", subject("0:10"), row("1:50", ""), true},
		{"bad erasure version", subject("garbage"), row("0:12", ""), true},
		{"empty erasure version", subject(""), row("0:12", ""), true},
		{"bad row version", subject("0:10"), row("x:1", ""), true},
		{"later of two erasures applies", subject("0:10", "0:20"), row("0:15", ""), true},
		{"re-grant after both erasures", subject("0:20", "0:10"), row("0:25", ""), false},
		{"subject erasure ignores the tenant version", subject("0:10"), row("0:12", "0:1"), false},
		{"other purpose", []schema.Erasure{{Pseudonyms: []string{"k2:u"}, Purpose: "analytics", ConsentVersion: "0:10"}}, row("0:5", ""), false},
		{"other subject", []schema.Erasure{{Pseudonyms: []string{"k2:x"}, Purpose: "ai_training", ConsentVersion: "0:10"}}, row("0:5", ""), false},
		{"tenant: older tenant grant", tenant("1:4"), row("0:99", "1:3"), true},
		{"tenant: same version", tenant("1:4"), row("0:99", "1:4"), true},
		{"tenant: no tenant record", tenant("1:4"), row("0:99", ""), true},
		{"tenant: later tenant re-grant", tenant("1:4"), row("", "1:9"), false},
		{"tenant: other partition", tenant("1:4"), row("", "0:9"), true},
		{"tenant: bad erasure version", tenant("bad"), row("", "1:9"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMatcher()
			for i := range tc.erasures {
				m.add(&tc.erasures[i])
			}
			if got := m.Covered(&tc.row); got != tc.covered {
				t.Fatalf("covered = %v, want %v (erasures %+v, row consent %q tenant %q)", got, tc.covered,
					tc.erasures, tc.row.ConsentVersion, tc.row.TenantConsentVersion)
			}
		})
	}
}

// TestRegrantWithinTheHourSurvives is the e2e case: received_at is coarsened to
// the hour, so every row below is stored as 13:00 while the opt-outs are
// effective at 13:11. Rows decided before the opt-out (on an older record or none)
// are erased, at copy-on-write and at write time; rows decided on the re-grant a
// few milliseconds later survive both.
func TestRegrantWithinTheHourSurvives(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	p := newParts(t, t.TempDir(), clock, 1000)
	hour := time.Date(2025, 11, 28, 13, 0, 0, 0, time.UTC)
	optOut := hour.Add(11*time.Minute + 17*time.Second)
	off := int64(0)
	add := func(id int, subject, tenant, consent, tenantConsent string) {
		t.Helper()
		ev := event(id, subject, hour)
		ev.Tenant, ev.ConsentVersion, ev.TenantConsentVersion = tenant, consent, tenantConsent
		row := RowFromEvent(&ev)
		if _, err := p.writer.Append(ctx, Record{Partition: 0, Offset: off, Row: &row}); err != nil {
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
	if _, err := p.writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, e := range []schema.Erasure{
		{Pseudonyms: []string{"k1:u"}, Purpose: "ai_training", EffectiveAt: optOut, Reason: "user_opt_out", ConsentVersion: "0:5", Scope: schema.ScopeSubject},
		{Pseudonyms: []string{"k1:t"}, Purpose: "ai_training", EffectiveAt: optOut, Reason: "tenant_opt_out", ConsentVersion: "1:7", Scope: schema.ScopeTenant},
	} {
		if _, err := p.ledger.Append(-1, 0, clock.Now(), e); err != nil {
			t.Fatal(err)
		}
	}
	// Late arrivals, after the ledger has both erasures: the same decision.
	add(6, "k1:u", "k1:other", "0:3", "") // erased at write time
	add(7, "k1:v", "k1:t", "", "1:7")     // decided on the denial itself (cannot pass the filter; erased anyway)
	add(8, "k1:u", "k1:other", "0:6", "") // kept
	add(9, "k1:v", "k1:t", "", "1:8")     // kept
	if _, err := p.writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := p.catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range allRows(t, p.store, m) {
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
