package tally

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

// TestQueueNeverHoldsTheCaller: Record returns while nothing adds the counts
// (Run not started: a Redis that does not answer); a batch beyond Size is
// dropped and counted as a failure; once Run runs, the queued batches are
// added, in order, and what is still queued when it stops is added too.
func TestQueueNeverHoldsTheCaller(t *testing.T) {
	mr := miniredis.RunT(t)
	failed := prometheus.NewCounter(prometheus.CounterOpts{Name: "f"})
	q := NewQueue(&Tally{RDB: redis.NewClient(&redis.Options{Addr: mr.Addr()}), Namespace: "cf", Failed: failed}, 2)
	day := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	offset := int64(0)
	item := func(user string) []Item {
		offset++
		return []Item{{Tenant: "acme", User: user, Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: day, Offset: offset}}
	}
	done := make(chan struct{})
	go func() {
		q.Record(context.Background(), item("u1"))
		q.Record(context.Background(), item("u2"))
		q.Record(context.Background(), item("u3")) // the queue is full: dropped
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record waited for the counts to be added")
	}
	if got := testutil.ToFloat64(failed); got != 1 {
		t.Fatalf("dropped batches counted %v, want 1", got)
	}
	if mr.Exists("cf:tally:{acme}:2026-11-30:events") {
		t.Fatal("counts added before Run")
	}
	ctx, stop := context.WithCancel(context.Background())
	stop() // Run adds what is queued, then returns
	if err := q.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mr.HGet("cf:tally:{acme}:2026-11-30:events", "ai_training|allowed_consent"); got != "2" {
		t.Fatalf("events counted %q, want 2", got)
	}
	members, _ := mr.Members("cf:tally:{acme}:2026-11-30:users")
	if len(members) != 2 || members[0] != "u1" || members[1] != "u2" {
		t.Fatalf("users %v, want [u1 u2]", members)
	}
}

// pipelines counts the pipelines a client sends that add counts (the add
// scripts, EVALSHA).
type pipelines struct{ n atomic.Int32 }

func (*pipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (*pipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (p *pipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() == "evalsha" {
				p.n.Add(1)
				break
			}
		}
		return next(ctx, cmds)
	}
}

// TestQueueGathersBatches: the batches handed over within Linger are added
// in one pipeline (a tenant's keys once for all of them), the counts are
// those of every batch, and a gathering that reaches MaxItems is added at
// once, without waiting for Linger.
func TestQueueGathersBatches(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	var sent pipelines
	rdb.AddHook(&sent)
	day := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var offset int64 // each item at its own position: the counts count a position once
	item := func(user string) []Item {
		offset++
		return []Item{{Tenant: "acme", User: user, Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: day, Offset: offset}}
	}
	const key = "cf:tally:{acme}:2026-11-30:events"
	counted := func() string {
		deadline := time.Now().Add(10 * time.Second)
		for !mr.Exists(key) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		return mr.HGet(key, "ai_training|allowed_consent")
	}

	ctx, stop := context.WithCancel(context.Background())
	for _, sc := range []*redis.Script{addNewScript, addEachScript} { // loaded: no NOSCRIPT round
		if err := sc.Load(ctx, rdb).Err(); err != nil {
			t.Fatal(err)
		}
	}
	q := NewQueue(&Tally{RDB: rdb, Namespace: "cf"}, 8)
	q.Linger = 300 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	for _, u := range []string{"u1", "u2", "u3", "u1", "u4"} {
		q.Record(ctx, item(u))
	}
	if got := counted(); got != "5" {
		t.Fatalf("events counted %q, want 5", got)
	}
	if n := sent.n.Load(); n != 1 {
		t.Fatalf("5 batches within Linger sent in %d pipelines, want 1", n)
	}
	if members, _ := mr.Members("cf:tally:{acme}:2026-11-30:users"); len(members) != 4 {
		t.Fatalf("users %v, want u1..u4", members)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// MaxItems: two one-item batches fill a gathering; it is added long
	// before an hour's Linger.
	mr.FlushAll()
	sent.n.Store(0)
	q = NewQueue(&Tally{RDB: rdb, Namespace: "cf"}, 8)
	q.Linger, q.MaxItems = time.Hour, 2
	ctx, stop = context.WithCancel(context.Background())
	defer stop()
	go func() { done <- q.Run(ctx) }()
	q.Record(ctx, item("u1"))
	q.Record(ctx, item("u2"))
	if got := counted(); got != "2" {
		t.Fatalf("a full gathering counted %q, want 2", got)
	}
	q.Record(ctx, item("u3")) // waits for Linger, or the stop
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := mr.HGet(key, "ai_training|allowed_consent"); got != "3" || sent.n.Load() != 2 {
		t.Fatalf("after the stop: counted %q in %d pipelines, want 3 in 2", got, sent.n.Load())
	}
}
