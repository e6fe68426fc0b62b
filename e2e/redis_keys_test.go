package e2e

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/redisconn"
)

// eachKey calls fn with every key of the chain's Redis that matches pattern
// (SCAN on the single Redis, on every master of a cluster) and the node that
// holds it; fn is never called concurrently. A key deleted between the scan
// and fn is fn's to skip.
func eachKey(ctx context.Context, rc redisconn.Config, pattern string, fn func(ctx context.Context, c *redis.Client, key string) error) error {
	rdb, err := rc.NewClient(redisconn.Options{})
	if err != nil {
		return err
	}
	defer rdb.Close()
	var mu sync.Mutex
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var names []string
		for iter.Next(ctx) {
			names = append(names, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, n := range names {
			if err := fn(ctx, c, n); err != nil {
				return err
			}
		}
		return nil
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, scan)
	case *redis.Client:
		return scan(ctx, c)
	default:
		return fmt.Errorf("redis client %T", rdb)
	}
}
