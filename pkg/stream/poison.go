package stream

import (
	"context"
	"fmt"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Middleware wraps a Handler with one piece of delivery policy.
type Middleware func(Handler) Handler

// Poison turns the permanent failures of a handler's BatchError into dead letters
// for topic dlq (stage names the stage in their headers), appended to the
// handler's outputs, so that the loop writes them with the rest of the batch and
// commits the poison records only once their dead letters are acknowledged.
// A transient failure makes the whole batch fail as transient (tried again); a
// poison record without a dead-letter topic (dlq "") stops the loop. Each dead
// letter is counted in m and logged with its coordinates, never its payload.
func Poison(dlq, stage string, m *Metrics, log *zap.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
			out, err := next(ctx, batch)
			be, ok := asBatchError(err)
			if !ok {
				return out, err
			}
			if f, ok := be.Transient(); ok {
				return nil, Transient(fmt.Errorf("record %d of the batch: %s: %w", f.Index, f.Reason, f.Err))
			}
			if dlq == "" {
				return nil, fmt.Errorf("%s: poison record and no dead-letter topic: %w", stage, be)
			}
			for _, f := range be.Failures {
				if f.Index < 0 || f.Index >= len(batch) {
					return nil, fmt.Errorf("%s: handler reported record %d of a batch of %d", stage, f.Index, len(batch))
				}
				rec := batch[f.Index]
				out = append(out, DeadLetter(rec, dlq, stage, f.Err))
				m.DeadLetters.WithLabelValues(stage, f.Reason).Inc()
				log.Warn("record sent to the dead-letter topic", zap.String("reason", f.Reason), zap.String("topic", rec.Topic),
					zap.Int("partition", rec.Partition), zap.Int64("offset", rec.Offset), zap.String("dlq", dlq), zap.Error(f.Err))
			}
			return out, nil
		}
	}
}
