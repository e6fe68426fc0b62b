// Package tally keeps the aggregate counts a tenant admin's privacy-centre
// page shows: per tenant and UTC day, the events the filter decided by
// purpose and reason, and the user ids it saw. Counts live in Redis beside the
// consent state (keys <ns>:tally:{<tenant>}:<day>:events|users, expiring after
// 32 days) and are best-effort: the filter adds them after deciding a batch,
// a failure to add is logged and counted but never holds the batch, and a
// redelivered batch is counted again. They are statistics, not the audit
// trail (consent.decisions is).
package tally

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Item is one decided event.
type Item struct {
	Tenant, User, Purpose, Reason string
	ReceivedAt                    time.Time
}

// Tally adds and reads the counts.
type Tally struct {
	RDB       redis.UniversalClient
	Namespace string
	// Failed, when set, counts batches whose counts were lost; Log, when
	// set, hears of the first failure after a success.
	Failed prometheus.Counter
	Log    *zap.Logger

	failing atomic.Bool
}

// Record adds items and handles a failure itself (counted and logged): the
// filter's batch never waits on statistics.
func (t *Tally) Record(ctx context.Context, items []Item) {
	if err := t.Add(ctx, items); err != nil {
		if t.Failed != nil {
			t.Failed.Inc()
		}
		if !t.failing.Swap(true) && t.Log != nil {
			t.Log.Warn("privacy-centre counts not recorded (statistics only; decisions are unaffected)", zap.Error(err))
		}
		return
	}
	t.failing.Store(false)
}

const keep = 32 * 24 * time.Hour

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// key puts one tenant's keys in one Redis Cluster slot ({tenant}).
func (t *Tally) key(tenant, d, kind string) string {
	return fmt.Sprintf("%s:tally:{%s}:%s:%s", t.Namespace, tenant, d, kind)
}

// Add counts items in one pipeline.
func (t *Tally) Add(ctx context.Context, items []Item) error {
	type ek struct{ tenant, day, purpose, reason string }
	events := map[ek]int64{}
	users := map[[2]string][]any{}
	seen := map[[3]string]bool{} // a batch repeats its users: each is sent once
	var lastDay [3]int
	var d string
	for _, it := range items {
		y, m, dd := it.ReceivedAt.UTC().Date()
		if n := [3]int{y, int(m), dd}; n != lastDay || d == "" { // a run of one day is formatted once
			lastDay, d = n, day(it.ReceivedAt)
		}
		events[ek{it.Tenant, d, it.Purpose, it.Reason}]++
		if u := [3]string{it.Tenant, d, it.User}; it.User != "" && !seen[u] {
			seen[u] = true
			users[[2]string{it.Tenant, d}] = append(users[[2]string{it.Tenant, d}], it.User)
		}
	}
	if len(events) == 0 {
		return nil
	}
	_, err := t.RDB.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, n := range events {
			key := t.key(k.tenant, k.day, "events")
			p.HIncrBy(ctx, key, k.purpose+"|"+k.reason, n)
			p.Expire(ctx, key, keep)
		}
		for k, ids := range users {
			key := t.key(k[0], k[1], "users")
			p.SAdd(ctx, key, ids...)
			p.Expire(ctx, key, keep)
		}
		return nil
	})
	return err
}

// Counts are one reason's events over the last 7 and 30 days.
type Counts struct {
	Purpose, Reason string
	Days7, Days30   int64
}

// Read returns the tenant's event counts over the 30 UTC days ending with
// now's, and the user ids seen in them.
func (t *Tally) Read(ctx context.Context, tenant string, now time.Time) ([]Counts, []string, error) {
	var evs []*redis.MapStringStringCmd
	var us []*redis.StringSliceCmd
	_, err := t.RDB.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 30 {
			d := day(now.AddDate(0, 0, -i))
			evs = append(evs, p.HGetAll(ctx, t.key(tenant, d, "events")))
			us = append(us, p.SMembers(ctx, t.key(tenant, d, "users")))
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, nil, err
	}
	byField := map[string]*Counts{}
	for i, c := range evs {
		for field, v := range c.Val() {
			var n int64
			if _, err := fmt.Sscan(v, &n); err != nil {
				continue
			}
			cnt := byField[field]
			if cnt == nil {
				p, r, _ := strings.Cut(field, "|")
				cnt = &Counts{Purpose: p, Reason: r}
				byField[field] = cnt
			}
			cnt.Days30 += n
			if i < 7 {
				cnt.Days7 += n
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range us {
		for _, u := range c.Val() {
			seen[u] = true
		}
	}
	out := make([]Counts, 0, len(byField))
	for _, c := range byField {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Counts) int {
		if c := strings.Compare(a.Purpose, b.Purpose); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	users := make([]string, 0, len(seen))
	for u := range seen {
		users = append(users, u)
	}
	slices.Sort(users)
	return out, users, nil
}
