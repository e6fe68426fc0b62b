package stream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/stream"
)

type rec struct {
	ID   string            `json:"id"`
	Text string            `json:"text,omitempty"`
	Tags map[string]string `json:"tags,omitempty"`
}

type jsonDecoder struct{}

func (jsonDecoder) Decode(_ context.Context, b []byte) (rec, error) {
	var r rec
	err := json.Unmarshal(b, &r)
	return r, err
}

// TestDecodeEachIntoIsDecodeEach: decoding batch after batch into one buffer
// gives for every batch what DecodeEach gives for it alone — the same values,
// nil for every record skipped or not decoding (never the value the previous
// batch had at that index), the same failures — across a first batch whose
// records all carry every field and later ones of other sizes where records
// fail, are skipped or carry fewer fields.
func TestDecodeEachIntoIsDecodeEach(t *testing.T) {
	ctx := context.Background()
	full := func(n int) []kafka.Message {
		b := make([]kafka.Message, n)
		for i := range b {
			b[i].Value = []byte(fmt.Sprintf(`{"id":"a%d","text":"secret %d","tags":{"k":"v%d"}}`, i, i, i))
		}
		return b
	}
	sparse := func(n int) []kafka.Message {
		b := make([]kafka.Message, n)
		for i := range b {
			switch i % 4 {
			case 0:
				b[i].Value = []byte(`{not json`)
			case 1:
				b[i].Value = nil // skipped
			default:
				b[i].Value = []byte(fmt.Sprintf(`{"id":"b%d"}`, i))
			}
		}
		return b
	}
	var buf stream.DecodeBuffer[rec]
	for _, batch := range [][]kafka.Message{full(10), sparse(10), full(3), sparse(12), full(12), sparse(7)} {
		var fresh, reused stream.BatchError
		want := stream.DecodeEach(ctx, batch, jsonDecoder{}, &fresh, stream.Tombstone)
		got := stream.DecodeEachInto(ctx, batch, jsonDecoder{}, &reused, stream.Tombstone, &buf)
		require.Len(t, got, len(want))
		for i := range want {
			if want[i] == nil {
				require.Nil(t, got[i], "record %d: a value where DecodeEach has none", i)
				continue
			}
			require.NotNil(t, got[i], "record %d", i)
			require.Equal(t, *want[i], *got[i], "record %d", i)
		}
		require.Equal(t, fresh.Error(), reused.Error())
		require.Equal(t, len(fresh.Failures), len(reused.Failures))
	}
	buf.Clear()
}

// panickyDecoder decodes like jsonDecoder, except that a value starting with
// "idx" makes it slice out of range (a runtime error) and one starting with
// "val" panics with a value holding the record's bytes.
type panickyDecoder struct{}

func (panickyDecoder) Decode(ctx context.Context, b []byte) (rec, error) {
	switch {
	case len(b) >= 3 && string(b[:3]) == "idx":
		return rec{ID: string(b[len(b)+1:])}, nil
	case len(b) >= 3 && string(b[:3]) == "val":
		panic("cannot decode " + string(b))
	}
	return jsonDecoder{}.Decode(ctx, b)
}

// TestDecodeEachTurnsADecoderPanicIntoPoison: a decoder that panics on a
// record fails that record alone, with reason "panic", a permanent error
// naming the runtime's message and the panicking function and none of the
// record's bytes; the batch's other records decode (DecodeEach and
// DecodeEachInto alike).
func TestDecodeEachTurnsADecoderPanicIntoPoison(t *testing.T) {
	batch := []kafka.Message{
		{Value: []byte(`{"id":"a"}`)},
		{Value: []byte("idx secret-one")},
		{Value: []byte(`{"id":"b"}`)},
		{Value: []byte("val secret-two")},
		{Value: []byte(`{"id":"c"}`)},
	}
	var buf stream.DecodeBuffer[rec]
	for name, decode := range map[string]func(*stream.BatchError) []*rec{
		"DecodeEach": func(f *stream.BatchError) []*rec {
			return stream.DecodeEach(context.Background(), batch, stream.Decoder[rec](panickyDecoder{}), f, nil)
		},
		"DecodeEachInto": func(f *stream.BatchError) []*rec {
			return stream.DecodeEachInto(context.Background(), batch, stream.Decoder[rec](panickyDecoder{}), f, nil, &buf)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var failed stream.BatchError
			vs := decode(&failed)
			require.Len(t, vs, len(batch))
			for i, id := range map[int]string{0: "a", 2: "b", 4: "c"} {
				require.NotNil(t, vs[i])
				require.Equal(t, id, vs[i].ID)
			}
			require.Nil(t, vs[1])
			require.Nil(t, vs[3])
			require.Len(t, failed.Failures, 2)
			for k, f := range failed.Failures {
				require.Equal(t, []int{1, 3}[k], f.Index)
				require.Equal(t, "panic", f.Reason)
				require.ErrorIs(t, f.Err, stream.ErrPanicked)
				require.True(t, stream.Permanent(f.Err), "a panicking record is poison, not retried")
				require.Contains(t, f.Err.Error(), "stream_test.panickyDecoder.Decode (decode_test.go:", "names the panicking function")
				require.NotContains(t, f.Err.Error(), "secret", "never the record's content")
			}
			require.ErrorContains(t, failed.Failures[0].Err, "runtime error: slice bounds out of range")
			require.ErrorContains(t, failed.Failures[1].Err, "panic value of type string")
			_, retry := failed.Transient()
			require.False(t, retry)
		})
	}
}
