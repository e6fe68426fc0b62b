package avro

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentflow/consentflow/pkg/schema"
)

// FuzzDecodeRecord decodes arbitrary Kafka record values (what a poison record on
// events.raw or any topic may hold) with the typed codecs: never a panic; either
// an error or a record, and a record re-encodes. The first byte and the schema
// id are fuzzed too, so the wire header, unknown ids and Avro bodies are all
// exercised.
//
//	go test ./pkg/avro -run '^$' -fuzz FuzzDecodeRecord -fuzztime 30s
func FuzzDecodeRecord(f *testing.F) {
	reg := srfake.New()
	f.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		f.Fatal(err)
	}
	s := NewSerde(cl)
	ctx := context.Background()
	raw, err := InteractionEvents(ctx, s, "events.raw")
	if err != nil {
		f.Fatal(err)
	}
	changes, err := ConsentChanges(ctx, s, "consent.changes")
	if err != nil {
		f.Fatal(err)
	}
	ev := schema.InteractionEvent{EventID: "e", EventType: "page_viewed", TenantID: "t", UserID: "u",
		ReceivedAt: time.UnixMilli(1_700_000_000_000).UTC(), Properties: map[string]string{"k": "v"}, Source: "api"}
	b, err := raw.Encode(&ev)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	ch := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "u", Purpose: "p", Status: schema.StatusDenied,
		EffectiveAt: time.UnixMilli(1_700_000_000_000).UTC()}
	if b, err = changes.Encode(&ch); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0, 0x7f, 0xff, 0xff, 0xf0, 2, 4, 'a', 'b', 'c'})
	f.Add([]byte("not avro at all"))
	f.Add([]byte{0, 0, 0, 0, 1})
	f.Add([]byte{})
	// A properties map or pseudonyms array announcing two billion items (CI's
	// fuzz found goavro allocating for it and the process dying).
	f.Add([]byte{0, 0, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0, 0, 0, 0, 2, 0xfe, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, value []byte) {
		// Keep ids small (the registry numbers from 1), so that most inputs
		// reach a real schema.
		if len(value) >= 5 && value[0] == 0 {
			id := binary.BigEndian.Uint32(value[1:5]) % 4
			binary.BigEndian.PutUint32(value[1:5], id)
		}
		if e, err := raw.Decode(ctx, value); err == nil {
			if _, err := raw.Encode(&e); err != nil {
				t.Fatalf("decoded %+v but it does not re-encode: %v", e, err)
			}
		}
		if c, err := changes.Decode(ctx, value); err == nil {
			if _, err := changes.Encode(&c); err != nil {
				t.Fatalf("decoded %+v but it does not re-encode: %v", c, err)
			}
		}
	})
}
