package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/stream"
)

// dlqStage is the stage header of the dead letters this service writes.
const dlqStage = "dataset-sink"

// decoder decodes a record value (an *avro.Codec).
type decoder[T any] interface {
	Decode(ctx context.Context, b []byte) (T, error)
}

// messageWriter writes records and returns once the broker acknowledged them
// (stream.NewWriter: acks=all, synchronous).
type messageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// deadLetters writes undecodable records to the dead-letter topic.
type deadLetters struct {
	w     messageWriter
	topic string
	m     *metrics
	log   *zap.Logger
	// backoffMin and backoffMax bound the wait between decode attempts while the
	// schema registry is unavailable.
	backoffMin, backoffMax time.Duration
}

// decodeRecord decodes m.Value; ok is false when the record was dead-lettered.
//
// A schema registry outage (avro.ErrRegistryUnavailable) is retried with backoff
// for as long as ctx lives: such a record is never dropped. Any other failure (not
// in Confluent wire format, a schema the registry does not have, bytes that do not
// decode with their schema) makes the record poison: it is written to the DLQ and
// acknowledged before decodeRecord returns, so the offset that the caller later
// commits (after the file holding the surrounding offsets is published) never
// passes a record the DLQ does not hold. A crash in between re-reads and
// dead-letters it again: the DLQ is at least once (source-topic, -partition and
// -offset headers identify repeats). err is ctx's error or a failed DLQ write; the
// caller then stops rather than skip the record.
func decodeRecord[T any](ctx context.Context, d decoder[T], m kafka.Message, dl *deadLetters) (T, bool, error) {
	wait := dl.backoffMin
	for attempt := 1; ; attempt++ {
		v, err := d.Decode(ctx, m.Value)
		switch {
		case err == nil:
			return v, true, nil
		case ctx.Err() != nil:
			return v, false, ctx.Err()
		case !errors.Is(err, avro.ErrRegistryUnavailable):
			return v, false, dl.send(ctx, m, err)
		}
		dl.m.registryRetries.Inc()
		dl.log.Warn("schema registry unavailable, retrying the record", zap.String("topic", m.Topic),
			zap.Int("partition", m.Partition), zap.Int64("offset", m.Offset), zap.Int("attempt", attempt),
			zap.Duration("wait", wait), zap.Error(err))
		select {
		case <-ctx.Done():
			return v, false, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, dl.backoffMax)
	}
}

// send writes m's dead letter and waits for the broker's acknowledgement.
func (dl *deadLetters) send(ctx context.Context, m kafka.Message, cause error) error {
	if err := dl.w.WriteMessages(ctx, stream.DeadLetter(m, dl.topic, dlqStage, cause)); err != nil {
		return fmt.Errorf("dead-letter %s %d:%d to %s: %w", m.Topic, m.Partition, m.Offset, dl.topic, err)
	}
	dl.m.deadLetters.WithLabelValues(m.Topic).Inc()
	dl.log.Error("undecodable record sent to the dead-letter topic", zap.String("topic", m.Topic),
		zap.Int("partition", m.Partition), zap.Int64("offset", m.Offset), zap.String("dlq", dl.topic), zap.Error(cause))
	return nil
}
