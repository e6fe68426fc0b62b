package stream

import (
	"context"
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
// not decode; every such failure is added to failed with reason "decode", for
// the loop to classify (poison, or the registry unavailable).
func DecodeEach[T any](ctx context.Context, batch []kafka.Message, d Decoder[T], failed *BatchError, skip func(kafka.Message) bool) []*T {
	values := make([]*T, len(batch))
	what := fmt.Sprintf("%T", *new(T))
	what = what[strings.LastIndex(what, ".")+1:]
	for i, m := range batch {
		if skip != nil && skip(m) {
			continue
		}
		v, err := d.Decode(ctx, m.Value)
		if err != nil {
			failed.Add(i, "decode", fmt.Errorf("decode %s: %w", what, err))
			continue
		}
		values[i] = &v
	}
	return values
}
