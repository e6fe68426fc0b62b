package tally

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkAdd adds the counts of one 500-event batch (4 tenants, 200 users,
// 3 partitions, new positions every time) to the Redis at REDIS_ADDR (make
// services), and reports the Redis server's CPU per batch beside the wall
// time per batch (the filter does not wait for it: a background goroutine).
//
//	REDIS_ADDR=127.0.0.1:6379 go test ./services/consent-filter/internal/tally -run '^$' -bench Add
func BenchmarkAdd(b *testing.B) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		b.Skip("REDIS_ADDR not set (make services)")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	ns := fmt.Sprintf("bench-tally-%d", time.Now().UnixNano())
	tl := &Tally{RDB: rdb, Namespace: ns}
	now := time.Now()
	batch := func(base int64) []Item {
		items := make([]Item, 500)
		for i := range items {
			u := i % 200
			items[i] = Item{Tenant: fmt.Sprintf("t%d", u%4), User: fmt.Sprintf("user-%d", u), Purpose: "ai_training",
				Reason: []string{"allowed_consent", "user_opt_out", "no_consent"}[i%3], ReceivedAt: now,
				Partition: i % 3, Offset: base + int64(i)}
		}
		return items
	}
	if err := tl.Add(ctx, batch(0)); err != nil {
		b.Fatal(err)
	}
	cpu0 := redisCPU(b, rdb)
	b.ResetTimer()
	for n := range b.N {
		if err := tl.Add(ctx, batch(int64(n+1)*500)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((redisCPU(b, rdb)-cpu0).Microseconds())/float64(b.N), "redis-cpu-µs/batch")
	keys, _ := rdb.Keys(ctx, ns+":*").Result()
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
}

// redisCPU is the Redis server's user+system CPU time so far.
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkGroup sorts one gathering of the queue (10,000 items of 20
// 500-event batches: 200 tenants, 2,000 users, 3 partitions, one day) into
// the tenants' adds: the Go side of an add, which the filter's process pays
// for every event it decides.
func BenchmarkGroup(b *testing.B) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	items := make([]Item, 10_000)
	reasons := []string{"allowed_consent", "user_opt_out", "no_consent"}
	for i := range items {
		u := i % 2000
		items[i] = Item{Tenant: fmt.Sprintf("tenant-%03d", u%200), User: fmt.Sprintf("user-%05d", u), Purpose: "ai_training",
			Reason: reasons[i%3], ReceivedAt: now, Partition: i % 3, Offset: int64(i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(group(items)) != 200 {
			b.Fatal("want 200 tenants")
		}
	}
}
