package consentstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

func TestPositionsMissingUntilBuilt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	pos, ok, err := f.store.Positions(ctx)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Nil(t, pos)
}

func TestPositionsAreMinimumOverBuckets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 3})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.ApplyTo(ctx, nil, map[int]int64{0: 50, 1: 20}))
	// A pipeline that only reached some buckets (crash mid-apply).
	f.mr.HSet("{cf:v2:b1}:meta", "p:0", "40")
	f.mr.HDel("{cf:v2:b2}:meta", "p:1")
	pos, ok, err := f.store.Positions(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, map[int]int64{0: 40, 1: 0}, pos)

	w2, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	assert.False(t, w2.Rebuilding())
	assert.Equal(t, map[int]int64{0: 40, 1: 0}, w2.Positions())
}

func TestFlushIsDetectedEvenIfTheWriterKeepsWriting(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 4})
	ends := map[int]int64{0: 3, 1: 2}
	w, err := f.store.OpenWriter(ctx, ends)
	require.NoError(t, err)
	history := []Change{
		userChange("alice", "acme", decision.Denied, t0, 0, 0),
		userChange("bob", "acme", decision.Granted, t0, 0, 2),
		tenantChange("acme", decision.Granted, t0, 1, 1),
	}
	require.NoError(t, w.Apply(ctx, history))
	require.True(t, w.Complete())
	require.True(t, f.store.Ready(ctx, ends, 0))

	f.mr.FlushAll()

	// The running materializer applies its next change with its in-memory
	// positions: refused, nothing written, so Redis cannot look current.
	err = w.Apply(ctx, []Change{userChange("carol", "", decision.Granted, t0, 0, 3)})
	require.ErrorIs(t, err, ErrGenerationLost)
	assert.Empty(t, f.mr.Keys())

	h, err := f.store.Health(ctx, ends, 100)
	require.NoError(t, err)
	assert.False(t, h.Ready)
	assert.Equal(t, ReasonNoState, h.Reason)
	_, err = f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	require.ErrorIs(t, err, ErrNotReady)
	_, ok, err := f.store.Positions(ctx)
	require.NoError(t, err)
	assert.False(t, ok)

	// Reopen: a new generation, rebuilding from the beginning.
	ends = map[int]int64{0: 4, 1: 2}
	w2, err := f.store.OpenWriter(ctx, ends)
	require.NoError(t, err)
	assert.True(t, w2.Rebuilding())
	assert.NotEqual(t, w.Generation(), w2.Generation())
	assert.Empty(t, w2.Positions())
	h, err = f.store.Health(ctx, ends, 100)
	require.NoError(t, err)
	assert.Equal(t, ReasonRebuilding, h.Reason, "incomplete even within the lag bound")
	_, err = f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	require.ErrorIs(t, err, ErrNotReady)

	// The old writer stays fenced off.
	require.ErrorIs(t, w.Apply(ctx, []Change{userChange("x", "", decision.Granted, t0, 0, 9)}), ErrGenerationLost)

	require.NoError(t, w2.Apply(ctx, history[:2]))
	assert.False(t, w2.Complete())
	require.NoError(t, w2.Apply(ctx, append(history[2:], userChange("carol", "", decision.Granted, t0, 0, 3))))
	assert.True(t, w2.Complete())
	h, err = f.store.Health(ctx, ends, 0)
	require.NoError(t, err)
	assert.True(t, h.Ready, "%+v", h)
	got, err := f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice"), UserRef("carol")})
	require.NoError(t, err)
	assert.Equal(t, decision.Denied, got[UserRef("alice")].Status)
	assert.Contains(t, got, UserRef("carol"))
}

func TestPartialBucketLoss(t *testing.T) {
	// One cluster shard restarted empty: its bucket meta and records are gone.
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 4})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	var refs []SubjectRef
	var batch []Change
	for i, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		batch = append(batch, userChange(id, "", decision.Denied, t0, 0, int64(i)))
		refs = append(refs, UserRef(id))
	}
	require.NoError(t, w.Apply(ctx, batch))
	require.True(t, f.store.Ready(ctx, map[int]int64{0: 8}, 0))

	for _, k := range f.mr.Keys() {
		if hashTag(k) == "cf:v2:b2" {
			f.mr.Del(k)
		}
	}
	h, err := f.store.Health(ctx, map[int]int64{0: 8}, 0)
	require.NoError(t, err)
	assert.Equal(t, ReasonBucketLost, h.Reason)
	_, ok, err := f.store.Positions(ctx)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = f.store.Lookup(ctx, "ai_training", refs)
	require.ErrorIs(t, err, ErrNotReady)
	require.ErrorIs(t, w.Apply(ctx, []Change{userChange("z", "", decision.Granted, t0, 0, 9)}), ErrGenerationLost)

	w2, err := f.store.OpenWriter(ctx, map[int]int64{0: 10})
	require.NoError(t, err)
	assert.True(t, w2.Rebuilding())
}

func TestPositionGapAfterFailoverToLaggingReplica(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 2})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.ApplyTo(ctx, nil, map[int]int64{0: 100}))
	// Bucket 1 regresses to an older consistent state.
	f.mr.HSet("{cf:v2:b1}:meta", "p:0", "60")

	err = w.Apply(ctx, []Change{userChange("a", "", decision.Granted, t0, 0, 100)})
	require.ErrorIs(t, err, ErrPositionGap)
	assert.Equal(t, "60", f.mr.HGet("{cf:v2:b1}:meta", "p:0"), "the lagging bucket did not jump over its gap")
	assert.Equal(t, map[int]int64{0: 100}, w.Positions(), "the writer did not advance")

	w2, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	assert.False(t, w2.Rebuilding(), "consistent prefix: resume, no rebuild")
	assert.Equal(t, map[int]int64{0: 60}, w2.Positions())
	require.NoError(t, w2.ApplyTo(ctx, nil, map[int]int64{0: 101}))
}

func TestHealthLag(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 2})
	w, err := f.store.OpenWriter(ctx, map[int]int64{0: 10, 1: 5})
	require.NoError(t, err)
	require.NoError(t, w.ApplyTo(ctx, nil, map[int]int64{0: 10, 1: 5}))

	h, err := f.store.Health(ctx, map[int]int64{0: 15, 1: 5, 2: 3}, 5)
	require.NoError(t, err)
	assert.True(t, h.Ready)
	assert.Equal(t, map[int]int64{0: 5, 1: 0, 2: 3}, h.Lag)
	assert.Equal(t, int64(5), h.MaxLag)
	assert.Equal(t, w.Generation(), h.Generation)

	h, err = f.store.Health(ctx, map[int]int64{0: 16, 1: 5}, 5)
	require.NoError(t, err)
	assert.False(t, h.Ready)
	assert.Equal(t, ReasonLagging, h.Reason)
	assert.False(t, f.store.Ready(ctx, map[int]int64{0: 16}, 5))

	// Redis down: an error, not ready.
	f.mr.Close()
	_, err = f.store.Health(ctx, map[int]int64{0: 10}, 5)
	assert.Error(t, err)
	assert.False(t, f.store.Ready(ctx, map[int]int64{0: 10}, 5))
}

func TestBucketCountChangeForcesRebuild(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 2})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("a", "", decision.Granted, t0, 0, 0)}))

	s4, err := New(f.rdb, Options{Buckets: 4})
	require.NoError(t, err)
	h, err := s4.Health(ctx, nil, 0)
	require.NoError(t, err)
	assert.Equal(t, ReasonBucketConfig, h.Reason)
	_, err = s4.Lookup(ctx, "ai_training", []SubjectRef{UserRef("a")})
	require.ErrorIs(t, err, ErrNotReady)
	w4, err := s4.OpenWriter(ctx, nil)
	require.NoError(t, err)
	assert.True(t, w4.Rebuilding())
}

func TestNewValidatesOptions(t *testing.T) {
	f := newFixture(t, Options{})
	for _, o := range []Options{{Namespace: "a{b}"}, {Namespace: "a b"}, {Buckets: -1}, {Buckets: 5000}} {
		_, err := New(f.rdb, o)
		assert.Error(t, err, "%+v", o)
	}
	_, err := New(nil, Options{})
	assert.Error(t, err)
}

func TestNamespacesAreIsolated(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	other, err := New(f.rdb, Options{Namespace: "cf2"})
	require.NoError(t, err)
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("a", "", decision.Granted, t0, 0, 0)}))
	_, ok, err := other.Positions(ctx)
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestWriterVerify(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 2})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Verify(ctx))
	f.mr.Del("{cf:v2:b1}:meta")
	require.ErrorIs(t, w.Verify(ctx), ErrGenerationLost)

	f.mr.FlushAll()
	w2, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w2.Verify(ctx))
	require.ErrorIs(t, w.Verify(ctx), ErrGenerationLost, "superseded")
}
