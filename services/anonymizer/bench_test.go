package anonymizer

import (
	"context"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/avro/avrotest"
	"github.com/consentflow/consentflow/pkg/cputime"
	"github.com/consentflow/consentflow/services/anonymizer/internal/eventgen"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/consentflow/consentflow/services/anonymizer/internal/pipeline"
	"github.com/consentflow/consentflow/services/anonymizer/internal/transform"
	"github.com/segmentio/kafka-go"
)

func benchEvents(n int) []eventgen.Event {
	gen := eventgen.New(1)
	start := time.Date(2024, 5, 17, 8, 0, 0, 0, time.UTC)
	out := make([]eventgen.Event, n)
	for i := range out {
		out[i] = gen.Event(start.Add(time.Duration(i) * time.Second))
	}
	return out
}

func benchTransformer(b testing.TB, r transform.Redactor) *transform.Transformer {
	kr, err := keyring.Ephemeral()
	if err != nil {
		b.Fatal(err)
	}
	tr, err := transform.New(transform.Options{Purpose: "ai_training", Keyring: kr, Redactor: r,
		Allowlist: eventgen.Allowlist, Granularity: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// BenchmarkTransform measures the pure transform with the real redactor on
// generated events (each has 4-9 PII-laden sentences and 7 properties).
func BenchmarkTransform(b *testing.B) {
	events := benchEvents(1024)
	tr := benchTransformer(b, newTextRedactor())
	b.ReportAllocs()
	i := 0
	cpu0 := cputime.Process(b)
	for b.Loop() {
		if _, err := tr.Transform(&events[i%len(events)].Event, transform.Meta{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpuPerOp(b, cpu0)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTransformNoRedactor is the transform without free-text redaction: the
// cost of the field actions and pseudonyms alone.
func BenchmarkTransformNoRedactor(b *testing.B) {
	events := benchEvents(1024)
	nop := transform.RedactorFunc(func(text string, _ transform.Actor) transform.Redaction { return transform.Redaction{Text: text} })
	tr := benchTransformer(b, nop)
	b.ReportAllocs()
	i := 0
	cpu0 := cputime.Process(b)
	for b.Loop() {
		if _, err := tr.Transform(&events[i%len(events)].Event, transform.Meta{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpuPerOp(b, cpu0)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventsHandler adds Avro decoding and encoding in the Confluent wire
// format: the stage's per-record work without Kafka I/O.
func BenchmarkEventsHandler(b *testing.B) {
	ctx := context.Background()
	serde := avrotest.Serde(b)
	raw, err := avro.InteractionEvents(ctx, serde, "events.consented")
	if err != nil {
		b.Fatal(err)
	}
	curated, err := avro.CuratedEvents(ctx, serde, "events.curated")
	if err != nil {
		b.Fatal(err)
	}
	h := &pipeline.Events{Purpose: "ai_training", Decoder: raw, Encoder: curated, Transformer: benchTransformer(b, newTextRedactor()),
		CuratedTopic: "events.curated", Metrics: pipeline.NewMetrics(nil)}
	events := benchEvents(500)
	batch := make([]kafka.Message, len(events))
	for i := range events {
		v, err := raw.Encode(&events[i].Event)
		if err != nil {
			b.Fatal(err)
		}
		batch[i] = kafka.Message{Topic: "events.consented", Value: v, Headers: []kafka.Header{{Key: "purpose", Value: []byte("ai_training")}}}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := h.Handle(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
