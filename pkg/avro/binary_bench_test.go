package avro

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// benchEvent is shaped like loadgen's events: a few sentences of text, seven
// properties, most optional fields set.
func benchEvent() schema.InteractionEvent {
	return schema.InteractionEvent{
		EventID: "0b0e9f0e-6f1a-4c55-9d8e-1f0a6c1d2e3f", EventType: "comment_added", TenantID: "acme-eu",
		UserID: "u-000123", AnonymousID: "a5f1c0de-77aa-4c1e-9a4e-2b1d3c4e5f60", SessionID: "s-98765",
		ReceivedAt: time.UnixMilli(1_700_000_000_123).UTC(), OccurredAt: time.UnixMilli(1_700_000_000_000).UTC(),
		Jurisdiction: "DE", IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
		Locale: "de-DE", Location: "DE/Berlin/Berlin",
		Text: strings.Repeat("Maria Schmidt asked to call +49 30 1234567 about the Berlin office move. ", 5),
		Properties: map[string]string{"page": "/issues/42", "plan": "pro", "feature": "comments", "button": "save",
			"referrer": "https://example.com/a", "ab": "b", "n": "7"},
		ActorName: "Maria Schmidt", ActorEmail: "maria@example.com", Source: "api",
	}
}

func benchCodec(b *testing.B, fast bool) *Codec[schema.InteractionEvent] {
	reg := newSerde(b)
	c, err := InteractionEvents(context.Background(), reg, "events.raw")
	if err != nil {
		b.Fatal(err)
	}
	if !fast {
		c.read, c.write, c.head = nil, nil, nil
	}
	return c
}

func BenchmarkEventDecode(b *testing.B) {
	for _, mode := range []string{"goavro", "binary", "head"} {
		b.Run(mode, func(b *testing.B) {
			c := benchCodec(b, mode != "goavro")
			ev := benchEvent()
			buf, err := c.Encode(&ev)
			if err != nil {
				b.Fatal(err)
			}
			var d interface {
				Decode(context.Context, []byte) (schema.InteractionEvent, error)
			} = c
			if mode == "head" {
				d = c.Head()
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decode(context.Background(), buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEventEncode(b *testing.B) {
	for _, mode := range []string{"goavro", "binary"} {
		b.Run(mode, func(b *testing.B) {
			c := benchCodec(b, mode == "binary")
			ev := benchEvent()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Encode(&ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEventAppendEncode is BenchmarkEventEncode/binary into one buffer
// reused per 500 records, as the producer encodes a request.
func BenchmarkEventAppendEncode(b *testing.B) {
	c := benchCodec(b, true)
	ev := benchEvent()
	b.ReportAllocs()
	var buf []byte
	n := 0
	for b.Loop() {
		if n%500 == 0 {
			buf = make([]byte, 0, 512*500)
		}
		n++
		var err error
		if buf, err = c.AppendEncode(buf, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
