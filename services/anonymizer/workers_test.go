package anonymizer

import (
	"context"
	"fmt"
	"testing"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/avro/avrotest"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer/internal/pipeline"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// A batch anonymized by several workers gives exactly what one worker gives:
// the same curated records (bytes) in input order, the same records refused
// for the same reasons. Generated PII-rich events with the real redactor,
// poison records mixed in (run with -race to check the workers share nothing
// unsafely).
func TestEventsHandlerWorkersMatchOneWorker(t *testing.T) {
	ctx := context.Background()
	serde := avrotest.Serde(t)
	raw, err := avro.InteractionEvents(ctx, serde, "events.consented")
	require.NoError(t, err)
	curated, err := avro.CuratedEvents(ctx, serde, "events.curated")
	require.NoError(t, err)
	tr := benchTransformer(t, newTextRedactor())
	handler := func(workers int) *pipeline.Events {
		return &pipeline.Events{Purpose: "ai_training", Decoder: raw, Encoder: curated, Transformer: tr,
			CuratedTopic: "events.curated", Metrics: pipeline.NewMetrics(nil), Workers: workers}
	}
	purpose := []kafka.Header{{Key: "purpose", Value: []byte("ai_training")}}
	events := benchEvents(300)
	var batch []kafka.Message
	for i := range events {
		v, err := raw.Encode(&events[i].Event)
		require.NoError(t, err)
		m := kafka.Message{Topic: "events.consented", Partition: i % 3, Offset: int64(i), Value: v, Headers: purpose}
		switch i % 37 {
		case 5:
			m.Value = []byte("not avro")
		case 11:
			m.Headers = nil // no purpose header
		case 23:
			e := events[i].Event
			e.UserID, e.AnonymousID = "", ""
			m.Value, err = raw.Encode(&e)
			require.NoError(t, err)
		}
		batch = append(batch, m)
	}
	type outcome struct {
		out     []string
		refused []string
	}
	run := func(workers int) outcome {
		out, err := handler(workers).Handle(ctx, batch)
		var o outcome
		for _, m := range out {
			o.out = append(o.out, fmt.Sprintf("%s %x %x", m.Topic, m.Key, m.Value))
		}
		var failed *stream.BatchError
		require.ErrorAs(t, err, &failed)
		for _, f := range failed.Failures {
			o.refused = append(o.refused, fmt.Sprintf("%d %s %v", f.Index, f.Reason, f.Err))
		}
		return o
	}
	one := run(1)
	require.Len(t, one.refused, 24, "8 records each: not Avro, no purpose header, no subject")
	require.Len(t, one.out, len(batch)-len(one.refused))
	for _, w := range []int{2, 4, 16} {
		require.Equal(t, one, run(w), "%d workers", w)
	}
}
