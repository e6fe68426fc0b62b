package consentstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

// Two tenants' user 7 are two records; links live in both subjects' records
// of the link purpose, idempotently.
func TestTenantScopedRecordsAndLinks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 4, LinkPurpose: "ai_training"})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	a7, b7 := TenantUserRef("acme", "7"), TenantUserRef("globex", "7")
	anon := AnonymousRef("acme", "cookie-1")
	link := identity.NewLink(a7, anon)
	require.NoError(t, w.Apply(ctx, []Change{
		{Subject: a7, TenantID: "acme", Purpose: "ai_training", Status: decision.Granted, EffectiveAt: t0, Partition: 0, Offset: 0},
		{Subject: b7, TenantID: "globex", Purpose: "ai_training", Status: decision.Denied, EffectiveAt: t0, Partition: 0, Offset: 1},
		{Link: &link, Partition: 0, Offset: 2},
		{Link: &link, Partition: 0, Offset: 3}, // a replayed or repeated link changes nothing
	}))
	got, err := f.store.Lookup(ctx, "ai_training", []SubjectRef{a7, b7, anon, UserRef("7")})
	require.NoError(t, err)
	assert.Equal(t, decision.Granted, got[a7].Status)
	assert.Equal(t, decision.Denied, got[b7].Status)
	assert.Equal(t, []SubjectRef{anon}, got[a7].Links)
	assert.Empty(t, got[b7].Links)
	require.Contains(t, got, anon, "a subject with links only is present")
	assert.False(t, got[anon].Has())
	assert.Nil(t, got[anon].Decision())
	assert.Equal(t, []SubjectRef{a7}, got[anon].Links)
	assert.NotContains(t, got, UserRef("7"), "the global user 7 is a third subject")

	// Links are stored under the link purpose only.
	other, err := f.store.Lookup(ctx, "analytics", []SubjectRef{a7})
	require.NoError(t, err)
	assert.Empty(t, other)
}

// An imported change wins only over an older effective time, so an import
// never rolls a subject back, whatever its offset; replays agree.
func TestImportedChangesNeverRollBack(t *testing.T) {
	ctx := context.Background()
	u := TenantUserRef("acme", "7")
	apply := func(f *fixture, cs ...Change) {
		w, err := f.store.OpenWriter(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, w.Apply(ctx, cs))
	}
	denied := Change{Subject: u, Purpose: "ai_training", Status: decision.Denied, EffectiveAt: t0, Partition: 1, Offset: 5}
	old := Change{Subject: u, Purpose: "ai_training", Status: decision.Granted, EffectiveAt: time.Unix(0, 0), Partition: 1, Offset: 9, Imported: true}
	newer := Change{Subject: u, Purpose: "ai_training", Status: decision.Granted, EffectiveAt: t0.Add(time.Hour), Partition: 1, Offset: 10, Imported: true}
	f := newFixture(t, Options{})
	apply(f, denied, old)
	got, err := f.store.Lookup(ctx, "ai_training", []SubjectRef{u})
	require.NoError(t, err)
	assert.Equal(t, decision.Denied, got[u].Status, "a grant dated 1970 does not undo the denial")
	assert.Equal(t, "1:5", got[u].Version())

	apply(f, newer)
	got, err = f.store.Lookup(ctx, "ai_training", []SubjectRef{u})
	require.NoError(t, err)
	assert.Equal(t, decision.Granted, got[u].Status, "a newer imported record applies")

	// Without a stored record an imported one applies.
	g := newFixture(t, Options{})
	apply(g, old)
	got, err = g.store.Lookup(ctx, "ai_training", []SubjectRef{u})
	require.NoError(t, err)
	assert.Equal(t, decision.Granted, got[u].Status)
}

// Legacy records raise the legacy flag before they are written, and the flag
// is part of the generation.
func TestLegacyFlag(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	h, err := f.store.Health(ctx, nil, 0)
	require.NoError(t, err)
	assert.False(t, h.Legacy)
	f.hook.reset()
	require.NoError(t, w.Apply(ctx, []Change{{Subject: identity.LegacyOf("7"), Purpose: "ai_training", Status: decision.Denied, EffectiveAt: t0}}))
	_, singles := f.hook.snapshot()
	assert.Contains(t, singles, "hset", "the flag is written on its own, before the records' scripts")
	h, err = f.store.Health(ctx, nil, 0)
	require.NoError(t, err)
	assert.True(t, h.Legacy)
	w2, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	f.hook.reset()
	require.NoError(t, w2.Apply(ctx, []Change{{Subject: identity.LegacyOf("8"), Purpose: "ai_training", Status: decision.Denied, EffectiveAt: t0, Offset: 1}}))
	_, singles = f.hook.snapshot()
	assert.NotContains(t, singles, "hset", "a resumed writer knows the flag is set")
}

// A store of the previous layout (keys without the layout version) is not
// taken for this one's: the new layout starts empty and rebuilds.
func TestOldLayoutIsIgnored(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	f.mr.HSet("cf:meta", "gen", "old", "complete", "1", "buckets", "16")
	for b := 0; b < 16; b++ {
		f.mr.HSet("{cf:b"+string(rune('0'+b%10))+"}:meta", "gen", "old")
	}
	f.mr.HSet("{cf:b3}:c:ai_training:u:7", "s", "GRANTED", "at", "1", "p", "0", "o", "1")
	pos, ok, err := f.store.Positions(ctx)
	require.NoError(t, err)
	assert.False(t, ok, "no state of this layout: rebuild")
	assert.Nil(t, pos)
	w, err := f.store.OpenWriter(ctx, map[int]int64{0: 3})
	require.NoError(t, err)
	assert.True(t, w.Rebuilding())
	assert.Equal(t, "old", f.mr.HGet("cf:meta", "gen"), "the old layout's keys are left alone")
}
