package consentstore

import (
	"context"
	"fmt"
	"github.com/consentflow/consentflow/pkg/identity"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

func TestApplyAndLookup(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, map[int]int64{0: 0, 1: 0})
	require.NoError(t, err)
	assert.True(t, w.Rebuilding())
	assert.True(t, w.Complete(), "empty topic: complete at once")

	require.NoError(t, w.Apply(ctx, []Change{
		userChange("alice", "acme", decision.Granted, t0, 0, 3),
		userChange("bob", "acme", decision.Denied, t0.Add(time.Second), 1, 7),
		tenantChange("acme", decision.Granted, t0.Add(-time.Hour), 1, 8),
	}))
	assert.Equal(t, map[int]int64{0: 4, 1: 9}, w.Positions())

	got, err := f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice"), UserRef("bob"), TenantRef("acme"), UserRef("carol"), UserRef("alice")})
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, Record{Status: decision.Granted, EffectiveAt: t0, Partition: 0, Offset: 3, TenantID: "acme"}, got[UserRef("alice")])
	assert.Equal(t, "1:7", got[UserRef("bob")].Version())
	assert.Equal(t, decision.Denied, got[UserRef("bob")].Status)
	assert.Equal(t, "", got[TenantRef("acme")].TenantID)
	assert.Equal(t, &decision.Record{Status: decision.Granted, EffectiveAt: t0, Version: "0:3"}, got[UserRef("alice")].Decision())

	// Other purposes are separate records.
	other, err := f.store.Lookup(ctx, "analytics", []SubjectRef{UserRef("alice")})
	require.NoError(t, err)
	assert.Empty(t, other)

	pos, ok, err := f.store.Positions(ctx)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, map[int]int64{0: 4, 1: 9}, pos)
}

func TestApplyReplayIsIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 4})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	var batch []Change
	for i := range 50 {
		st := decision.Granted
		if i%3 == 0 {
			st = decision.Denied
		}
		batch = append(batch, userChange(fmt.Sprintf("u%d", i), "t1", st, t0.Add(time.Duration(i)*time.Minute), i%2, int64(100+i)))
	}
	batch = append(batch, tenantChange("t1", decision.Denied, t0, 0, 200))
	require.NoError(t, w.Apply(ctx, batch))
	before := f.dump(t)

	// Same writer, same batch again (a redelivered batch).
	require.NoError(t, w.Apply(ctx, batch))
	assert.Equal(t, before, f.dump(t))

	// A restarted materializer replays the whole batch from older positions:
	// reopen resumes the generation; replaying changes nothing.
	w2, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	assert.False(t, w2.Rebuilding())
	assert.Equal(t, w.Generation(), w2.Generation())
	require.NoError(t, w2.Apply(ctx, batch[:10]))
	require.NoError(t, w2.Apply(ctx, batch))
	assert.Equal(t, before, f.dump(t))
}

func TestApplyOlderAfterNewerIsIgnored(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)

	require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "acme", decision.Denied, t0, 2, 10)}))
	// An older change of the same key arrives later (replay from an older
	// position, or a redelivery): ignored.
	require.NoError(t, w.ApplyTo(ctx, []Change{userChange("alice", "acme", decision.Granted, t0.Add(time.Hour), 2, 5)}, nil))
	got, err := f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	require.NoError(t, err)
	assert.Equal(t, decision.Denied, got[UserRef("alice")].Status)
	assert.Equal(t, "2:10", got[UserRef("alice")].Version())

	// Within one batch: newest wins whatever the order.
	require.NoError(t, w.Apply(ctx, []Change{
		userChange("bob", "acme", decision.Granted, t0, 2, 30),
		userChange("bob", "acme", decision.Denied, t0, 2, 20),
	}))
	got, err = f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("bob")})
	require.NoError(t, err)
	assert.Equal(t, "2:30", got[UserRef("bob")].Version())
	assert.Equal(t, map[int]int64{2: 31}, w.Positions(), "positions never move back")
}

func TestApplyAcrossPartitionsIsDeterministic(t *testing.T) {
	// A key seen in two partitions (the topic was repartitioned): later
	// effective_at wins, then higher partition, in whatever order applied.
	ctx := context.Background()
	a := userChange("alice", "", decision.Granted, t0, 0, 900)
	b := userChange("alice", "", decision.Denied, t0.Add(time.Second), 3, 5)
	c := userChange("alice", "", decision.Granted, t0.Add(time.Second), 4, 1)
	for _, order := range [][]Change{{a, b, c}, {c, b, a}, {b, a, c}} {
		f := newFixture(t, Options{})
		w, err := f.store.OpenWriter(ctx, nil)
		require.NoError(t, err)
		for _, ch := range order {
			require.NoError(t, w.Apply(ctx, []Change{ch}))
		}
		got, err := f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
		require.NoError(t, err)
		assert.Equal(t, "4:1", got[UserRef("alice")].Version())
	}
}

func TestApplyScriptFailureWritesNeitherDataNorPosition(t *testing.T) {
	ctx := context.Background()

	t.Run("generation mismatch", func(t *testing.T) {
		f := newFixture(t, Options{Buckets: 1})
		w, err := f.store.OpenWriter(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "", decision.Granted, t0, 0, 1)}))
		before := f.dump(t)
		f.mr.HSet("{cf:v2:b0}:meta", "gen", "someone-else")
		before["{cf:v2:b0}:meta"]["gen"] = "someone-else"

		err = w.Apply(ctx, []Change{userChange("bob", "", decision.Denied, t0, 0, 2)})
		require.ErrorIs(t, err, ErrGenerationLost)
		assert.Equal(t, before, f.dump(t))
		assert.Equal(t, map[int]int64{0: 2}, w.Positions())
	})

	t.Run("error on a later record of the batch", func(t *testing.T) {
		f := newFixture(t, Options{Buckets: 1})
		w, err := f.store.OpenWriter(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "", decision.Granted, t0, 0, 1)}))
		// A foreign string value where bob's record hash would go.
		require.NoError(t, f.mr.Set("{cf:v2:b0}:c:ai_training:user:/bob", "not a hash"))
		before := f.dump(t)

		err = w.Apply(ctx, []Change{
			userChange("carol", "", decision.Denied, t0, 0, 2), // first in the script
			userChange("bob", "", decision.Denied, t0, 0, 3),   // fails
		})
		require.Error(t, err)
		assert.Equal(t, before, f.dump(t), "carol not written, position not advanced")
		assert.Equal(t, "2", f.mr.HGet("{cf:v2:b0}:meta", "p:0"))
	})
}

func TestApplyRejectsInvalidChanges(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	bad := []Change{
		{Subject: SubjectRef{Kind: "group", ID: "x"}, Purpose: "p", Status: decision.Granted},
		{Subject: UserRef(""), Purpose: "p", Status: decision.Granted},
		{Subject: UserRef("x"), Purpose: "a:b", Status: decision.Granted},
		{Subject: UserRef("x"), Purpose: "p", Status: "granted"},
		{Subject: UserRef("x"), Purpose: "p", Status: decision.Granted, Offset: -1},
		{Link: &identity.Link{A: UserRef("x"), B: UserRef("x")}},
	}
	for _, c := range bad {
		assert.ErrorIs(t, w.Apply(ctx, []Change{c}), ErrInvalidChange, "%+v", c)
	}
	assert.Empty(t, f.recordKeys())
}

func TestApplyToAdvancesPositionsWithoutChanges(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 3})
	w, err := f.store.OpenWriter(ctx, map[int]int64{0: 10})
	require.NoError(t, err)
	assert.False(t, w.Complete())
	require.NoError(t, w.ApplyTo(ctx, []Change{userChange("a", "", decision.Granted, t0, 0, 4)}, map[int]int64{0: 10}))
	assert.True(t, w.Complete(), "tombstones up to the end were skipped but counted")
	pos, ok, err := f.store.Positions(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, map[int]int64{0: 10}, pos)
	// Nothing new: no round trip at all.
	f.hook.reset()
	require.NoError(t, w.ApplyTo(ctx, nil, map[int]int64{0: 9}))
	p, s := f.hook.snapshot()
	assert.Empty(t, p)
	assert.Empty(t, s)
}

func TestScriptsSurviveScriptCacheFlush(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 2})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("a", "", decision.Granted, t0, 0, 1)}))
	require.NoError(t, f.rdb.ScriptFlush(ctx).Err())
	f.hook.reset()
	require.NoError(t, w.Apply(ctx, []Change{userChange("b", "", decision.Granted, t0, 0, 2)}))
	pipes, _ := f.hook.snapshot()
	require.Len(t, pipes, 2, "EVALSHA pipeline, then EVAL fallback")
	assert.Equal(t, "evalsha", pipes[0][0])
	assert.Equal(t, "eval", pipes[1][0])
	// Loaded now: EVALSHA only.
	f.hook.reset()
	require.NoError(t, w.Apply(ctx, []Change{userChange("c", "", decision.Granted, t0, 0, 3)}))
	pipes, _ = f.hook.snapshot()
	assert.Len(t, pipes, 1)
}

func TestEveryScriptTouchesOneSlot(t *testing.T) {
	// Cluster safety: the keys of each script share one hash tag, and ids
	// containing braces do not change the tag.
	ctx := context.Background()
	f := newFixture(t, Options{Buckets: 8})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	var batch []Change
	for i := range 40 {
		batch = append(batch, userChange(fmt.Sprintf("user-{%d}", i), "", decision.Granted, t0, 0, int64(i)))
	}
	var scripts int
	f.hook.mu.Lock()
	f.hook.onPipeline = func(cmds []redis.Cmder) {
		for _, c := range cmds {
			args := c.Args()
			if c.Name() != "evalsha" && c.Name() != "eval" {
				continue
			}
			scripts++
			n := int(args[2].(int))
			first := hashTag(args[3].(string))
			for _, k := range args[3 : 3+n] {
				assert.Equal(t, first, hashTag(k.(string)), "key %s", k)
			}
		}
	}
	f.hook.mu.Unlock()
	require.NoError(t, w.Apply(ctx, batch))
	assert.GreaterOrEqual(t, scripts, 8)
	assert.Len(t, f.recordKeys(), 40)
	for _, k := range f.recordKeys() {
		assert.Regexp(t, `^\{cf:v2:b[0-7]\}:c:ai_training:user:/user-%7B\d+%7D$`, k)
	}
}

// hashTag is Redis Cluster's rule: the part between the first '{' and the
// next '}', if non-empty; else the whole key.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}
