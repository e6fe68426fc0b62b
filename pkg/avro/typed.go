package avro

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

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

	// The hand-written binary reader and writer of T's schema file (binary.go),
	// for records written with that schema (see fast); nil for types without.
	read  func([]byte) (T, error)
	write func([]byte, *T) ([]byte, error)
	head  func([]byte) (T, error) // reads the fields a consent decision needs
	// sameSchema caches, per writer schema id, whether its schema is the
	// codec's own (int → bool).
	sameSchema sync.Map
}

// ID is the registry id of the schema this codec writes with.
func (c *Codec[T]) ID() int { return c.id }

// Encode encodes v with the registered schema.
func (c *Codec[T]) Encode(v *T) ([]byte, error) {
	if c.write == nil {
		return c.serde.Encode(c.id, c.toNative(v))
	}
	buf := make([]byte, 5, 256)
	binary.BigEndian.PutUint32(buf[1:], uint32(c.id))
	out, err := c.write(buf, v)
	if err != nil {
		return nil, fmt.Errorf("encode with schema %d: %w", c.id, err)
	}
	return out, nil
}

// AppendEncode appends v, encoded as Encode does, to dst: a batch's records
// can share one buffer (slice each with a capacity limit).
func (c *Codec[T]) AppendEncode(dst []byte, v *T) ([]byte, error) {
	if c.write == nil {
		b, err := c.Encode(v)
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(append(dst, 0), uint32(c.id))
	out, err := c.write(dst, v)
	if err != nil {
		return dst[:start], fmt.Errorf("encode with schema %d: %w", c.id, err)
	}
	return out, nil
}

// fast is the record body of b when it was written with this codec's schema
// and the codec has a hand-written reader for it. "This codec's schema" is any
// registry id whose schema has the same Parsing Canonical Form as the one the
// codec registered — the same fields, types and order, so the same binary
// layout: a registry that gives the schema another id under each subject
// (Apicurio's global ids: events.raw-value and events.consented-value) still
// takes the fast path. Each id is checked once; an id the registry cannot
// give now is left to goavro's path, which reports why.
func (c *Codec[T]) fast(ctx context.Context, b []byte) ([]byte, bool) {
	if c.read == nil || len(b) < 5 || b[0] != 0 {
		return nil, false
	}
	id := int(binary.BigEndian.Uint32(b[1:5]))
	if id == c.id {
		return b[5:], true
	}
	if same, ok := c.sameSchema.Load(id); ok {
		return b[5:], same.(bool)
	}
	wc, err := c.serde.codec(ctx, id)
	if err != nil {
		return nil, false
	}
	c.serde.mu.RLock()
	own := c.serde.codecs[c.id]
	c.serde.mu.RUnlock()
	same := own != nil && wc.CanonicalSchema() == own.CanonicalSchema()
	c.sameSchema.Store(id, same)
	return b[5:], same
}

// Decode decodes a wire-format record written with any schema version of T. A
// record written with another record schema (an InteractionEvent on a topic of
// ConsentChanges) is an error, not a T with empty fields.
func (c *Codec[T]) Decode(ctx context.Context, b []byte) (T, error) {
	var zero T
	if body, ok := c.fast(ctx, b); ok {
		v, err := c.read(body)
		if err != nil {
			return zero, fmt.Errorf("decode with schema %d: %w", c.id, err)
		}
		return v, nil
	}
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

// Head is a decoder of the fields of T a consent decision needs; the other
// fields may be left empty. The record's structure is checked in full either
// way. For a T without such a reader it is the codec itself.
func (c *Codec[T]) Head() interface {
	Decode(ctx context.Context, b []byte) (T, error)
} {
	if c.head == nil {
		return c
	}
	return headDecoder[T]{c}
}

type headDecoder[T any] struct{ c *Codec[T] }

func (h headDecoder[T]) Decode(ctx context.Context, b []byte) (T, error) {
	body, ok := h.c.fast(ctx, b)
	if !ok {
		return h.c.Decode(ctx, b)
	}
	v, err := h.c.head(body)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("decode with schema %d: %w", h.c.id, err)
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
	c, err := newCodec(ctx, s, topic, schemas.InteractionEvent, (*schema.InteractionEvent).ToNative, schema.InteractionEventFromNative)
	if err == nil {
		c.read, c.write, c.head = readInteractionEvent, appendInteractionEvent, readInteractionEventHead
	}
	return c, err
}

// CuratedEvents registers the CuratedEvent schema for topic and returns its codec.
func CuratedEvents(ctx context.Context, s *Serde, topic string) (*Codec[schema.CuratedEvent], error) {
	c, err := newCodec(ctx, s, topic, schemas.CuratedEvent, (*schema.CuratedEvent).ToNative, schema.CuratedEventFromNative)
	if err == nil {
		c.read, c.write = readCuratedEvent, appendCuratedEvent
	}
	return c, err
}

// ConsentChanges registers the ConsentChange schema for topic and returns its codec.
func ConsentChanges(ctx context.Context, s *Serde, topic string) (*Codec[schema.ConsentChange], error) {
	return newCodec(ctx, s, topic, schemas.ConsentChange, (*schema.ConsentChange).ToNative, schema.ConsentChangeFromNative)
}

// ConsentDecisions registers the ConsentDecision schema for topic and returns its codec.
func ConsentDecisions(ctx context.Context, s *Serde, topic string) (*Codec[schema.ConsentDecision], error) {
	c, err := newCodec(ctx, s, topic, schemas.ConsentDecision, (*schema.ConsentDecision).ToNative, schema.ConsentDecisionFromNative)
	if err == nil {
		c.read, c.write = readConsentDecision, appendConsentDecision
	}
	return c, err
}

// Erasures registers the Erasure schema for topic and returns its codec.
func Erasures(ctx context.Context, s *Serde, topic string) (*Codec[schema.Erasure], error) {
	return newCodec(ctx, s, topic, schemas.Erasure, (*schema.Erasure).ToNative, schema.ErasureFromNative)
}

// ErasureReceipts registers the ErasureReceipt schema for topic and returns its codec.
func ErasureReceipts(ctx context.Context, s *Serde, topic string) (*Codec[schema.ErasureReceipt], error) {
	return newCodec(ctx, s, topic, schemas.ErasureReceipt, (*schema.ErasureReceipt).ToNative, schema.ErasureReceiptFromNative)
}
