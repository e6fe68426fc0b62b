package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go"
)

// Decoder decodes a record value (an *avro.Codec).
type Decoder[T any] interface {
	Decode(ctx context.Context, b []byte) (T, error)
}

// Tombstone reports whether m is a compaction tombstone (no value).
func Tombstone(m kafka.Message) bool { return m.Value == nil }

// DecodeEach decodes the value of every record of batch with d, except those
// skip (when set) reports true for (tombstones of a compacted topic, records
// already durable). values[i] is nil for a skipped record and for one that does
// not decode; every such failure is added to failed with reason "decode" (or
// "panic" when the decoder panicked: poison), for the loop to classify (poison,
// or the registry unavailable).
func DecodeEach[T any](ctx context.Context, batch []kafka.Message, d Decoder[T], failed *BatchError, skip func(kafka.Message) bool) []*T {
	values := make([]*T, len(batch))
	what := fmt.Sprintf("%T", *new(T))
	what = what[strings.LastIndex(what, ".")+1:]
	for i, m := range batch {
		if skip != nil && skip(m) {
			continue
		}
		v, err := DecodeSafely(ctx, d, m.Value)
		if err != nil {
			failed.Add(i, decodeReason(err), fmt.Errorf("decode %s: %w", what, err))
			continue
		}
		values[i] = &v
	}
	return values
}

// DecodeSafely is d.Decode(ctx, b), except that a panic in it (a decoder's
// bug that some hostile bytes reach) is the record's permanent failure
// (Recovered, ErrPanicked), not a crash of the stage. DecodeEach and
// DecodeEachInto decode with it; so does any stage that decodes records one by
// one.
func DecodeSafely[T any](ctx context.Context, d Decoder[T], b []byte) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, Recovered(p)
		}
	}()
	return d.Decode(ctx, b)
}

// decodeReason is the failure reason of a record that did not decode: "panic"
// when its decoder panicked, else "decode".
func decodeReason(err error) string {
	if errors.Is(err, ErrPanicked) {
		return "panic"
	}
	return "decode"
}

// DecodeBuffer holds what DecodeEachInto decoded, kept by a caller that
// decodes one batch at a time so that a batch's values are not allocated one
// by one. The zero value is ready to use.
type DecodeBuffer[T any] struct {
	values []T
	ptrs   []*T
	what   string
}

// DecodeEachInto is DecodeEach into buf: the returned pointers point into
// buf's values, which the next call (or Clear) overwrites, so they are the
// caller's until then only. Every value is decoded afresh (a record that is
// skipped or does not decode is nil, never the previous batch's value).
func DecodeEachInto[T any](ctx context.Context, batch []kafka.Message, d Decoder[T], failed *BatchError, skip func(kafka.Message) bool, buf *DecodeBuffer[T]) []*T {
	if cap(buf.values) < len(batch) {
		buf.values = make([]T, len(batch))
		buf.ptrs = make([]*T, len(batch))
	}
	if buf.what == "" {
		buf.what = fmt.Sprintf("%T", *new(T))
		buf.what = buf.what[strings.LastIndex(buf.what, ".")+1:]
	}
	values, ptrs := buf.values[:len(batch)], buf.ptrs[:len(batch)]
	for i, m := range batch {
		ptrs[i] = nil
		if skip != nil && skip(m) {
			continue
		}
		v, err := DecodeSafely(ctx, d, m.Value)
		if err != nil {
			failed.Add(i, decodeReason(err), fmt.Errorf("decode %s: %w", buf.what, err))
			continue
		}
		values[i] = v
		ptrs[i] = &values[i]
	}
	return ptrs
}

// Clear drops the values the buffer holds (so that it keeps no batch's data
// alive), keeping its capacity.
func (buf *DecodeBuffer[T]) Clear() {
	clear(buf.values[:cap(buf.values)])
	clear(buf.ptrs[:cap(buf.ptrs)])
}
