package tally

import (
	"context"
	"time"
)

// Queue adds counts in the background: the filter hands each batch's items to
// Record and goes on deciding; one goroutine (Run) adds them, in the order
// they were handed over. Without it the filter waited for a Redis round trip
// (a pipeline of HINCRBY and SADD of up to a batch's users) on every batch —
// the largest single step of a batch in the stage drain. The counts stay
// best-effort: when Size batches are already waiting, the new one is dropped
// and counted in Tally.Failed, never waited for.
type Queue struct {
	Tally *Tally
	// Size bounds the batches waiting to be added (default 16).
	Size int
	// DrainTimeout bounds adding one batch (default 2s).
	DrainTimeout time.Duration

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
// so that stopping does not fail the batch being added.
func (q *Queue) Run(ctx context.Context) error {
	d := q.DrainTimeout
	if d <= 0 {
		d = 2 * time.Second
	}
	add := func(items []Item) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
		defer cancel()
		q.Tally.Record(actx, items)
	}
	for {
		select {
		case items := <-q.ch:
			add(items)
		case <-ctx.Done():
			for {
				select {
				case items := <-q.ch:
					add(items)
				default:
					return nil
				}
			}
		}
	}
}
