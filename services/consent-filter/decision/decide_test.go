package decision

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

const testPolicy = `
version: pol-1
default_regime: opt_in
gpc_denies: true
purposes:
  ai_training: {}
  analytics: {gpc_denies: false}
jurisdictions:
  DE: opt_in
  US: opt_out
  US-CA: opt_out
  US-TX: opt_in
`

func TestDecide(t *testing.T) {
	pol, err := policy.Parse([]byte(testPolicy))
	require.NoError(t, err)
	polGPCOff, err := policy.Parse([]byte("version: pol-2\ngpc_denies: false\npurposes: {ai_training: {}}\njurisdictions: {US: opt_out}\n"))
	require.NoError(t, err)
	polOptOutDefault, err := policy.Parse([]byte("version: pol-3\ndefault_regime: opt_out\npurposes: {ai_training: {}}\njurisdictions: {DE: opt_in}\n"))
	require.NoError(t, err)

	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	before, after := at.Add(-time.Hour), at.Add(time.Millisecond)
	rec := func(s Status, when time.Time, v string) *Record {
		return &Record{Status: s, EffectiveAt: when, Version: v}
	}
	tGranted := rec(Granted, before, "0:10")
	tGrantedLate := rec(Granted, after, "0:11")
	tDenied := rec(Denied, before, "0:12")
	tDeniedLate := rec(Denied, after, "0:13")
	uGranted := rec(Granted, before, "3:20")
	uGrantedAtEvent := rec(Granted, at, "3:21")
	uGrantedLate := rec(Granted, after, "3:22")
	uDenied := rec(Denied, before, "3:23")
	uDeniedLate := rec(Denied, after, "3:24")
	uBogus := rec("WITHDRAWN", before, "3:25")
	tBogus := rec("", before, "0:14")

	type want struct {
		allow   bool
		reason  Reason
		version string
		regime  policy.Regime
	}
	cases := []struct {
		name string
		pol  *policy.Policy
		in   Input
		want want
	}{
		// Rule 1: tenant.
		{"tenant denied overrides user grant", pol, Input{Jurisdiction: "DE", Tenant: tDenied, User: uGranted}, want{false, TenantOptOut, "0:12", policy.OptIn}},
		{"tenant denied in opt_out regime without user record", pol, Input{Jurisdiction: "US", Tenant: tDenied}, want{false, TenantOptOut, "0:12", policy.OptOut}},
		{"tenant denied after the event still denies", pol, Input{Jurisdiction: "US", Tenant: tDeniedLate, User: uGranted}, want{false, TenantOptOut, "0:13", policy.OptOut}},
		{"tenant unknown status fails closed", pol, Input{Jurisdiction: "US", Tenant: tBogus}, want{false, TenantOptOut, "0:14", policy.OptOut}},
		{"tenant granted after event", pol, Input{Jurisdiction: "US", Tenant: tGrantedLate, User: uGranted}, want{false, TenantConsentAfterEvent, "0:11", policy.OptOut}},
		{"tenant granted after event beats user denial", pol, Input{Jurisdiction: "DE", Tenant: tGrantedLate, User: uDenied}, want{false, TenantConsentAfterEvent, "0:11", policy.OptIn}},
		{"tenant granted before event does not replace user's opt-in", pol, Input{Jurisdiction: "DE", Tenant: tGranted}, want{false, NoConsent, "", policy.OptIn}},
		{"tenant granted before event with user grant", pol, Input{Jurisdiction: "DE", Tenant: tGranted, User: uGranted}, want{true, AllowedConsent, "3:20", policy.OptIn}},
		{"tenant granted exactly at received_at is in force", pol, Input{Jurisdiction: "DE", Tenant: rec(Granted, at, "0:15"), User: uGranted}, want{true, AllowedConsent, "3:20", policy.OptIn}},
		{"tenant granted does not lift GPC", pol, Input{Jurisdiction: "US-CA", GPC: true, Purpose: "ai_training", Tenant: tGranted}, want{false, GPC, "", policy.OptOut}},

		// Rule 2: user denied.
		{"user denied with tenant granted", pol, Input{Jurisdiction: "US", Tenant: tGranted, User: uDenied}, want{false, UserOptOut, "3:23", policy.OptOut}},
		{"user denied, no tenant record, opt_in", pol, Input{Jurisdiction: "DE", User: uDenied}, want{false, UserOptOut, "3:23", policy.OptIn}},
		{"user denied after the event still denies", pol, Input{Jurisdiction: "US", User: uDeniedLate}, want{false, UserOptOut, "3:24", policy.OptOut}},
		{"user unknown status fails closed", pol, Input{Jurisdiction: "US", User: uBogus}, want{false, UserOptOut, "3:25", policy.OptOut}},

		// Rule 3: user granted.
		{"user granted before event", pol, Input{Jurisdiction: "DE", User: uGranted}, want{true, AllowedConsent, "3:20", policy.OptIn}},
		{"user granted exactly at received_at", pol, Input{Jurisdiction: "DE", User: uGrantedAtEvent}, want{true, AllowedConsent, "3:21", policy.OptIn}},
		{"user granted 1ms after event (e.g. denied then re-granted)", pol, Input{Jurisdiction: "DE", User: uGrantedLate}, want{false, ConsentAfterEvent, "3:22", policy.OptIn}},
		{"late grant denies even in opt_out regime", pol, Input{Jurisdiction: "US", User: uGrantedLate}, want{false, ConsentAfterEvent, "3:22", policy.OptOut}},
		{"explicit grant wins over GPC", pol, Input{Jurisdiction: "US-CA", GPC: true, Purpose: "ai_training", User: uGranted}, want{true, AllowedConsent, "3:20", policy.OptOut}},
		{"zero received_at cannot prove a grant", pol, Input{Jurisdiction: "DE", User: uGranted, ReceivedAt: time.Time{}}, want{false, ConsentAfterEvent, "3:20", policy.OptIn}},

		// Rules 2a/2b: linked subjects only take away.
		{"linked denial overrides the user's grant", pol, Input{Jurisdiction: "DE", User: uGranted, Linked: []*Record{rec(Granted, before, "3:30"), rec(Denied, before, "3:31")}}, want{false, LinkedOptOut, "3:31", policy.OptIn}},
		{"linked denial in opt_out regime without user record", pol, Input{Jurisdiction: "US", Linked: []*Record{rec(Denied, after, "3:32")}}, want{false, LinkedOptOut, "3:32", policy.OptOut}},
		{"own denial is named before a linked one", pol, Input{Jurisdiction: "US", User: uDenied, Linked: []*Record{rec(Denied, before, "3:33")}}, want{false, UserOptOut, "3:23", policy.OptOut}},
		{"linked grant does not give consent", pol, Input{Jurisdiction: "DE", Linked: []*Record{rec(Granted, before, "3:34")}}, want{false, NoConsent, "", policy.OptIn}},
		{"linked grant before the event leaves the user's grant", pol, Input{Jurisdiction: "DE", User: uGranted, Linked: []*Record{rec(Granted, before, "3:35")}}, want{true, AllowedConsent, "3:20", policy.OptIn}},
		{"linked grant after the event denies", pol, Input{Jurisdiction: "US", Linked: []*Record{rec(Granted, after, "3:36")}}, want{false, LinkedConsentAfterEvent, "3:36", policy.OptOut}},
		{"linked unknown status fails closed", pol, Input{Jurisdiction: "US", Linked: []*Record{rec("", before, "3:37")}}, want{false, LinkedOptOut, "3:37", policy.OptOut}},
		{"nil linked entries are ignored", pol, Input{Jurisdiction: "US", Linked: []*Record{nil}}, want{true, AllowedOptOutRegime, "", policy.OptOut}},
		{"too many links denies", pol, Input{Jurisdiction: "US", User: uGranted, TooManyLinks: true}, want{false, LinkLimit, "", policy.OptOut}},
		{"tenant denial is named before links", pol, Input{Jurisdiction: "US", Tenant: tDenied, Linked: []*Record{rec(Denied, before, "3:38")}}, want{false, TenantOptOut, "0:12", policy.OptOut}},

		// Rule 4: no user record.
		{"opt_out regime, no record", pol, Input{Jurisdiction: "US", Purpose: "ai_training"}, want{true, AllowedOptOutRegime, "", policy.OptOut}},
		{"opt_out regime, GPC denies", pol, Input{Jurisdiction: "US", GPC: true, Purpose: "ai_training"}, want{false, GPC, "", policy.OptOut}},
		{"subdivision opt_out, GPC denies", pol, Input{Jurisdiction: "US-CA", GPC: true, Purpose: "ai_training"}, want{false, GPC, "", policy.OptOut}},
		{"GPC with purpose override gpc_denies=false", pol, Input{Jurisdiction: "US-CA", GPC: true, Purpose: "analytics"}, want{true, AllowedOptOutRegime, "", policy.OptOut}},
		{"GPC with policy gpc_denies=false", polGPCOff, Input{Jurisdiction: "US", GPC: true, Purpose: "ai_training"}, want{true, AllowedOptOutRegime, "", policy.OptOut}},
		{"GPC in opt_in regime is no_consent, not gpc", pol, Input{Jurisdiction: "DE", GPC: true, Purpose: "ai_training"}, want{false, NoConsent, "", policy.OptIn}},
		{"opt_in regime, no record", pol, Input{Jurisdiction: "DE"}, want{false, NoConsent, "", policy.OptIn}},
		{"subdivision listed opt_in under opt_out country", pol, Input{Jurisdiction: "US-TX"}, want{false, NoConsent, "", policy.OptIn}},
		{"unlisted subdivision falls back to country", pol, Input{Jurisdiction: "US-NY"}, want{true, AllowedOptOutRegime, "", policy.OptOut}},
		{"lower-case jurisdiction", pol, Input{Jurisdiction: "us-ca"}, want{true, AllowedOptOutRegime, "", policy.OptOut}},
		{"unknown jurisdiction gets default opt_in", pol, Input{Jurisdiction: "ZZ"}, want{false, NoConsent, "", policy.OptIn}},
		{"missing jurisdiction gets default opt_in", pol, Input{}, want{false, NoConsent, "", policy.OptIn}},
		{"unknown jurisdiction gets default opt_out", polOptOutDefault, Input{Jurisdiction: "ZZ"}, want{true, AllowedOptOutRegime, "", policy.OptOut}},
		{"unknown purpose uses policy-wide GPC", pol, Input{Jurisdiction: "US", GPC: true, Purpose: "unlisted"}, want{false, GPC, "", policy.OptOut}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in.ReceivedAt.IsZero() && c.name != "zero received_at cannot prove a grant" {
				in.ReceivedAt = at
			}
			if in.Purpose == "" {
				in.Purpose = "ai_training"
			}
			got := Decide(c.pol, in)
			assert.Equal(t, c.want.allow, got.Allow, "allow")
			assert.Equal(t, c.want.reason, got.Reason, "reason")
			assert.Equal(t, c.want.version, got.ConsentVersion, "consent version")
			assert.Equal(t, c.pol.Version, got.PolicyVersion, "policy version")
			assert.Equal(t, c.want.regime, got.Regime, "regime")
			assert.Equal(t, got.Allow, got.Reason.Allows(), "Allow agrees with Reason")
		})
	}
}

func TestDecideEveryReasonCovered(t *testing.T) {
	// Guard against a reason being added without a rule/test: each reason is
	// produced by at least one input under the default policy.
	pol := policy.Default()
	at := time.Unix(1_700_000_000, 0)
	seen := map[Reason]bool{}
	inputs := []Input{
		{User: &Record{Status: Granted, EffectiveAt: at}},
		{Jurisdiction: "US"},
		{Tenant: &Record{Status: Denied}},
		{Tenant: &Record{Status: Granted, EffectiveAt: at.Add(time.Second)}},
		{User: &Record{Status: Denied}},
		{User: &Record{Status: Granted, EffectiveAt: at.Add(time.Second)}},
		{Jurisdiction: "US-CA", GPC: true},
		{Jurisdiction: "FR"},
		{Jurisdiction: "US", Linked: []*Record{{Status: Denied}}},
		{Jurisdiction: "US", Linked: []*Record{{Status: Granted, EffectiveAt: at.Add(time.Second)}}},
		{Jurisdiction: "US", TooManyLinks: true},
	}
	for _, in := range inputs {
		in.ReceivedAt, in.Purpose = at, "ai_training"
		seen[Decide(pol, in).Reason] = true
	}
	for _, r := range Reasons() {
		assert.True(t, seen[r], "reason %s not produced", r)
	}
	assert.Len(t, seen, len(Reasons()))
}

func TestDecideNilPolicyFailsClosed(t *testing.T) {
	d := Decide(nil, Input{User: &Record{Status: Granted}, ReceivedAt: time.Now()})
	assert.False(t, d.Allow)
	assert.Equal(t, NoConsent, d.Reason)
}

func TestDecideIsPure(t *testing.T) {
	pol := policy.Default()
	in := Input{ReceivedAt: time.Unix(10, 0), Jurisdiction: "US", Purpose: "ai_training", User: &Record{Status: Granted, EffectiveAt: time.Unix(5, 0), Version: "1:1"}}
	first := Decide(pol, in)
	for range 3 {
		assert.Equal(t, first, Decide(pol, in))
	}
	assert.Equal(t, Status(Granted), in.User.Status, "input untouched")
}

func TestStatusValid(t *testing.T) {
	assert.True(t, Granted.Valid())
	assert.True(t, Denied.Valid())
	assert.False(t, Status("granted").Valid())
}
