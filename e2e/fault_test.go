//go:build linux

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/consentflow/consentflow/pkg/redisconn"
)

// Fault plan, per run: every service SIGKILLed killsPerService times, the
// namespace's Redis keys deleted once, Redis restarted once, the Kafka broker
// restarted once, poison injected once more in the middle. Every action runs to
// completion before the next starts; the plan ends with the load.
const (
	killsPerService = 3
	chaosMinGap     = 2 * time.Second
)

type chaosAction struct {
	at     time.Duration
	kind   string // kill | redis-flush | restart-redis | restart-kafka | poison
	target string
}

type chaos struct {
	r        *run
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	log      []string
	injected *[]poison
}

func (c *chaos) note(format string, a ...any) {
	msg := fmt.Sprintf("[%6.1fs] ", time.Since(c.r.start).Seconds()) + fmt.Sprintf(format, a...)
	c.r.logln("chaos: %s", fmt.Sprintf(format, a...))
	c.mu.Lock()
	c.log = append(c.log, msg)
	c.mu.Unlock()
}

// startChaos plans the actions over loadDuration (seeded, so a failing run can be
// repeated) and runs them in a goroutine.
func (r *run) startChaos(parent context.Context, loadDuration time.Duration, seed uint64, injected *[]poison) *chaos {
	ctx, cancel := context.WithCancel(parent)
	c := &chaos{r: r, ctx: ctx, cancel: cancel, injected: injected}
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	lo, hi := 5*time.Second, loadDuration-15*time.Second
	if hi < lo+10*time.Second {
		hi = lo + 10*time.Second
	}
	at := func() time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo))) }
	var plan []chaosAction
	for _, s := range serviceNames {
		for i := 0; i < killsPerService; i++ {
			plan = append(plan, chaosAction{at(), "kill", s})
		}
	}
	plan = append(plan, chaosAction{at(), "redis-flush", ""}, chaosAction{at(), "restart-redis", ""},
		chaosAction{at(), "restart-kafka", ""}, chaosAction{at(), "poison", ""})
	sort.Slice(plan, func(i, j int) bool { return plan[i].at < plan[j].at })
	var desc []string
	for _, a := range plan {
		desc = append(desc, fmt.Sprintf("%s@%.0fs %s", a.kind, a.at.Seconds(), a.target))
	}
	c.note("plan (seed %d): %s", seed, strings.Join(desc, ", "))
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t0 := time.Now()
		for i, a := range plan {
			wait := time.Until(t0.Add(a.at))
			if wait < chaosMinGap && i > 0 {
				wait = chaosMinGap
			}
			select {
			case <-ctx.Done():
				c.note("stopped before %s %s (%d of %d actions done)", a.kind, a.target, i, len(plan))
				return
			case <-time.After(wait):
			}
			c.do(a, rng)
		}
		c.note("plan complete")
	}()
	return c
}

func (c *chaos) do(a chaosAction, rng *rand.Rand) {
	r := c.r
	switch a.kind {
	case "kill":
		if !r.running(a.target) {
			c.note("kill %s: not running (restarting it)", a.target)
		} else {
			_ = r.stopService(a.target, syscall.SIGKILL, 10*time.Second)
		}
		pause := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond)))
		time.Sleep(pause)
		r.startService(a.target)
		r.restarts[a.target]++
		err := r.waitReady(c.ctx, 60*time.Second, a.target)
		c.note("SIGKILL %s, restarted after %s; ready: %v", a.target, pause.Round(time.Millisecond), errOK(err))
	case "redis-flush":
		start := time.Now()
		n, err := deleteNamespace(c.ctx, r.e.stack.Redis, r.redisNS)
		c.note("redis: deleted %d keys of namespace %s (a flush for this chain) in %s: %v", n, r.redisNS, time.Since(start).Round(time.Millisecond), errOK(err))
	case "restart-redis", "restart-kafka":
		start := time.Now()
		ctx, cancel := context.WithTimeout(c.ctx, 3*time.Minute)
		err := r.runTool(ctx, filepath.Join(r.dir, "logs", "chaos-"+a.kind+".log"),
			os.Environ(), "bash", filepath.Join(r.e.repo, "scripts", "services.sh"), a.kind)
		cancel()
		c.note("scripts/services.sh %s: %v in %s", a.kind, errOK(err), time.Since(start).Round(100*time.Millisecond))
	case "poison":
		ps, err := r.injectPoison(c.ctx, 50)
		if err == nil {
			c.mu.Lock()
			*c.injected = append(*c.injected, ps...)
			c.mu.Unlock()
		}
		c.note("injected %d poison records: %v", len(ps), errOK(err))
	}
}

func errOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// superviseUntil waits for the load generator, restarting (like an orchestrator
// would) any service that exits by itself meanwhile; each such exit is recorded
// in the report.
func (c *chaos) superviseUntil(done <-chan error) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			for s, err := range c.r.chain.Exited() {
				c.note("%s exited by itself (%v); restarting it", s, err)
				c.r.startService(s)
			}
		}
	}
}

// stop ends the plan (if the load ended first) and returns the log; it makes sure
// every service runs again.
func (c *chaos) stop() []string {
	c.cancel()
	c.wg.Wait()
	for _, s := range serviceNames {
		if !c.r.running(s) {
			c.note("%s not running after the chaos; starting it", s)
			c.r.startService(s)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// flushNamespace is deleteNamespace's script: one SCAN over the namespace's
// keys and an UNLINK of each, except the curated records' data keys, run
// atomically by Redis like a FLUSHALL.
const flushNamespace = `
local ns, n = ARGV[1], 0
local keep = ns .. ':shred:'
for _, pattern in ipairs({ns .. ':*', '{' .. ns .. ':*'}) do
  local cursor = '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = r[1]
    for _, k in ipairs(r[2]) do
      if string.sub(k, 1, #keep) ~= keep then
        redis.call('UNLINK', k)
        n = n + 1
      end
    end
  until cursor == '0'
end
return n
`

// deleteNamespace deletes every consent-cache key of the chain's Redis
// namespace at once: for the consent cache it is a FLUSHALL (the generation
// keys go with the data), without touching the other users of the shared
// Redis, nor the curated data keys (which a Redis with its append-only file
// keeps). The data keys of curated records are not a cache: nothing can
// rebuild them, and a flush would shred every record on the topic the sink has
// not read yet (docs/ARCHITECTURE.md).
//
// It is one script, so atomic, as a FLUSHALL is. A SCAN-and-UNLINK from the
// client is not: the materializer notices the lost generation in the middle of
// it, starts a new one and replays consent.changes while the scan goes on, and
// the scan then deletes records the new generation had already written (and,
// SCAN being what it is, not always their bucket's meta): a complete
// generation with records missing, which no flush, restart or failover
// produces (each loses a bucket's records with its meta) and which the filter
// cannot tell from "no record". The scan's length grows with everything else
// the shared Redis holds and with the machine's load: with 300,000 other keys
// at load 25 it took 12.5 s and the run failed with 193 decisions "on stale
// state" and 4 records and links missing from the store (oracle --store) — the
// fault-under-load failures of issue 16. The fault suite runs on the single
// Redis (a script may not span a cluster's slots).
func deleteNamespace(ctx context.Context, rc redisconn.Config, ns string) (int, error) {
	rdb, err := rc.NewClient(redisconn.Options{})
	if err != nil {
		return 0, err
	}
	defer rdb.Close()
	n, err := rdb.Eval(ctx, flushNamespace, nil, ns).Int()
	return n, err
}
