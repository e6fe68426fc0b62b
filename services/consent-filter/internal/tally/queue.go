package tally

import (
	"context"
	"time"
)

// Queue adds counts in the background: the filter hands each batch's items to
// Record and goes on deciding; one goroutine (Run) adds them, in the order
// they were handed over. Without it the filter waited for a Redis round trip
// (a pipeline of HINCRBY and SADD of up to a batch's users) on every batch —
// the largest single step of a batch in the stage drain. Run gathers the
// batches handed over within Linger (up to MaxItems items) and adds them in
// one pipeline: each tenant's add script (its counters, user sets, expiries
// and partition marks) is then sent once for all of them, not once per batch
// (in the stage drain, 200 tenants in every 500-event batch). The counts can
// fall short, never overstate (see the package doc): when Size batches are
// already waiting, the new one is dropped and counted in Tally.Failed, never
// waited for; a failed add counts every batch it held.
type Queue struct {
	Tally *Tally
	// Size bounds the batches waiting to be added (default 16).
	Size int
	// DrainTimeout bounds adding one gathering (default 2s).
	DrainTimeout time.Duration
	// Linger is how long Run gathers batches after the first before adding
	// them (default 250ms): the privacy centre's counts lag by up to that.
	Linger time.Duration
	// MaxItems bounds the items of one gathering (default 10000): more are
	// added at once.
	MaxItems int

	ch chan []Item
}

// NewQueue returns a queue adding to t.
func NewQueue(t *Tally, size int) *Queue {
	if size <= 0 {
		size = 16
	}
	return &Queue{Tally: t, Size: size, ch: make(chan []Item, size)}
}

// Record queues items (which the caller must not change afterwards) and
// returns at once; it drops them, counted as a failure, when the queue is full.
func (q *Queue) Record(_ context.Context, items []Item) {
	select {
	case q.ch <- items:
	default:
		if q.Tally.Failed != nil {
			q.Tally.Failed.Inc()
		}
		if !q.Tally.failing.Swap(true) && q.Tally.Log != nil {
			q.Tally.Log.Warn("privacy-centre counts dropped: Redis is not keeping up (statistics only; decisions are unaffected)")
		}
	}
}

// Run adds queued items until ctx ends, then adds what is still queued and
// returns nil. Each add is bounded by DrainTimeout and not cut short by ctx,
// so that stopping does not fail the gathering being added.
func (q *Queue) Run(ctx context.Context) error {
	d, linger, most := q.DrainTimeout, q.Linger, q.MaxItems
	if d <= 0 {
		d = 2 * time.Second
	}
	if linger <= 0 {
		linger = 250 * time.Millisecond
	}
	if most <= 0 {
		most = 10_000
	}
	var (
		gathered []Item // reused: Add keeps nothing of its items
		batches  int
		timer    = time.NewTimer(linger)
		due      <-chan time.Time // nil while nothing is gathered
	)
	timer.Stop()
	defer timer.Stop()
	add := func() {
		if batches == 0 {
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
		defer cancel()
		q.Tally.record(actx, gathered, batches)
		clear(gathered)
		gathered, batches, due = gathered[:0], 0, nil
		timer.Stop()
	}
	gather := func(items []Item) {
		gathered = append(gathered, items...)
		batches++
		if len(gathered) >= most {
			add()
		} else if due == nil {
			timer.Reset(linger)
			due = timer.C
		}
	}
	for {
		select {
		case items := <-q.ch:
			gather(items)
		case <-due:
			add()
		case <-ctx.Done():
			for {
				select {
				case items := <-q.ch:
					gather(items)
				default:
					add()
					return nil
				}
			}
		}
	}
}
