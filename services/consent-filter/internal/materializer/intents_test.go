package materializer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestErasureIntents(t *testing.T) {
	u := consentstore.TenantUserRef("acme", "7")
	a1, a2 := consentstore.AnonymousRef("acme", "c1"), consentstore.AnonymousRef("acme", "c2")
	other := consentstore.TenantUserRef("acme", "8")
	link := func(x, y identity.Subject, off int64) consentstore.Change {
		l := identity.NewLink(x, y)
		return consentstore.Change{Link: &l, EffectiveAt: t0, Partition: 2, Offset: off}
	}
	consent := func(s identity.Subject, st decision.Status, off int64) consentstore.Change {
		return consentstore.Change{Subject: s, Purpose: "ai_training", Status: st, EffectiveAt: t0.Add(time.Duration(off) * time.Second), Partition: 2, Offset: off}
	}
	at := func(off int64) time.Time { return t0.Add(time.Duration(off) * time.Second) }

	t.Run("a denial erases the subjects linked before it", func(t *testing.T) {
		state := map[identity.Subject]consentstore.Record{u: {Status: decision.Granted, Partition: 2, Offset: 1, Links: []identity.Subject{a2}}}
		got := erasureIntents("ai_training", []consentstore.Change{link(u, a1, 5), consent(u, decision.Denied, 6)}, state)
		assert.Equal(t, []Intent{{Subject: a1, Trigger: "2:6", At: at(6)}, {Subject: a2, Trigger: "2:6", At: at(6)}}, got)
	})
	t.Run("a link to a denied subject erases the newly linked one", func(t *testing.T) {
		state := map[identity.Subject]consentstore.Record{u: {Status: decision.Denied, Partition: 2, Offset: 1}}
		got := erasureIntents("ai_training", []consentstore.Change{link(u, a1, 5)}, state)
		assert.Equal(t, []Intent{{Subject: a1, Trigger: "2:5", At: t0}}, got)
		// and the other way round: a cookie banner's denial of the anonymous id
		state = map[identity.Subject]consentstore.Record{a1: {Status: decision.Denied, Partition: 2, Offset: 1}}
		got = erasureIntents("ai_training", []consentstore.Change{link(a1, u, 5)}, state)
		assert.Equal(t, []Intent{{Subject: u, Trigger: "2:5", At: t0}}, got)
	})
	t.Run("order within the batch counts", func(t *testing.T) {
		got := erasureIntents("ai_training", []consentstore.Change{consent(u, decision.Denied, 3), consent(u, decision.Granted, 4), link(u, a1, 5)}, nil)
		assert.Empty(t, got, "denied, re-granted, then linked: nothing to erase")
		got = erasureIntents("ai_training", []consentstore.Change{consent(u, decision.Denied, 3), link(u, a1, 5), consent(u, decision.Granted, 6)}, nil)
		assert.Equal(t, []Intent{{Subject: a1, Trigger: "2:5", At: t0}}, got)
	})
	t.Run("links are one step: a denial does not reach the links of linked subjects", func(t *testing.T) {
		state := map[identity.Subject]consentstore.Record{a1: {Links: []identity.Subject{u, other}}, u: {Links: []identity.Subject{a1}}}
		got := erasureIntents("ai_training", []consentstore.Change{consent(u, decision.Denied, 7)}, state)
		assert.Equal(t, []Intent{{Subject: a1, Trigger: "2:7", At: at(7)}}, got, "user 8, who shares the browser, keeps their rows")
	})
	t.Run("other purposes, tenants, grants and an import that loses call for nothing", func(t *testing.T) {
		state := map[identity.Subject]consentstore.Record{u: {Status: decision.Granted, EffectiveAt: t0.Add(time.Hour), Partition: 2, Offset: 9, Links: []identity.Subject{a1}}}
		c := consent(u, decision.Denied, 10)
		c.Purpose = "analytics"
		imp := consent(u, decision.Denied, 11)
		imp.Imported, imp.EffectiveAt = true, t0
		got := erasureIntents("ai_training", []consentstore.Change{c, consent(identity.TenantOf("acme"), decision.Denied, 12), consent(u, decision.Granted, 13), imp}, state)
		assert.Empty(t, got)
	})
}

func TestDecode(t *testing.T) {
	legacy := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "7", TenantID: "acme", Purpose: "ai_training", Status: schema.StatusDenied, EffectiveAt: t0}
	cs, _, err := Decode(&legacy, 1, 4)
	require.NoError(t, err)
	require.Len(t, cs, 2, "a legacy record with a tenant is that tenant's user and anonymous id")
	assert.Equal(t, consentstore.TenantUserRef("acme", "7"), cs[0].Subject)
	assert.Equal(t, consentstore.AnonymousRef("acme", "7"), cs[1].Subject)

	legacy.TenantID = ""
	cs, _, err = Decode(&legacy, 1, 5)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, identity.LegacyOf("7"), cs[0].Subject, "without a tenant: the legacy subject, consulted in every tenant")

	l := identity.LinkChange(identity.NewLink(consentstore.TenantUserRef("acme", "7"), consentstore.AnonymousRef("acme", "c")), "acme", t0, "filter")
	cs, _, err = Decode(&l, 1, 6)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.NotNil(t, cs[0].Link)

	e := identity.EraseChange(consentstore.AnonymousRef("acme", "c"), "ai_training", "1:5", t0)
	cs, _, err = Decode(&e, 1, 7)
	require.NoError(t, err)
	assert.Empty(t, cs, "erasure requests only advance positions")

	bad := schema.ConsentChange{SubjectType: schema.SubjectAnonymous, SubjectID: "c", Purpose: "ai_training", Status: schema.StatusDenied, SubjectScope: "TENANT"}
	_, reason, err := Decode(&bad, 0, 0)
	assert.Error(t, err, "a tenant-scoped id needs its tenant")
	assert.Equal(t, "invalid", reason)
}
