package filter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestSubjectsOf(t *testing.T) {
	m := identity.DefaultModes()
	es, err := subjectsOf(m, &schema.InteractionEvent{TenantID: "acme", UserID: "7", AnonymousID: "c1"})
	require.NoError(t, err)
	assert.Equal(t, consentstore.TenantUserRef("acme", "7"), es.primary)
	assert.Equal(t, []identity.Subject{consentstore.AnonymousRef("acme", "c1")}, es.carried)
	assert.Len(t, es.links, 1)
	assert.Equal(t, []string{"7", "c1"}, es.rawIDs())

	es, err = subjectsOf(m, &schema.InteractionEvent{TenantID: "acme", AnonymousID: "c1"})
	require.NoError(t, err)
	assert.Equal(t, consentstore.AnonymousRef("acme", "c1"), es.primary)
	assert.Empty(t, es.carried)

	for _, ev := range []schema.InteractionEvent{
		{TenantID: "acme"}, {UserID: "7"}, {TenantID: "acme", UserID: "a\x00"}, {TenantID: "a\xff", UserID: "7"},
	} {
		_, err := subjectsOf(m, &ev)
		assert.Error(t, err, "%+v", ev)
	}
}

func TestDecisionInput(t *testing.T) {
	u, a := consentstore.TenantUserRef("acme", "7"), consentstore.AnonymousRef("acme", "c1")
	other := consentstore.AnonymousRef("acme", "c2")
	es := eventSubjects{primary: u, carried: []identity.Subject{a}, ids: [3]string{"7", "c1"}, nids: 2}
	rec := func(s decision.Status, at time.Time, off int64) consentstore.Record {
		return consentstore.Record{Status: s, EffectiveAt: at, Partition: 0, Offset: off}
	}
	recs := map[identity.Subject]consentstore.Record{
		u:                       rec(decision.Granted, t0, 1),
		a:                       rec(decision.Denied, t0, 2),
		other:                   {Links: []identity.Subject{u}}, // links only
		identity.LegacyOf("7"):  rec(decision.Denied, t0.Add(-time.Hour), 3),
		identity.LegacyOf("c1"): rec(decision.Denied, t0.Add(time.Hour), 4),
	}
	linked := linkedOf(es, []identity.Subject{other, a}, map[identity.Subject][]identity.Subject{u: {consentstore.AnonymousRef("acme", "c3")}})
	assert.Equal(t, []identity.Subject{a, other, consentstore.AnonymousRef("acme", "c3")}, linked, "carried, stored and in-batch links, once each")

	user, others, tooMany := decisionInput(es, linked, recs, true, 10, recordMemo{})
	require.NotNil(t, user)
	assert.Equal(t, "0:1", user.Version)
	assert.False(t, tooMany)
	var versions []string
	for _, o := range others {
		versions = append(versions, o.Version)
	}
	assert.Equal(t, []string{"0:2", "0:4"}, versions, "the anonymous id's record and the newer legacy record; the older legacy record of 7 is superseded by 7's own choice")

	_, others, _ = decisionInput(es, linked, recs, false, 10, nil)
	assert.Len(t, others, 1, "no legacy records while the store has none")
	_, _, tooMany = decisionInput(es, linked, recs, false, 2, recordMemo{})
	assert.True(t, tooMany)
}

func TestStoredLink(t *testing.T) {
	u, a := consentstore.TenantUserRef("acme", "7"), consentstore.AnonymousRef("acme", "c1")
	l := identity.NewLink(u, a)
	assert.False(t, storedLink(l, nil))
	assert.True(t, storedLink(l, map[identity.Subject]consentstore.Record{u: {Links: []identity.Subject{a}}}))
	assert.True(t, storedLink(l, map[identity.Subject]consentstore.Record{a: {Links: []identity.Subject{u}}}))
}

// A row's consent version is the materializer's position on the partition
// its tenant's records share, so erasures of any subject of the tenant order
// against it.
func TestStateVersion(t *testing.T) {
	u := consentstore.TenantUserRef("acme", "7")
	p := stream.PartitionOf([]byte(identity.TenantOf("acme").Route()), 3)
	assert.Equal(t, stream.PartitionOf([]byte(consentstore.AnonymousRef("acme", "x").Route()), 3), p)
	v := StateVersion(u, map[int]int64{0: 5, 1: 6, 2: 7}, 3)
	got, ok := schema.ParseVersion(v)
	require.True(t, ok)
	assert.Equal(t, p, got.Partition)
	assert.Equal(t, map[int]int64{0: 5, 1: 6, 2: 7}[p], got.Offset)
	assert.Empty(t, StateVersion(u, nil, 0))
}
