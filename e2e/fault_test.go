//go:build linux

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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

// deleteNamespace deletes every consent-cache key of the chain's Redis
// namespace: for the consent cache it is a FLUSHALL (the generation keys go with
// the data), without touching the other users of the shared Redis, nor the
// curated data keys (which a Redis with its append-only file keeps).
func deleteNamespace(ctx context.Context, rc redisconn.Config, ns string) (int, error) {
	rdb, err := rc.NewClient(redisconn.Options{})
	if err != nil {
		return 0, err
	}
	defer rdb.Close()
	n := 0
	for _, pattern := range []string{ns + ":*", "{" + ns + ":*"} {
		var cursor uint64
		for {
			keys, next, err := rdb.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return n, err
			}
			// The data keys of curated records are not a cache: nothing can
			// rebuild them, and a flush would shred every record on the topic
			// the sink has not read yet (docs/ARCHITECTURE.md). The consent
			// cache is what this fault flushes.
			keys = slices.DeleteFunc(keys, func(k string) bool { return strings.HasPrefix(k, ns+":shred:") })
			if len(keys) > 0 {
				if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
					return n, err
				}
				n += len(keys)
			}
			cursor = next
			if cursor == 0 {
				break
			}
		}
	}
	return n, nil
}
