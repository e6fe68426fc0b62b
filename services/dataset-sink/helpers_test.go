package datasetsink

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/pkg/topics"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

func testConfig(dir string) Config {
	return Config{
		HTTPAddr: "", OpsAddr: "", Config: stream.Config{Brokers: []string{"127.0.0.1:1"}}, RegistryConfig: avro.RegistryConfig{URL: "http://127.0.0.1:1"},
		Redis: redisconn.Config{Addr: "127.0.0.1:1"}, RedisNamespace: "cf", KeyCache: time.Second,
		GroupID: "dataset-sink-test", Storage: "fs", Root: dir, Dataset: "ai_training",
		RotateRows: 10, RotateBytes: 64 << 20, RotateInterval: time.Hour, RowGroupRows: 1000, DedupeWindow: 1000,
		SnapshotInterval: 0, SnapshotRetention: 30 * 24 * time.Hour, PurgeDeadline: 72 * time.Hour, PurgeCheck: time.Minute,
		History: 24 * time.Hour, OrphanAge: time.Hour, ErasureApply: 100 * time.Millisecond, CompactMinFiles: 8,
		CatalogName: "consentflow", Namespace: "consentflow",
		Topics: topics.DefaultNames(),
	}
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
	serde, err := avro.NewSerdeFor(env.Registry)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := avro.CuratedEvents(context.Background(), serde, env.Names.Curated)
	if err != nil {
		t.Fatal(err)
	}
	w := stream.NewWriter(env.Kafka, zap.NewNop())
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
	cfg.Config, cfg.RegistryConfig, cfg.Redis = k.env.Kafka, k.env.Registry, k.env.Redis
	cfg.Topics = k.env.Names
	cfg.GroupID = k.env.Prefix + "dataset-sink"
	return cfg
}

// runUntilRows runs s until a snapshot holds want rows (or ctx ends), then drains
// and returns that snapshot.
func runUntilRows(t testing.TB, ctx context.Context, s *Sink, want int64) manifest.Manifest {
	t.Helper()
	rctx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(rctx) }()
	var m manifest.Manifest
	for {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		m, err = s.Snapshot(ctx)
		if err != nil && !errors.Is(err, catalog.ErrEmpty) {
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
