package datasetsink

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/pkg/topics"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 11, 28, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func event(i int, subject string, received time.Time) schema.CuratedEvent {
	return schema.CuratedEvent{
		EventID: fmt.Sprintf("ev-%06d", i), EventType: "issue_created", Subject: subject, Tenant: "k1:tenant-a",
		ReceivedAt: received, Jurisdiction: "DE", Properties: map[string]string{"plan": "pro"},
		Text: "hello <EMAIL_ADDRESS>", Source: "api", Purpose: "ai_training", PolicyVersion: "2025-11-01",
	}
}

func testConfig(dir string) Config {
	return Config{
		HTTPAddr: "", OpsAddr: "", Config: stream.Config{Brokers: []string{"127.0.0.1:1"}}, RegistryConfig: avro.RegistryConfig{URL: "http://127.0.0.1:1"},
		GroupID: "dataset-sink-test", Storage: "fs", Root: dir, Dataset: "ai_training",
		RotateRows: 10, RotateBytes: 64 << 20, RotateInterval: time.Hour, RowGroupRows: 1000, DedupeWindow: 1000,
		SnapshotInterval: 0, SnapshotRetention: 30 * 24 * time.Hour, PurgeDeadline: 72 * time.Hour, PurgeCheck: time.Minute,
		Topics: topics.DefaultNames(),
	}
}

// newTestParts builds the storage, ledger, writer and catalog over dir.
type parts struct {
	store   *FS
	ledger  *Ledger
	writer  *Writer
	catalog *Catalog
	m       *metrics
}

func newParts(t testing.TB, dir string, clock *fakeClock, rotateRows int) *parts {
	t.Helper()
	return newPartsWindow(t, dir, clock, rotateRows, 1000)
}

// newPartsWindow is newParts with a dedupe window of window ids per partition.
func newPartsWindow(t testing.TB, dir string, clock *fakeClock, rotateRows, window int) *parts {
	t.Helper()
	ctx := context.Background()
	store, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RemoveStaged("ai_training"); err != nil {
		t.Fatal(err)
	}
	ledger, err := OpenLedger(dir + "/ai_training/erasures.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ledger.Close() })
	m := newMetrics(nil)
	w, err := newWriter(ctx, store, ledger, WriterOptions{Dataset: "ai_training", Topic: "events.curated",
		RotateRows: rotateRows, RotateBytes: 64 << 20, RotateInterval: time.Hour, RowGroupRows: 1000, DedupeWindow: window}, clock.Now, m, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	cat := newCatalog(store, ledger, CatalogOptions{Dataset: "ai_training", Retention: 30 * 24 * time.Hour, RowGroupRows: 1000}, clock.Now, m, zap.NewNop())
	return &parts{store: store, ledger: ledger, writer: w, catalog: cat, m: m}
}

// allRows reads every row of a manifest's files.
func allRows(t testing.TB, store Storage, m Manifest) []Row {
	t.Helper()
	var out []Row
	for _, f := range m.Files {
		rows, err := readRows(context.Background(), store, m.Dataset+"/"+f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(rows)) != f.Rows {
			t.Fatalf("%s: %d rows, manifest says %d", f.Path, len(rows), f.Rows)
		}
		out = append(out, rows...)
	}
	return out
}

// kafkaFixture is a test's Kafka (embedded, or real under CONSENTFLOW_LIVE=1) with
// its per-test topics, and a codec registered for the curated topic.
type kafkaFixture struct {
	env   *testenv.Env
	codec *avro.Codec[schema.CuratedEvent]
	w     *kafka.Writer
}

func newKafkaFixture(t testing.TB) *kafkaFixture {
	t.Helper()
	env := testenv.Start(t)
	client, err := sr.NewClient(sr.URLs(env.RegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	codec, err := avro.CuratedEvents(context.Background(), avro.NewSerde(client), env.Names.Curated)
	if err != nil {
		t.Fatal(err)
	}
	w := stream.NewWriter(env.Brokers, zap.NewNop())
	t.Cleanup(func() { w.Close() })
	return &kafkaFixture{env: env, codec: codec, w: w}
}

// encode returns ev as a curated-topic record keyed by its subject.
func (k *kafkaFixture) encode(t testing.TB, ev schema.CuratedEvent) kafka.Message {
	t.Helper()
	b, err := k.codec.Encode(&ev)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Topic: k.env.Names.Curated, Key: []byte(ev.Subject), Value: b}
}

// config is a sink configuration over the fixture's brokers, registry and topics,
// with a consumer group unique to the test.
func (k *kafkaFixture) config(dir string) Config {
	cfg := testConfig(dir)
	cfg.Brokers, cfg.RegistryConfig.URL = k.env.Brokers, k.env.RegistryURL
	cfg.Topics = k.env.Names
	cfg.GroupID = k.env.Prefix + "dataset-sink"
	return cfg
}

// runUntilRows runs s until a snapshot holds want rows (or ctx ends), then drains
// and returns that snapshot.
func runUntilRows(t testing.TB, ctx context.Context, s *Sink, want int64) Manifest {
	t.Helper()
	rctx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(rctx) }()
	var m Manifest
	for {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		if m, err = s.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		if m.Totals.Rows >= want || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatalf("drain: %v", err)
	}
	return m
}
