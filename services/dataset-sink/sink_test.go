package datasetsink

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/embedded"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// TestSinkKillRestartOverKafka runs the consumer over in-process Kafka, kills it
// abruptly mid-stream (no drain, open files lost, some offsets committed), restarts
// it over the same directory and checks the snapshot has every event exactly once.
func TestSinkKillRestartOverKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("in-process Kafka")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	names := topics.DefaultNames()
	stack, err := embedded.Start(ctx, embedded.Options{Topics: topics.Specs(names, topics.Settings{Partitions: 2, ChangePartitions: 1, ReplicationFactor: 1})})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	client, _ := sr.NewClient(sr.URLs(stack.RegistryURL))
	codec, err := avro.CuratedEvents(ctx, avro.NewSerde(client), names.Curated)
	if err != nil {
		t.Fatal(err)
	}
	w := stream.NewWriter(stack.Brokers, zap.NewNop())
	defer w.Close()
	const n = 300
	base := newClock().Now()
	var msgs []kafka.Message
	for i := range n {
		ev := event(i, "k1:s", base)
		b, err := codec.Encode(&ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Topic: names.Curated, Key: []byte(ev.EventID), Value: b})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Brokers, cfg.SchemaRegistryURL = stack.Brokers, stack.RegistryURL
	cfg.RotateRows = 40

	// First run: kill once some files are published.
	s1, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s1.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for s1.Stats().FilesWritten < 3 && time.Now().Before(deadline) {
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
	rctx, stop := context.WithCancel(ctx)
	go func() { errc <- s2.Run(rctx) }()
	var m Manifest
	for {
		if err := s2.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if m, err = s2.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		if m.Totals.Rows >= n || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatalf("drain: %v", err)
	}
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
