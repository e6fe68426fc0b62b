package ledger_test

import (
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
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
	row := func(consent, tenantConsent string) table.Row {
		return table.Row{Subject: "k2:u", Tenant: "k2:t", Purpose: "ai_training", ConsentVersion: consent, TenantConsentVersion: tenantConsent,
			ReceivedAt: time.Date(2025, 11, 28, 13, 0, 0, 0, time.UTC)}
	}
	for _, tc := range []struct {
		name     string
		erasures []schema.Erasure
		row      table.Row
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
			m := ledger.NewMatcher()
			for i := range tc.erasures {
				m.Add(&tc.erasures[i])
			}
			if got := m.Covered(&tc.row); got != tc.covered {
				t.Fatalf("covered = %v, want %v (erasures %+v, row consent %q tenant %q)", got, tc.covered,
					tc.erasures, tc.row.ConsentVersion, tc.row.TenantConsentVersion)
			}
		})
	}
}
