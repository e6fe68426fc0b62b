package producer

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/cputime"
	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// benchConfig targets real Kafka when BENCH_KAFKA_BROKERS and
// BENCH_SCHEMA_REGISTRY_URL are set (the topic must exist), else kfake.
func benchConfig(b *testing.B) Config {
	if brokers := os.Getenv("BENCH_KAFKA_BROKERS"); brokers != "" {
		cfg := testConfig()
		cfg.Config.Brokers = strings.Split(brokers, ",")
		cfg.RegistryConfig.URL = os.Getenv("BENCH_SCHEMA_REGISTRY_URL")
		cfg.MaxEvents, cfg.MaxBodyBytes = 500, 1<<20
		return cfg
	}
	return newStack(b).config()
}

func benchServerURL(b *testing.B, cfg Config) string {
	pub, err := NewKafkaPublisher(context.Background(), cfg.Config, cfg.RegistryConfig, cfg.Topic, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	api, _ := newTestAPI(b, cfg, pub)
	srv := newHTTPServer(b, api)
	b.Cleanup(func() { pub.Close() })
	return srv
}

// BenchmarkIngest measures end-to-end ingest over HTTP: JSON decode, validation,
// Avro encoding and a kafka-go acks=all write, with 8 concurrent clients per
// core. It reports events/s. Against kfake (in-process, sharing the CPUs) it
// bounds the producer's own cost; set BENCH_KAFKA_BROKERS for a real broker.
//
//	go test ./services/producer -run '^$' -bench 'Ingest|BareKafkaGo' -benchtime 3s
func BenchmarkIngest(b *testing.B) {
	for _, batch := range []int{1, 50, 500} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			url := benchServerURL(b, benchConfig(b)) + "/v1/events"
			body := batchBody("bench", batch)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(8)
			b.ResetTimer()
			start, cpu0 := time.Now(), cputime.Process(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					code, m, _ := postJSON(b, client, url, body)
					if code != http.StatusAccepted {
						b.Errorf("status %d: %v", code, m)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
			// The test process's CPU: the server's and kafka-go's, and the clients'.
			b.ReportMetric(float64(cputime.Process(b)-cpu0)/float64(b.N*batch), "cpu-ns/event")
		})
	}
}

// BenchmarkBareKafkaGoWrite is the baseline for BenchmarkIngest: the same
// Avro records written by the same kafka-go writer settings, without HTTP, JSON
// or validation, from the same number of goroutines.
func BenchmarkBareKafkaGoWrite(b *testing.B) {
	for _, batch := range []int{1, 50, 500} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			cfg := benchConfig(b)
			ctx := context.Background()
			pub, err := NewKafkaPublisher(ctx, cfg.Config, cfg.RegistryConfig, cfg.Topic, zap.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			defer pub.Close()
			serde, err := avro.NewSerdeFor(cfg.RegistryConfig)
			if err != nil {
				b.Fatal(err)
			}
			codec, err := avro.InteractionEvents(ctx, serde, cfg.Topic)
			if err != nil {
				b.Fatal(err)
			}
			evs, err := DecodeEvents([]byte(batchBody("bare", batch)), batch)
			if err != nil {
				b.Fatal(err)
			}
			msgs := make([]kafka.Message, len(evs))
			for i := range evs {
				evs[i].EventID, evs[i].ReceivedAt = fmt.Sprintf("00000000-0000-4000-8000-%012d", i), time.Now()
				v, _ := codec.Encode(&evs[i])
				msgs[i] = kafka.Message{Topic: cfg.Topic, Key: []byte(evs[i].Subject()), Value: v}
			}
			w := pub.writer
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := w.WriteMessages(ctx, msgs...); err != nil {
						b.Error(err)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkDecodeEvents measures DecodeEvents alone on the ingest benchmark's
// bodies and on the load generator's (the bodies `make bench` posts: types,
// locales, locations, PII-rich text; no HTTP, no Kafka). It reports events/s
// on one goroutine.
//
//	go test ./services/producer -run '^$' -bench DecodeEvents -benchmem
func BenchmarkDecodeEvents(b *testing.B) {
	for _, c := range []struct {
		name  string
		batch int
		body  func(n int) []byte
	}{
		{"batch=1", 1, func(n int) []byte { return []byte(batchBody("bench", n)) }},
		{"batch=50", 50, func(n int) []byte { return []byte(batchBody("bench", n)) }},
		{"batch=500", 500, func(n int) []byte { return []byte(batchBody("bench", n)) }},
		{"loadgen/batch=50", 50, func(n int) []byte { return loadgenBody(b, n) }},
		{"loadgen/batch=500", 500, func(n int) []byte { return loadgenBody(b, n) }},
	} {
		batch := c.batch
		b.Run(c.name, func(b *testing.B) {
			body := c.body(batch)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cputime.Process(b)
			for i := 0; i < b.N; i++ {
				if _, err := DecodeEvents(body, 500); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(cputime.Process(b)-cpu0)/float64(b.N*batch), "cpu-ns/event")
		})
	}
}

// loadgenBody is a POST /v1/events body of n events from the load generator
// with cfbench's settings (pkg/loadgen, seed 42, 200 tenants × 250 users).
func loadgenBody(b *testing.B, n int) []byte {
	cfg := loadgen.DefaultConfig()
	cfg.SteadyChurn()
	cfg.Seed, cfg.Tenants, cfg.UsersPerTenant = 42, 200, 250
	gen, err := loadgen.NewGenerator(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var evs []schema.InteractionEvent
	for len(evs) < n {
		if a := gen.Next(); a.Kind == loadgen.ActionEvent {
			evs = append(evs, a.Event.Event)
		}
	}
	return loadgen.EventsBody(evs)
}
