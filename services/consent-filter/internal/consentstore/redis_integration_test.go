package consentstore

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

// TestRealRedis runs the core scenarios against a real Redis (Lua semantics,
// error replies, pub/sub from scripts). Set CONSENTFLOW_REDIS_ADDR to run it
// (the live suite sets REDIS_ADDR);
// it only touches keys of a fresh namespace.
func TestRealRedis(t *testing.T) {
	addr := os.Getenv("CONSENTFLOW_REDIS_ADDR")
	if addr == "" && os.Getenv("CONSENTFLOW_LIVE") == "1" {
		addr = os.Getenv("REDIS_ADDR") // the live suite's Redis
	}
	if addr == "" {
		t.Skip("CONSENTFLOW_REDIS_ADDR not set (or run the live suite)")
	}
	// The live Redis may want an ACL user and TLS (REDIS_USERNAME, REDIS_TLS_*).
	var rc redisconn.Config
	require.NoError(t, config.Load(&rc))
	rc.Addr = addr
	client, err := rc.NewClient(redisconn.Options{})
	require.NoError(t, err)
	rdb := client.(*redis.Client)
	t.Cleanup(func() { _ = rdb.Close() })
	realRedisScenario(t, rdb, func(ctx context.Context, fn func(context.Context, *redis.Client) error) error {
		return fn(ctx, rdb)
	})
}

// TestRealRedisCluster is TestRealRedis on a Redis Cluster: every script and
// pipeline must respect slots. The live suite runs it on the three-node cluster
// of scripts/services.sh (REDIS_CLUSTER_ADDRS); CONSENTFLOW_REDIS_CLUSTER_ADDRS,
// a comma-separated list of seed nodes, names another cluster.
func TestRealRedisCluster(t *testing.T) {
	addrs := os.Getenv("CONSENTFLOW_REDIS_CLUSTER_ADDRS")
	if addrs == "" && os.Getenv("CONSENTFLOW_LIVE") == "1" {
		addrs = os.Getenv("REDIS_CLUSTER_ADDRS")
		if addrs == "" && os.Getenv("CONSENTFLOW_REDIS_CLUSTER") != "off" {
			t.Fatal("live suite without REDIS_CLUSTER_ADDRS: `make services` starts the Redis Cluster (CONSENTFLOW_REDIS_CLUSTER=off skips this test)")
		}
	}
	if addrs == "" {
		t.Skip("no Redis Cluster: CONSENTFLOW_REDIS_CLUSTER_ADDRS not set (or run the live suite)")
	}
	// A secured cluster takes the TLS and ACL settings of REDIS_* (scripts/services.sh).
	var rc redisconn.Config
	require.NoError(t, config.Load(&rc))
	rc.Addr, rc.Cluster = addrs, true
	client, err := rc.NewClient(redisconn.Options{})
	require.NoError(t, err)
	rdb := client.(*redis.ClusterClient)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	require.NoError(t, rdb.Ping(ctx).Err())
	masters := 0
	require.NoError(t, rdb.ForEachMaster(ctx, func(context.Context, *redis.Client) error { masters++; return nil }))
	require.GreaterOrEqual(t, masters, 2, "a cluster with several masters, so that slots really are spread")
	realRedisScenario(t, rdb, rdb.ForEachMaster)
}

func realRedisScenario(t *testing.T, rdb redis.UniversalClient, eachNode func(context.Context, func(context.Context, *redis.Client) error) error) {
	ctx := context.Background()
	require.NoError(t, rdb.Ping(ctx).Err())
	ns := fmt.Sprintf("cftest%d", time.Now().UnixNano())
	s, err := New(rdb, Options{Namespace: ns, Buckets: 4})
	require.NoError(t, err)
	wipe := func() {
		require.NoError(t, eachNode(ctx, func(ctx context.Context, node *redis.Client) error {
			iter := node.Scan(ctx, 0, "*"+ns+"*", 1000).Iterator()
			for iter.Next(ctx) {
				if err := node.Del(ctx, iter.Val()).Err(); err != nil {
					return err
				}
			}
			return iter.Err()
		}))
	}
	t.Cleanup(wipe)

	w, err := s.OpenWriter(ctx, map[int]int64{0: 3})
	require.NoError(t, err)
	// A silent subscription is pinged after PingInterval and dropped (the cache
	// cleared) if the pong is late: on a busy machine, and over TLS, 50 ms was
	// too short for a real Redis. The ping itself is tested in cache_test.go.
	c := NewCachedLookup(s, CacheOptions{PingInterval: time.Second}, zaptest.NewLogger(t))
	subscribed(t, c)

	batch := []Change{
		userChange("alice", "acme", decision.Granted, t0, 0, 0),
		userChange("alice", "acme", decision.Denied, t0.Add(time.Minute), 0, 2),
		userChange("bob", "acme", decision.Granted, t0, 0, 1),
	}
	require.NoError(t, w.Apply(ctx, batch))
	require.True(t, w.Complete())
	require.NoError(t, w.Apply(ctx, batch), "replay")
	require.NoError(t, w.ApplyTo(ctx, []Change{userChange("alice", "acme", decision.Granted, t0, 0, 1)}, nil), "older")

	got, err := c.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice"), UserRef("bob"), TenantRef("acme")})
	require.NoError(t, err)
	assert.Equal(t, "0:2", got[UserRef("alice")].Version())
	assert.Equal(t, decision.Denied, got[UserRef("alice")].Status)
	assert.Equal(t, 3, c.Len())

	require.NoError(t, w.Apply(ctx, []Change{userChange("bob", "acme", decision.Denied, t0.Add(time.Hour), 0, 3)}))
	overPubSub(t, c, func() bool { return c.Len() == 2 }, "bob invalidated over real pub/sub")

	// Wrong-type key: the script fails before writing anything.
	key, mb := s.k.record("ai_training", UserRef("mallory"))
	zed := ""
	for i := 0; zed == ""; i++ { // a subject in mallory's bucket, so in the same script
		if _, b := s.k.record("ai_training", UserRef(fmt.Sprint("zed", i))); b == mb {
			zed = fmt.Sprint("zed", i)
		}
	}
	require.NoError(t, rdb.Set(ctx, key, "x", 0).Err())
	err = w.Apply(ctx, []Change{
		userChange(zed, "", decision.Granted, t0, 0, 4),
		userChange("mallory", "", decision.Granted, t0, 0, 5),
	})
	require.Error(t, err)
	zkey, _ := s.k.record("ai_training", UserRef(zed))
	assert.Zero(t, rdb.Exists(ctx, zkey).Val(), "same script: nothing written")
	require.NoError(t, rdb.Del(ctx, key).Err())

	// Flush (of our namespace): detected, writer fenced, rebuild.
	wipe()
	require.ErrorIs(t, w.Apply(ctx, []Change{userChange("carol", "", decision.Granted, t0, 0, 6)}), ErrGenerationLost)
	_, err = s.Lookup(ctx, "ai_training", []SubjectRef{UserRef("alice")})
	require.ErrorIs(t, err, ErrNotReady)
	w2, err := s.OpenWriter(ctx, map[int]int64{0: 7})
	require.NoError(t, err)
	assert.True(t, w2.Rebuilding())
	overPubSub(t, c, func() bool { return c.Len() == 0 }, "reset over real pub/sub")
	require.NoError(t, w2.ApplyTo(ctx, batch, map[int]int64{0: 7}))
	assert.True(t, s.Ready(ctx, map[int]int64{0: 7}, 0))
}

// overPubSub waits for a message that crosses a real Redis (on a cluster, the
// cluster bus too) to change the cache. The wait is generous (a loaded CI
// machine delayed a cluster PUBLISH past 3 s) and still far below the cache's
// 30 s TTL, so only the message can satisfy cond. A failure says whether the
// message never came or the subscription was lost meanwhile (which clears the
// cache and would hide the message).
func overPubSub(t *testing.T, c *CachedLookup, cond func() bool, msg string) {
	t.Helper()
	before := c.Stats()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			st := c.Stats()
			t.Fatalf("%s: not within 15 s; cache len %d, invalidations %d -> %d, resets %d -> %d, subscription losses %d -> %d",
				msg, c.Len(), before.Invalidations, st.Invalidations, before.Resets, st.Resets, before.SubscriptionLosses, st.SubscriptionLosses)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := c.Stats(); st.SubscriptionLosses != before.SubscriptionLosses {
		t.Fatalf("%s: the subscription was lost meanwhile (%d -> %d), so the cache was cleared, not invalidated by the message",
			msg, before.SubscriptionLosses, st.SubscriptionLosses)
	}
}
