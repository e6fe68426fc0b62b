package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
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
	base := sinktest.NewClock().Now()
	var msgs []kafka.Message
	for i := range n {
		msgs = append(msgs, k.encode(t, sinktest.Event(i, fmt.Sprintf("k1:s%d", i), base)))
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := k.config(dir)
	cfg.RotateRows = 40

	// Commits run in the background and files due while one is in flight go
	// on filling: a small SINK_ROTATE_BYTES (a row or two buffered per
	// generation, Append waits beyond: a generation counts a piece of 1,024
	// row slots, ~340 KiB, per partition it opens) keeps the first run from
	// buffering everything behind its first commit.
	cfg.RotateBytes = 32 << 10

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
	t.Logf("first run killed after %d files, %d of %d rows", s1.Stats().FilesWritten, s1.Stats().RowsWritten, n)

	// Restart over the same files and group, with the default buffer: at 32
	// KiB the rest took ~150 table commits, 25 s on a loaded machine and over
	// the 90 s budget on a more loaded CI one.
	cfg.RotateBytes = 64 << 20
	s2, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	m := runUntilRows(t, ctx, s2, n)
	seen := map[string]int{}
	for _, r := range sinktest.AllRows(t, s2.lake, m) {
		seen[r.EventID]++
		if seen[r.EventID] > 1 {
			t.Fatalf("duplicate %s", r.EventID)
		}
	}
	if len(seen) != n || m.Totals.Rows != n {
		t.Fatalf("%d distinct events, manifest %d rows, want %d", len(seen), m.Totals.Rows, n)
	}
}

// TestSinkDeadLettersPoisonOverKafka: records that are not in wire format, name a
// schema the registry does not have, or do not decode with their schema are in
// the DLQ with their original bytes; the valid ones are in the dataset; the
// group's offsets pass them all.
func TestSinkDeadLettersPoisonOverKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k := newKafkaFixture(t)
	base := sinktest.NewClock().Now()
	var msgs []kafka.Message
	const valid = 30
	for i := range valid {
		msgs = append(msgs, k.encode(t, sinktest.Event(i, fmt.Sprintf("k1:s%d", i), base)))
	}
	good := k.encode(t, sinktest.Event(999, "k1:poison", base))
	poison := [][]byte{
		[]byte("plain json, not avro"),
		{0, 0x7f, 0xff, 0xff, 0xff, 2, 'x'}, // a schema id the registry does not have
		good.Value[:len(good.Value)/2],      // truncated: does not decode
	}
	for i, v := range poison {
		msgs = append(msgs, kafka.Message{Topic: k.env.Names.Curated, Key: []byte(fmt.Sprintf("poison-%d", i)), Value: v})
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	cfg := k.config(t.TempDir())
	s, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := runUntilRows(t, ctx, s, valid)
	if m.Totals.Rows != valid {
		t.Fatalf("dataset rows %d, want %d", m.Totals.Rows, valid)
	}

	r := stream.NewReader(k.env.Kafka, stream.ReaderConfig{GroupID: k.env.Prefix + "dlq-check", Topic: k.env.Names.DLQ}, zap.NewNop())
	defer r.Close()
	got := map[string]kafka.Message{}
	for len(got) < len(poison) {
		dm, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("read DLQ (have %d): %v", len(got), err)
		}
		got[string(dm.Key)] = dm
	}
	for i, v := range poison {
		dm, ok := got[fmt.Sprintf("poison-%d", i)]
		if !ok || string(dm.Value) != string(v) || string(stream.Header(dm, stream.HeaderStage)) != StageEvents ||
			string(stream.Header(dm, stream.HeaderSourceTopic)) != k.env.Names.Curated || len(stream.Header(dm, stream.HeaderError)) == 0 {
			t.Fatalf("poison %d: dead letter %+v", i, dm)
		}
	}
	lag, err := stream.GroupLag(ctx, k.env.Kafka, cfg.GroupID, k.env.Names.Curated)
	if err != nil || lag != 0 {
		t.Fatalf("group lag after drain %d %v", lag, err)
	}
	if got := counter(t, s.reg, "consentflow_stage_dead_letters_total", map[string]string{"stage": StageEvents, "reason": "decode"}); got != 3 {
		t.Fatalf("dead letter metric %v", got)
	}
}

// counter returns the value of the counter name with the given labels.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
