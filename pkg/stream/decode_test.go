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
