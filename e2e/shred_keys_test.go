package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/redisconn"
)

// dumpDataKeys writes every curated data key and tombstone of the chain's Redis
// namespace (docs/ARCHITECTURE.md, "A withdrawal and events.curated": Redis key
// name -> value, base64) to path as one JSON object — what a curated consumer
// with read access to the keys sees — and returns how many it wrote.
func dumpDataKeys(ctx context.Context, rc redisconn.Config, ns, path string) (int, error) {
	rdb, err := rc.NewClient(redisconn.Options{})
	if err != nil {
		return 0, err
	}
	defer rdb.Close()
	out := map[string]string{}
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, ns+":shred:*", 1000).Iterator()
		var names []string
		for iter.Next(ctx) {
			names = append(names, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
		for _, n := range names {
			v, err := c.Get(ctx, n).Bytes()
			if err == redis.Nil {
				continue
			}
			if err != nil {
				return err
			}
			out[n] = base64.StdEncoding.EncodeToString(v)
		}
		return nil
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		var mu = make(chan struct{}, 1)
		err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			mu <- struct{}{}
			defer func() { <-mu }()
			return scan(ctx, node)
		})
	case *redis.Client:
		err = scan(ctx, c)
	}
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return 0, err
	}
	return len(out), os.WriteFile(path, b, 0o600)
}
