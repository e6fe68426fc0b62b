package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/redisconn"
)

// dumpConsentStore writes the chain's consent store as Redis holds it after the
// drain to path, one JSON object a line, read with the key layout of
// services/consent-filter/internal/consentstore (its package doc is the
// contract), not with its code: every bucket meta ({"bucket": key, "gen",
// "positions": {partition: next offset}}) and every record ({"purpose",
// "code", "s", "p", "o", "ln": [linked codes]}). e2e/oracle.py --store checks
// that it holds the newest change of every key of consent.changes below the
// positions: a record the state lost while its generation says it is
// complete is a "no record" the filter cannot tell from a real one.
func dumpConsentStore(ctx context.Context, rc redisconn.Config, ns, path string) (int, error) {
	var lines []map[string]any
	err := eachKey(ctx, rc, "{"+ns+":v2:b*", func(ctx context.Context, c *redis.Client, n string) error {
		h, err := c.HGetAll(ctx, n).Result()
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return nil // deleted meanwhile
		}
		_, rest, ok := strings.Cut(n, "}:")
		if !ok {
			return nil
		}
		var line map[string]any
		if rest == "meta" {
			pos := map[string]int64{}
			for f, v := range h {
				if p, ok := strings.CutPrefix(f, "p:"); ok {
					o, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						return fmt.Errorf("%s %s=%q: %w", n, f, v, err)
					}
					pos[p] = o
				}
			}
			line = map[string]any{"bucket": n, "gen": h["gen"], "positions": pos}
		} else if r, ok := strings.CutPrefix(rest, "c:"); ok {
			purpose, code, ok := strings.Cut(r, ":")
			if !ok {
				return nil
			}
			line = map[string]any{"purpose": purpose, "code": code, "s": h["s"], "p": h["p"], "o": h["o"]}
			if h["ln"] != "" {
				line["ln"] = strings.Split(strings.TrimSpace(h["ln"]), "\n")
			}
		} else {
			return nil
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dump consent store: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	enc := json.NewEncoder(f)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			f.Close()
			return 0, err
		}
	}
	return len(lines), f.Close()
}
