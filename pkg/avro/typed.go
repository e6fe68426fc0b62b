package avro

import (
	"context"
	"fmt"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/schemas"
)

// Codec encodes and decodes one record type T in the wire format, under the subject
// it registered at construction.
type Codec[T any] struct {
	serde      *Serde
	id         int
	name       string // full name of the record schema, e.g. io.consentflow.v1.ConsentChange
	toNative   func(*T) map[string]any
	fromNative func(any) (T, error)
}

// ID is the registry id of the schema this codec writes with.
func (c *Codec[T]) ID() int { return c.id }

// Encode encodes v with the registered schema.
func (c *Codec[T]) Encode(v *T) ([]byte, error) { return c.serde.Encode(c.id, c.toNative(v)) }

// Decode decodes a wire-format record written with any schema version of T. A
// record written with another record schema (an InteractionEvent on a topic of
// ConsentChanges) is an error, not a T with empty fields.
func (c *Codec[T]) Decode(ctx context.Context, b []byte) (T, error) {
	var zero T
	native, id, err := c.serde.Decode(ctx, b)
	if err != nil {
		return zero, err
	}
	if id != c.id {
		wc, err := c.serde.codec(ctx, id)
		if err != nil {
			return zero, err
		}
		if n := recordName(wc); n != c.name {
			return zero, fmt.Errorf("record written with schema %d (%q), not a %s", id, n, c.name)
		}
	}
	v, err := c.fromNative(native)
	if err != nil {
		return v, fmt.Errorf("read record: %w", err)
	}
	return v, nil
}

func newCodec[T any](ctx context.Context, s *Serde, topic, file string, to func(*T) map[string]any, from func(any) (T, error)) (*Codec[T], error) {
	id, err := s.Register(ctx, topic+"-value", schemas.MustRead(file))
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	name := recordName(s.codecs[id])
	s.mu.RUnlock()
	return &Codec[T]{serde: s, id: id, name: name, toNative: to, fromNative: from}, nil
}

// InteractionEvents registers the InteractionEvent schema for topic (subject
// <topic>-value, TopicNameStrategy) and returns its codec.
func InteractionEvents(ctx context.Context, s *Serde, topic string) (*Codec[schema.InteractionEvent], error) {
	return newCodec(ctx, s, topic, schemas.InteractionEvent, (*schema.InteractionEvent).ToNative, schema.InteractionEventFromNative)
}

// CuratedEvents registers the CuratedEvent schema for topic and returns its codec.
func CuratedEvents(ctx context.Context, s *Serde, topic string) (*Codec[schema.CuratedEvent], error) {
	return newCodec(ctx, s, topic, schemas.CuratedEvent, (*schema.CuratedEvent).ToNative, schema.CuratedEventFromNative)
}

// ConsentChanges registers the ConsentChange schema for topic and returns its codec.
func ConsentChanges(ctx context.Context, s *Serde, topic string) (*Codec[schema.ConsentChange], error) {
	return newCodec(ctx, s, topic, schemas.ConsentChange, (*schema.ConsentChange).ToNative, schema.ConsentChangeFromNative)
}

// ConsentDecisions registers the ConsentDecision schema for topic and returns its codec.
func ConsentDecisions(ctx context.Context, s *Serde, topic string) (*Codec[schema.ConsentDecision], error) {
	return newCodec(ctx, s, topic, schemas.ConsentDecision, (*schema.ConsentDecision).ToNative, schema.ConsentDecisionFromNative)
}

// Erasures registers the Erasure schema for topic and returns its codec.
func Erasures(ctx context.Context, s *Serde, topic string) (*Codec[schema.Erasure], error) {
	return newCodec(ctx, s, topic, schemas.Erasure, (*schema.Erasure).ToNative, schema.ErasureFromNative)
}

// ErasureReceipts registers the ErasureReceipt schema for topic and returns its codec.
func ErasureReceipts(ctx context.Context, s *Serde, topic string) (*Codec[schema.ErasureReceipt], error) {
	return newCodec(ctx, s, topic, schemas.ErasureReceipt, (*schema.ErasureReceipt).ToNative, schema.ErasureReceiptFromNative)
}
