package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/redisconn"
)

// dumpDataKeys writes every curated data key and tombstone of the chain's Redis
// namespace (docs/ARCHITECTURE.md, "A withdrawal and events.curated": Redis key
// name -> value, base64) to path as one JSON object — what a curated consumer
// with read access to the keys sees — and returns how many it wrote.
func dumpDataKeys(ctx context.Context, rc redisconn.Config, ns, path string) (int, error) {
	out := map[string]string{}
	err := eachKey(ctx, rc, ns+":shred:*", func(ctx context.Context, c *redis.Client, n string) error {
		v, err := c.Get(ctx, n).Bytes()
		if err == redis.Nil {
			return nil
		}
		if err != nil {
			return err
		}
		out[n] = base64.StdEncoding.EncodeToString(v)
		return nil
	})
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return 0, err
	}
	return len(out), os.WriteFile(path, b, 0o600)
}

// readableVersusRows compares the event ids of the curated records the Python
// reader opened (curated-decoded.jsonl, "_sealed": "opened") with those of the
// snapshot rows (snapshot-rows.jsonl): extra are readable on the topic but not
// in the dataset, missing in the dataset but not readable on the topic.
func readableVersusRows(curated, rows []byte) (extra, missing []string, err error) {
	opened, inRows := map[string]bool{}, map[string]bool{}
	for _, l := range bytes.Split(curated, []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var rec struct {
			Value struct {
				EventID string `json:"event_id"`
				Sealed  string `json:"_sealed"`
			} `json:"value"`
		}
		if err := json.Unmarshal(l, &rec); err != nil {
			return nil, nil, err
		}
		if rec.Value.Sealed == "opened" {
			opened[rec.Value.EventID] = true
		}
	}
	for _, l := range bytes.Split(rows, []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var row struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(l, &row); err != nil {
			return nil, nil, err
		}
		inRows[row.EventID] = true
	}
	if len(opened) == 0 || len(inRows) == 0 {
		return nil, nil, fmt.Errorf("%d readable curated records, %d rows: nothing to compare", len(opened), len(inRows))
	}
	for id := range opened {
		if !inRows[id] {
			extra = append(extra, id)
		}
	}
	for id := range inRows {
		if !opened[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	return extra, missing, nil
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
