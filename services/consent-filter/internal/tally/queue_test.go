package tally

import (
	"context"
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
