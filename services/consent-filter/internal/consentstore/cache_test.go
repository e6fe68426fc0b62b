package consentstore

import (
	"context"
	"github.com/consentflow/consentflow/pkg/identity"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

// subscribed starts c.Subscribe and waits until the cache is enabled.
func subscribed(t *testing.T, c *CachedLookup) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = c.Subscribe(ctx)
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	eventually(t, c.Enabled, "cache enabled after subscribing")
}

func TestCacheServesHitsWithoutRedis(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "acme", decision.Granted, t0, 0, 1)}))
	c := NewCachedLookup(f.store, CacheOptions{}, zaptest.NewLogger(t))
	assert.False(t, c.Enabled(), "disabled until subscribed")
	subscribed(t, c)

	refs := []SubjectRef{UserRef("alice"), UserRef("bob"), TenantRef("acme")}
	first, err := c.Lookup(ctx, "ai_training", refs)
	require.NoError(t, err)
	assert.Len(t, first, 1)
	assert.Equal(t, 3, c.Len(), "not-found is cached too")

	f.hook.reset()
	second, err := c.Lookup(ctx, "ai_training", refs)
	require.NoError(t, err)
	assert.Equal(t, first, second)
	pipes, singles := f.hook.snapshot()
	assert.Empty(t, pipes)
	assert.Empty(t, singles)
	assert.Equal(t, uint64(3), c.Stats().Hits)
}

func TestCacheInvalidatedByApply(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "acme", decision.Granted, t0, 0, 1)}))
	c := NewCachedLookup(f.store, CacheOptions{TTL: time.Hour}, zaptest.NewLogger(t))
	subscribed(t, c)

	refs := []SubjectRef{UserRef("alice"), UserRef("bob"), TenantRef("acme")}
	_, err = c.Lookup(ctx, "ai_training", refs)
	require.NoError(t, err)
	require.Equal(t, 3, c.Len())

	// Withdrawal of alice, and a tenant denial; bob untouched.
	require.NoError(t, w.Apply(ctx, []Change{
		userChange("alice", "acme", decision.Denied, t0.Add(time.Minute), 0, 2),
		tenantChange("acme", decision.Denied, t0.Add(time.Minute), 0, 3),
	}))
	eventually(t, func() bool { return c.Len() == 1 }, "alice and acme evicted")
	got, err := c.Lookup(ctx, "ai_training", refs)
	require.NoError(t, err)
	assert.Equal(t, decision.Denied, got[UserRef("alice")].Status)
	assert.Equal(t, decision.Denied, got[TenantRef("acme")].Status)

	// A replay changes nothing and publishes nothing.
	inv := c.Stats().Invalidations
	require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "acme", decision.Denied, t0.Add(time.Minute), 0, 2)}))
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, inv, c.Stats().Invalidations)
	assert.Equal(t, 3, c.Len())
}

func TestCacheDisabledAfterSubscriptionLoss(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "", decision.Granted, t0, 0, 1)}))
	c := NewCachedLookup(f.store, CacheOptions{TTL: time.Hour, PingInterval: 50 * time.Millisecond, RetryBackoff: 20 * time.Millisecond}, zaptest.NewLogger(t))
	subscribed(t, c)
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	require.NoError(t, err)
	require.Equal(t, 1, c.Len())

	f.mr.Close()
	eventually(t, func() bool { return !c.Enabled() }, "disabled when the subscription drops")
	assert.Equal(t, 0, c.Len(), "cleared")
	// While disabled, lookups go to Redis (down here): an error, never a
	// cached answer.
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	assert.Error(t, err)

	// A change applied while we were not subscribed (simulated directly:
	// the restarted server has the same data).
	require.NoError(t, f.mr.Restart())
	eventually(t, c.Enabled, "re-enabled after resubscribing")
	got, err := c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	require.NoError(t, err)
	assert.Equal(t, decision.Granted, got[UserRef("alice")].Status)
	assert.GreaterOrEqual(t, c.Stats().SubscriptionLosses, uint64(1))
}

func TestCacheIdleSubscriptionStaysEnabled(t *testing.T) {
	f := newFixture(t, Options{})
	c := NewCachedLookup(f.store, CacheOptions{PingInterval: 10 * time.Millisecond}, zaptest.NewLogger(t))
	subscribed(t, c)
	time.Sleep(100 * time.Millisecond)
	assert.True(t, c.Enabled(), "idle but answering pings")
	assert.Zero(t, c.Stats().SubscriptionLosses)
}

func TestCacheDisabledWhenPingUnanswered(t *testing.T) {
	// A half-open connection (network partition, no RST): the subscription
	// looks alive but nothing arrives. The unanswered ping must disable it.
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, nil))

	px := newFreezeProxy(t, f.mr.Addr())
	rdb := redis.NewClient(&redis.Options{Addr: px.addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := New(rdb, Options{})
	require.NoError(t, err)
	c := NewCachedLookup(s, CacheOptions{PingInterval: 30 * time.Millisecond, RetryBackoff: 10 * time.Millisecond}, zaptest.NewLogger(t))
	subscribed(t, c)
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("a")})
	require.NoError(t, err)
	require.Equal(t, 1, c.Len())

	px.freeze(true)
	eventually(t, func() bool { return !c.Enabled() }, "disabled after an unanswered ping")
	assert.Equal(t, 0, c.Len())
	px.freeze(false)
	eventually(t, c.Enabled, "re-enabled once the network is back")
}

func TestCacheDoesNotStoreAFetchRacingAnInvalidation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "", decision.Granted, t0, 0, 1)}))
	c := NewCachedLookup(f.store, CacheOptions{}, zaptest.NewLogger(t))
	subscribed(t, c)

	// An invalidation lands while the lookup's pipeline is in flight.
	f.hook.mu.Lock()
	f.hook.onPipeline = func([]redis.Cmder) { c.invalidate("ai_training", UserRef("someone")) }
	f.hook.mu.Unlock()
	got, err := c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	require.NoError(t, err)
	assert.Contains(t, got, UserRef("alice"), "the answer is still returned")
	assert.Equal(t, 0, c.Len(), "but not cached")
}

func TestCacheResetOnNewGeneration(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "", decision.Granted, t0, 0, 1)}))
	c := NewCachedLookup(f.store, CacheOptions{}, zaptest.NewLogger(t))
	subscribed(t, c)
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice"), UserRef("bob")})
	require.NoError(t, err)
	require.Equal(t, 2, c.Len())

	f.mr.FlushAll()
	_, err = f.store.OpenWriter(ctx, map[int]int64{0: 5})
	require.NoError(t, err)
	eventually(t, func() bool { return c.Len() == 0 }, "reset clears the cache")
	assert.Equal(t, uint64(1), c.Stats().Resets)
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	require.ErrorIs(t, err, ErrNotReady, "misses go to Redis, which is rebuilding")
}

func TestCacheBoundAndTTL(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("u0", "", decision.Granted, t0, 0, 1)}))
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := NewCachedLookup(f.store, CacheOptions{Size: 3, TTL: time.Second, Now: clock}, zaptest.NewLogger(t))
	subscribed(t, c)

	for _, id := range []string{"u0", "u1", "u2", "u3"} {
		_, err := c.Lookup(ctx, "ai_training", []SubjectRef{UserRef(id)})
		require.NoError(t, err)
	}
	assert.Equal(t, 3, c.Len(), "bounded; u0 evicted as least recent")
	f.hook.reset()
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("u3")})
	require.NoError(t, err)
	pipes, _ := f.hook.snapshot()
	assert.Empty(t, pipes, "u3 cached")
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("u0")})
	require.NoError(t, err)
	pipes, _ = f.hook.snapshot()
	assert.Len(t, pipes, 1, "u0 was evicted")

	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	f.hook.reset()
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("u3")})
	require.NoError(t, err)
	pipes, _ = f.hook.snapshot()
	assert.Len(t, pipes, 1, "expired entries are refetched")
}

func TestCacheUnparseableMessageClears(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, nil))
	c := NewCachedLookup(f.store, CacheOptions{}, zaptest.NewLogger(t))
	subscribed(t, c)
	_, err = c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("a")})
	require.NoError(t, err)
	require.Equal(t, 1, c.Len())
	f.mr.Publish("cf:v2:invalidate:ai_training", "garbage")
	eventually(t, func() bool { return c.Len() == 0 }, "cleared")
	assert.True(t, c.Enabled())
}

// TestCacheLookupIntoAddsToTheMap: LookupInto adds what Lookup returns — from
// Redis and from the cache alike — to the caller's map, and keeps what the
// map held.
func TestCacheLookupIntoAddsToTheMap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("alice", "acme", decision.Granted, t0, 0, 1), userChange("carol", "acme", decision.Denied, t0, 0, 2)}))
	c := NewCachedLookup(f.store, CacheOptions{}, zaptest.NewLogger(t))
	subscribed(t, c)
	want, err := f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice"), UserRef("bob"), UserRef("carol")})
	require.NoError(t, err)
	require.Len(t, want, 2)

	other := SubjectRef(identity.Subject{Kind: identity.User, Tenant: "elsewhere", ID: "dora"})
	held := Record{Status: decision.Granted}
	fromRedis := map[SubjectRef]Record{other: held}
	require.NoError(t, c.LookupInto(ctx, "ai_training", []SubjectRef{UserRef("alice"), UserRef("bob")}, fromRedis))
	assert.Equal(t, map[SubjectRef]Record{other: held, UserRef("alice"): want[UserRef("alice")]}, fromRedis)
	mixed := map[SubjectRef]Record{other: held} // alice and bob from the cache, carol from Redis
	require.NoError(t, c.LookupInto(ctx, "ai_training", []SubjectRef{UserRef("alice"), UserRef("bob"), UserRef("carol")}, mixed))
	assert.Equal(t, uint64(2), c.Stats().Hits)
	assert.Equal(t, held, mixed[other], "what the map held stays")
	delete(mixed, other)
	assert.Equal(t, want, mixed)
}
