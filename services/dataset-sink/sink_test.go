package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// TestSinkKillRestartOverKafka runs the consumer over Kafka (embedded, or real
// under CONSENTFLOW_LIVE=1), kills it abruptly mid-stream (no drain, open files
// lost, some offsets committed), restarts it over the same directory and checks
// the snapshot has every event exactly once.
func TestSinkKillRestartOverKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k := newKafkaFixture(t)
	const n = 300
	base := newClock().Now()
	var msgs []kafka.Message
	for i := range n {
		msgs = append(msgs, k.encode(t, event(i, fmt.Sprintf("k1:s%d", i), base)))
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := k.config(dir)
	cfg.RotateRows = 40

	// First run: kill once some files are published.
	s1, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s1.Run(ctx) }()
	for s1.Stats().FilesWritten < 3 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	close(s1.kill)
	if err := <-errc; !errors.Is(err, errKilled) {
		t.Fatalf("killed run: %v", err)
	}
	s1.Close()
	if s1.Stats().RowsWritten >= n {
		t.Fatal("first run wrote everything before the kill; test proves nothing")
	}

	// Restart over the same files and group.
	s2, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	m := runUntilRows(t, ctx, s2, n)
	seen := map[string]int{}
	for _, r := range allRows(t, s2.store, m) {
		seen[r.EventID]++
		if seen[r.EventID] > 1 {
			t.Fatalf("duplicate %s", r.EventID)
		}
	}
	if len(seen) != n || m.Totals.Rows != n {
		t.Fatalf("%d distinct events, manifest %d rows, want %d", len(seen), m.Totals.Rows, n)
	}
}
