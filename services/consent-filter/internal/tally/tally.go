// Package tally keeps the aggregate counts a tenant admin's privacy-centre
// page shows: per tenant and UTC day, the events the filter decided by
// purpose and reason, and the user ids it saw. Counts live in Redis beside the
// consent state (keys <ns>:tally:{<tenant>}:<day>:events|users, expiring after
// 32 days).
//
// What they are exactly: statistics, never more than what happened. Each
// event is counted at most once, under the reason of the first decision that
// counted it: a batch redelivered (a restart, a rebalance, a write that
// failed) or an add retried after an unclear failure counts nothing twice,
// because every add skips, per tenant and partition of the filter's input
// (events.raw), the offsets already counted (<ns>:tally:{<tenant>}:at:<partition>,
// the highest offset counted; one script per tenant, so the counts and the
// mark move together). That holds because a filter member hands over each
// partition's records in offset order (stream.Loop calls the handler one
// batch at a time, in fetch order), and a member that takes a partition over
// starts at or below what was counted. They can be short: the filter never waits for them, so a
// batch whose counts find the queue full or Redis failing, or that are still
// queued when the filter dies, is not counted — each such batch is logged and
// counted in Tally.Failed (consentflow_centre_tally_failures_total). The
// people-by-choice figures of the report are not kept here: they are looked
// up in the consent store when the report is made, among the users seen. The
// audit trail is consent.decisions.
package tally

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Item is one decided event, at its record's position in the filter's input
// (Partition, Offset): an add counts each position once.
type Item struct {
	Tenant, User, Purpose, Reason string
	ReceivedAt                    time.Time
	Partition                     int
	Offset                        int64
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
func (t *Tally) Record(ctx context.Context, items []Item) { t.record(ctx, items, 1) }

// record is Record of items gathered from batches batches: a failure loses
// the counts of every one of them.
func (t *Tally) record(ctx context.Context, items []Item, batches int) {
	if err := t.Add(ctx, items); err != nil {
		if t.Failed != nil {
			t.Failed.Add(float64(batches))
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

// The two scripts add one tenant's items. KEYS (all in the tenant's slot):
// the events keys of nd days, their users keys, then the marks of np
// partitions (the highest offset counted). ARGV starts ttl (s), nd, np.
//
// addNewScript is the usual case, every item newer than its partition's
// mark: ARGV goes on with each partition's lowest and highest offset, then per
// day the number of fields, the fields and their counts, the number of users
// and the users (counted in Go). It adds them and moves the marks, or, when a
// partition's lowest offset is not above its mark (a redelivery), changes
// nothing and returns -1.
var addNewScript = redis.NewScript(`
local ttl, nd, np = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local marks = {}
for p = 1, np do
  local v = redis.call('GET', KEYS[2*nd+p])
  marks[p] = v and tonumber(v) or -1
  if tonumber(ARGV[2+2*p]) <= marks[p] then return -1 end
end
local i = 4 + 2*np
for d = 1, nd do
  local nf = tonumber(ARGV[i]); i = i + 1
  for _ = 1, nf do
    redis.call('HINCRBY', KEYS[d], ARGV[i], ARGV[i+1]); i = i + 2
  end
  if nf > 0 then redis.call('EXPIRE', KEYS[d], ttl) end
  local nu = tonumber(ARGV[i]); i = i + 1
  for j = 0, nu-1, 1000 do
    redis.call('SADD', KEYS[nd+d], unpack(ARGV, i+j, i+math.min(j+999, nu-1)))
  end
  if nu > 0 then redis.call('EXPIRE', KEYS[nd+d], ttl) end
  i = i + nu
end
for p = 1, np do
  redis.call('SET', KEYS[2*nd+p], ARGV[3+2*p], 'EX', ttl)
end
return 0
`)

// addEachScript is the redelivery case: ARGV goes on with, per item, its day
// index, partition index (1-based), offset, events field and user ("" for
// none). It counts the items above their partition's mark (as it was when
// the script began) and moves the marks.
var addEachScript = redis.NewScript(`
local ttl, nd, np = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local mark, top = {}, {}
for p = 1, np do
  local v = redis.call('GET', KEYS[2*nd+p])
  mark[p] = v and tonumber(v) or -1
  top[p] = mark[p]
end
local counts, users, seen = {}, {}, {}
for d = 1, nd do counts[d] = {}; users[d] = {}; seen[d] = {} end
for i = 4, #ARGV, 5 do
  local d, p, off = tonumber(ARGV[i]), tonumber(ARGV[i+1]), tonumber(ARGV[i+2])
  if off > mark[p] then
    if off > top[p] then top[p] = off end
    local f = ARGV[i+3]
    counts[d][f] = (counts[d][f] or 0) + 1
    local u = ARGV[i+4]
    if u ~= '' and not seen[d][u] then
      seen[d][u] = true
      users[d][#users[d]+1] = u
    end
  end
end
for d = 1, nd do
  local any = false
  for f, c in pairs(counts[d]) do
    redis.call('HINCRBY', KEYS[d], f, c)
    any = true
  end
  if any then redis.call('EXPIRE', KEYS[d], ttl) end
  local us = users[d]
  for j = 1, #us, 1000 do
    redis.call('SADD', KEYS[nd+d], unpack(us, j, math.min(j+999, #us)))
  end
  if #us > 0 then redis.call('EXPIRE', KEYS[nd+d], ttl) end
end
for p = 1, np do
  if top[p] > mark[p] then
    redis.call('SET', KEYS[2*nd+p], string.format('%d', top[p]), 'EX', ttl)
  end
end
return 0
`)

// Add counts items (each position once, see the package doc): one script per
// tenant, in one pipeline, and a second pipeline for the tenants whose items
// include positions counted before. An add that fails may have counted some
// tenants' items; adding the same items again counts only the rest.
func (t *Tally) Add(ctx context.Context, items []Item) error {
	err := t.add(ctx, items)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// A script is not loaded (a new, restarted or failed-over Redis):
		// load them and add again — the positions any call did count are
		// skipped now.
		for _, sc := range []*redis.Script{addNewScript, addEachScript} {
			if lerr := sc.Load(ctx, t.RDB).Err(); lerr != nil {
				return lerr
			}
		}
		err = t.add(ctx, items)
	}
	return err
}

// tenantAdd is one tenant's share of an add.
type tenantAdd struct {
	tenant string
	days   []string       // UTC days, in first-seen order
	parts  []int          // partitions, in first-seen order
	lo, hi []int64        // per partition, lowest and highest offset
	fields [][]fieldCount // per day, events by purpose and reason
	users  [][]any        // per day, users (each once)
}

// fieldCount is the events of one purpose and reason (the events hash's
// field "purpose|reason"): a day holds a handful, found by a linear search
// that allocates nothing per event.
type fieldCount struct {
	purpose, reason string
	n               int
}

func (fc fieldCount) field() string { return fc.purpose + "|" + fc.reason }

func (ta *tenantAdd) index(xs []string, x string) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}

func (t *Tally) add(ctx context.Context, items []Item) error {
	order := group(items)
	if len(order) == 0 {
		return nil
	}
	ttl := int64(keep / time.Second)
	cmds := make([]*redis.Cmd, len(order))
	_, err := t.RDB.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ta := range order {
			args := []any{ttl, len(ta.days), len(ta.parts)}
			for pi := range ta.parts {
				args = append(args, ta.lo[pi], ta.hi[pi])
			}
			for di := range ta.days {
				args = append(args, len(ta.fields[di]))
				for _, fc := range ta.fields[di] {
					args = append(args, fc.field(), fc.n)
				}
				args = append(args, len(ta.users[di]))
				args = append(args, ta.users[di]...)
			}
			cmds[i] = addNewScript.EvalSha(ctx, p, t.keys(ta), args...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var again []*tenantAdd
	for i, c := range cmds {
		if n, _ := c.Int64(); n < 0 {
			again = append(again, order[i])
		}
	}
	if len(again) == 0 {
		return nil
	}
	_, err = t.RDB.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ta := range again {
			args := []any{ttl, len(ta.days), len(ta.parts)}
			for _, it := range items {
				if it.Tenant != ta.tenant {
					continue
				}
				args = append(args, ta.index(ta.days, day(it.ReceivedAt))+1, slices.Index(ta.parts, it.Partition)+1,
					it.Offset, it.Purpose+"|"+it.Reason, it.User)
			}
			addEachScript.EvalSha(ctx, p, t.keys(ta), args...)
		}
		return nil
	})
	return err
}

// group sorts items by tenant (in first-seen order) into what each tenant's
// add script is sent: per day, the events by purpose and reason and the users
// (each once); per partition, the lowest and highest offset.
func group(items []Item) []*tenantAdd {
	byTenant := map[string]*tenantAdd{}
	var order []*tenantAdd
	// a batch repeats its users: each is sent once per tenant and day
	type userDay struct {
		ta   *tenantAdd
		day  int
		user string
	}
	seen := make(map[userDay]struct{}, len(items)/4)
	var lastDay [3]int
	var d string
	for _, it := range items {
		y, m, dd := it.ReceivedAt.UTC().Date()
		if n := [3]int{y, int(m), dd}; n != lastDay || d == "" { // a run of one day is formatted once
			lastDay, d = n, day(it.ReceivedAt)
		}
		ta := byTenant[it.Tenant]
		if ta == nil {
			ta = &tenantAdd{tenant: it.Tenant}
			byTenant[it.Tenant] = ta
			order = append(order, ta)
		}
		di := ta.index(ta.days, d)
		if di < 0 {
			di = len(ta.days)
			ta.days = append(ta.days, d)
			ta.fields = append(ta.fields, nil)
			ta.users = append(ta.users, nil)
		}
		pi := slices.Index(ta.parts, it.Partition)
		if pi < 0 {
			pi = len(ta.parts)
			ta.parts = append(ta.parts, it.Partition)
			ta.lo, ta.hi = append(ta.lo, it.Offset), append(ta.hi, it.Offset)
		}
		ta.lo[pi], ta.hi[pi] = min(ta.lo[pi], it.Offset), max(ta.hi[pi], it.Offset)
		fs := ta.fields[di]
		fi := slices.IndexFunc(fs, func(fc fieldCount) bool { return fc.purpose == it.Purpose && fc.reason == it.Reason })
		if fi < 0 {
			fi = len(fs)
			ta.fields[di] = append(fs, fieldCount{purpose: it.Purpose, reason: it.Reason})
		}
		ta.fields[di][fi].n++
		if it.User != "" {
			k := userDay{ta, di, it.User}
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				ta.users[di] = append(ta.users[di], it.User)
			}
		}
	}
	return order
}

// keys are a tenant add's KEYS: the events and users keys of its days, then
// its partitions' marks.
func (t *Tally) keys(ta *tenantAdd) []string {
	keys := make([]string, 0, 2*len(ta.days)+len(ta.parts))
	for _, d := range ta.days {
		keys = append(keys, t.key(ta.tenant, d, "events"))
	}
	for _, d := range ta.days {
		keys = append(keys, t.key(ta.tenant, d, "users"))
	}
	for _, p := range ta.parts {
		keys = append(keys, t.key(ta.tenant, "at", strconv.Itoa(p)))
	}
	return keys
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
