package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/redisconn"
)

// tallyDay is one tenant's counts of one UTC day, as the privacy centre keeps
// them (docs/ARCHITECTURE.md "Tenant admin": <ns>:tally:{<tenant>}:<day>:events,
// a hash of purpose|reason -> count, and :users, a set of user ids).
type tallyDay struct {
	Tenant string           `json:"tenant"`
	Day    string           `json:"day"`
	Events map[string]int64 `json:"events"`
	Users  []string         `json:"users"`
}

// readTally reads every tenant's counts of a namespace with the documented
// key layout, not with the tally package's code.
func readTally(ctx context.Context, rc redisconn.Config, ns string) ([]tallyDay, error) {
	prefix := ns + ":tally:{"
	days := map[[2]string]*tallyDay{}
	err := eachKey(ctx, rc, prefix+"*", func(ctx context.Context, c *redis.Client, n string) error {
		rest := strings.TrimPrefix(n, prefix)
		i := strings.LastIndex(rest, "}:")
		if i < 0 {
			return nil
		}
		tenant, tail := rest[:i], rest[i+2:]
		day, kind, ok := strings.Cut(tail, ":")
		if !ok || day == "at" { // at:<partition>: the counted-up-to marks
			return nil
		}
		d := days[[2]string{tenant, day}]
		if d == nil {
			d = &tallyDay{Tenant: tenant, Day: day, Events: map[string]int64{}}
			days[[2]string{tenant, day}] = d
		}
		switch kind {
		case "events":
			h, err := c.HGetAll(ctx, n).Result()
			if err != nil {
				return err
			}
			for f, v := range h {
				x, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return fmt.Errorf("%s %s=%q: %w", n, f, v, err)
				}
				d.Events[f] = x
			}
		case "users":
			us, err := c.SMembers(ctx, n).Result()
			if err != nil {
				return err
			}
			d.Users = append(d.Users, us...)
		}
		return nil
	})
	out := make([]tallyDay, 0, len(days))
	for _, d := range days {
		sort.Strings(d.Users)
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Tenant < out[j].Tenant || out[i].Tenant == out[j].Tenant && out[i].Day < out[j].Day
	})
	return out, err
}

// dumpTally writes the privacy centre's counts to path (JSON lines, for
// e2e/oracle.py --tally) once they have settled: the filter adds them in the
// background, up to 250 ms after a batch (more when Redis is slow), so the
// dump waits until three reads a second apart agree, at most 20 s.
func dumpTally(ctx context.Context, rc redisconn.Config, ns, path string) (events int64, err error) {
	var last string
	var days []tallyDay
	same := 0
	for deadline := time.Now().Add(20 * time.Second); same < 2 && time.Now().Before(deadline); {
		if last != "" {
			time.Sleep(time.Second)
		}
		if days, err = readTally(ctx, rc, ns); err != nil {
			return 0, fmt.Errorf("dump tally: %w", err)
		}
		b, _ := json.Marshal(days)
		if string(b) == last {
			same++
		} else {
			same, last = 0, string(b)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	enc := json.NewEncoder(f)
	for _, d := range days {
		for _, n := range d.Events {
			events += n
		}
		if err := enc.Encode(d); err != nil {
			f.Close()
			return 0, err
		}
	}
	return events, f.Close()
}
