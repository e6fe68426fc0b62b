package producer

import (
	"context"
	"errors"
	"fmt"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Publisher writes events durably. Publish returns nil only when every event is
// acknowledged by the store (for Kafka: acks=all); any error means the caller
// must not claim any of them was stored.
type Publisher interface {
	Publish(ctx context.Context, events []schema.InteractionEvent) error
}

// ErrUnavailable wraps every Publish failure caused by the store (unreachable,
// not acknowledging in time), as opposed to a record that cannot be encoded.
var ErrUnavailable = errors.New("event store unavailable")

// KafkaPublisher writes events to one topic with kafka-go, Avro-encoded in the
// Confluent wire format, keyed by the consent subject and partitioned with
// murmur2 like the Java client.
type KafkaPublisher struct {
	writer *kafka.Writer
	codec  *avro.Codec[schema.InteractionEvent]
	topic  string
}

// NewKafkaPublisher registers the InteractionEvent schema under <topic>-value in
// the registry and returns a publisher writing to topic with pkg/stream's
// writer: synchronous, acks=all, murmur2 partitioning, batches shared by
// concurrent requests (2 ms unless opts say otherwise: Run passes
// PRODUCER_BATCH_TIMEOUT and MAX_EVENTS_PER_REQUEST).
func NewKafkaPublisher(ctx context.Context, k stream.Config, registry avro.RegistryConfig, topic string, logger *zap.Logger, opts ...stream.WriterOption) (*KafkaPublisher, error) {
	serde, err := avro.NewSerdeFor(registry)
	if err != nil {
		return nil, err
	}
	codec, err := avro.InteractionEvents(ctx, serde, topic)
	if err != nil {
		return nil, fmt.Errorf("register event schema: %w", err)
	}
	return &KafkaPublisher{writer: stream.NewWriter(k, logger, opts...), codec: codec, topic: topic}, nil
}

// Publish encodes the events and writes them; it returns when Kafka acknowledged
// all of them (nil) or ctx ended or the brokers failed (an error wrapping
// ErrUnavailable). After an error some of the events may still be in Kafka: the
// caller must claim none of them, clients retry with the same event ids.
func (p *KafkaPublisher) Publish(ctx context.Context, events []schema.InteractionEvent) error {
	// The records and keys share two buffers (each message holds a slice of
	// them, capacity-limited) rather than two allocations per event.
	msgs := make([]kafka.Message, len(events))
	values := make([]byte, 0, 512*len(events))
	keys := make([]byte, 0, 32*len(events))
	for i := range events {
		start := len(values)
		var err error
		if values, err = p.codec.AppendEncode(values, &events[i]); err != nil {
			return fmt.Errorf("encode event %d: %w", i, err)
		}
		k := len(keys)
		keys = append(keys, events[i].Subject()...)
		msgs[i] = kafka.Message{Topic: p.topic, Key: keys[k:len(keys):len(keys)], Value: values[start:len(values):len(values)]}
	}
	if err := p.writer.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("%w: write %d records to %s: %w", ErrUnavailable, len(msgs), p.topic, err)
	}
	return nil
}

// Close flushes and closes the writer.
func (p *KafkaPublisher) Close() error {
	if err := p.writer.Close(); err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}
