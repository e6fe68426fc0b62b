package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer/internal/transform"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Header names the consent-filter sets on events.consented.
const (
	HeaderConsentVersion       = schema.HeaderConsentVersion
	HeaderTenantConsentVersion = schema.HeaderTenantConsentVersion
	HeaderPolicyVersion        = schema.HeaderPolicyVersion
)

// Stage names used in dead letters and metrics.
const (
	StageEvents   = "anonymizer"
	StageErasures = "anonymizer-erasures"
)

// Decoder decodes wire-format records of T.
type Decoder[T any] interface {
	Decode(ctx context.Context, b []byte) (T, error)
}

// Encoder encodes records of T in the wire format.
type Encoder[T any] interface {
	Encode(v *T) ([]byte, error)
}

// Events anonymizes batches of events.consented.
type Events struct {
	Decoder     Decoder[schema.InteractionEvent]
	Encoder     Encoder[schema.CuratedEvent]
	Transformer *transform.Transformer
	// CuratedTopic and DLQTopic are where outputs go.
	CuratedTopic, DLQTopic string
	Metrics                *Metrics
	Logger                 *zap.Logger
}

// Handle is a stream.Handler: one curated record or one dead letter per input, in
// input order. It fails (and the loop retries the batch) only when the schema
// registry cannot be reached.
func (h *Events) Handle(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	out := make([]kafka.Message, 0, len(batch))
	for _, m := range batch {
		msg, err := h.one(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	h.Metrics.EventsIn.Add(float64(len(batch)))
	return out, nil
}

func (h *Events) one(ctx context.Context, m kafka.Message) (kafka.Message, error) {
	e, err := h.Decoder.Decode(ctx, m.Value)
	if err != nil {
		if !permanent(err) {
			return kafka.Message{}, fmt.Errorf("decode %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, err)
		}
		return h.dead(m, "decode", fmt.Errorf("decode InteractionEvent: %w", err)), nil
	}
	meta := transform.Meta{
		ConsentVersion:       string(stream.Header(m, HeaderConsentVersion)),
		TenantConsentVersion: string(stream.Header(m, HeaderTenantConsentVersion)),
		PolicyVersion:        string(stream.Header(m, HeaderPolicyVersion)),
	}
	c, err := h.Transformer.Transform(&e, meta)
	if err != nil {
		reason := "transform"
		if errors.Is(err, transform.ErrNoSubject) {
			reason = "no_subject"
		}
		return h.dead(m, reason, fmt.Errorf("anonymize: %w", err)), nil
	}
	b, err := h.Encoder.Encode(&c)
	if err != nil {
		return h.dead(m, "encode", fmt.Errorf("encode CuratedEvent: %w", err)), nil
	}
	h.Metrics.EventsOut.Inc()
	return kafka.Message{Topic: h.CuratedTopic, Key: []byte(c.Subject), Value: b}, nil
}

func (h *Events) dead(m kafka.Message, reason string, err error) kafka.Message {
	h.Metrics.DeadLetter.WithLabelValues(StageEvents, reason).Inc()
	if h.Logger != nil {
		h.Logger.Warn("record dead-lettered", zap.String("reason", reason), zap.String("topic", m.Topic),
			zap.Int("partition", m.Partition), zap.Int64("offset", m.Offset), zap.Error(err))
	}
	return stream.DeadLetter(m, h.DLQTopic, StageEvents, err)
}
