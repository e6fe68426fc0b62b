package avro

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

func newSerde(t testing.TB) *Serde {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	return NewSerde(cl)
}

func TestInteractionEventWireRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newSerde(t)
	codec, err := InteractionEvents(ctx, s, "events.raw")
	require.NoError(t, err)

	in := schema.InteractionEvent{
		EventID: "0b0e9f0e-6f1a-4c55-9d8e-1f0a6c1d2e3f", EventType: "comment_added",
		TenantID: "t1", UserID: "u1", ReceivedAt: time.UnixMilli(1_700_000_000_123).UTC(),
		OccurredAt: time.UnixMilli(1_700_000_000_000).UTC(), Jurisdiction: "DE", GPC: true,
		IP: "203.0.113.7", Text: "hello", Properties: map[string]string{"page": "x"}, Source: "api",
	}
	b, err := codec.Encode(&in)
	require.NoError(t, err)
	require.Equal(t, byte(0), b[0], "magic byte")
	require.Equal(t, uint32(codec.ID()), binary.BigEndian.Uint32(b[1:5]), "schema id")

	// A second Serde on the same registry knows no codecs and must fetch by id.
	out, err := codec.Decode(ctx, b)
	require.NoError(t, err)
	require.Equal(t, in, out)
}

func TestDecodeFetchesUnknownSchemaByID(t *testing.T) {
	ctx := context.Background()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	writer, err := ConsentChanges(ctx, NewSerde(cl), "consent.changes")
	require.NoError(t, err)
	in := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "u", Purpose: "ai_training",
		Status: schema.StatusDenied, EffectiveAt: time.UnixMilli(42).UTC(), Source: "test", PolicyVersion: "p1"}
	b, err := writer.Encode(&in)
	require.NoError(t, err)

	fresh := NewSerde(cl)
	native, id, err := fresh.Decode(ctx, b)
	require.NoError(t, err)
	require.Equal(t, writer.ID(), id)
	out, err := schema.ConsentChangeFromNative(native)
	require.NoError(t, err)
	require.Equal(t, in, out)
}

func TestDecodeRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	s := newSerde(t)
	codec, err := Erasures(ctx, s, "dataset.erasures")
	require.NoError(t, err)

	_, _, err = s.Decode(ctx, []byte("{\"json\":true}"))
	require.True(t, errors.Is(err, ErrNotWireFormat))

	_, _, err = s.Decode(ctx, []byte{0, 0, 0, 0, 99, 1})
	require.Error(t, err, "unknown schema id")
	require.False(t, errors.Is(err, ErrRegistryUnavailable), "the registry answered: a poison record, not an outage")

	down, err := sr.NewClient(sr.URLs("http://127.0.0.1:1"))
	require.NoError(t, err)
	_, _, err = NewSerde(down).Decode(ctx, []byte{0, 0, 0, 0, 99, 1})
	require.True(t, errors.Is(err, ErrRegistryUnavailable), "unreachable registry is retryable: %v", err)

	for _, status := range []int{http.StatusTooManyRequests, http.StatusRequestTimeout, http.StatusBadGateway} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error_code": %d, "message": "busy"}`, status)
		}))
		busy, err := sr.NewClient(sr.URLs(srv.URL))
		require.NoError(t, err)
		_, _, err = NewSerde(busy).Decode(ctx, []byte{0, 0, 0, 0, 99, 1})
		srv.Close()
		require.True(t, errors.Is(err, ErrRegistryUnavailable), "%d is an outage, not poison: %v", status, err)
	}

	good, err := codec.Encode(&schema.Erasure{Pseudonyms: []string{"k1:a"}, Purpose: "p", EffectiveAt: time.UnixMilli(1).UTC(), Reason: "user_opt_out", ConsentVersion: "0:1", Scope: schema.ScopeSubject})
	require.NoError(t, err)
	_, _, err = s.Decode(ctx, good[:len(good)-2])
	require.Error(t, err, "truncated body")
	_, _, err = s.Decode(ctx, append(good, 7))
	require.Error(t, err, "trailing bytes")
}

func TestEveryCodecRoundTrips(t *testing.T) {
	ctx := context.Background()
	s := newSerde(t)
	now := time.UnixMilli(1_700_000_000_000).UTC()

	cur, err := CuratedEvents(ctx, s, "events.curated")
	require.NoError(t, err)
	ce := schema.CuratedEvent{EventID: "e", EventType: "page_viewed", Subject: "k1:abc", Tenant: "k1:def", ReceivedAt: now, Source: "api", Purpose: "ai_training", PolicyVersion: "v1", ConsentVersion: "0:5"}
	b, err := cur.Encode(&ce)
	require.NoError(t, err)
	gotCE, err := cur.Decode(ctx, b)
	require.NoError(t, err)
	require.Equal(t, ce, gotCE)

	dec, err := ConsentDecisions(ctx, s, "consent.decisions")
	require.NoError(t, err)
	cd := schema.ConsentDecision{EventID: "e", SubjectRef: "a:1", Purpose: "ai_training", Decision: schema.DecisionDeny, Reason: "user_opt_out", ConsentVersion: "0:9", PolicyVersion: "v1", ReceivedAt: now, DecidedAt: now, TenantConsentVersion: "1:7"}
	b, err = dec.Encode(&cd)
	require.NoError(t, err)
	gotCD, err := dec.Decode(ctx, b)
	require.NoError(t, err)
	require.Equal(t, cd, gotCD)
}

// A record of another schema is an error for a typed codec, not a record of
// empty fields; an older version of the same record still decodes.
func TestCodecRefusesRecordsOfAnotherSchema(t *testing.T) {
	ctx := context.Background()
	s := newSerde(t)
	raw, err := InteractionEvents(ctx, s, "events.raw")
	require.NoError(t, err)
	changes, err := ConsentChanges(ctx, s, "consent.changes")
	require.NoError(t, err)
	b, err := raw.Encode(&schema.InteractionEvent{EventID: "e", EventType: "t", TenantID: "t", UserID: "u", ReceivedAt: time.UnixMilli(1).UTC(), Source: "api"})
	require.NoError(t, err)
	_, err = changes.Decode(ctx, b)
	require.ErrorContains(t, err, "not a io.consentflow.v1.ConsentChange")

	old := `{"type":"record","name":"ConsentChange","namespace":"io.consentflow.v1","fields":[
	  {"name":"subject_type","type":{"type":"enum","name":"SubjectType","symbols":["USER","TENANT"]}},
	  {"name":"subject_id","type":"string"},{"name":"purpose","type":"string"},
	  {"name":"status","type":{"type":"enum","name":"ConsentStatus","symbols":["GRANTED","DENIED"]}},
	  {"name":"effective_at","type":{"type":"long","logicalType":"timestamp-millis"}}]}`
	id, err := s.Register(ctx, "legacy-value", old)
	require.NoError(t, err)
	b, err = s.Encode(id, map[string]any{"subject_type": "USER", "subject_id": "u", "purpose": "p", "status": "DENIED", "effective_at": time.UnixMilli(5).UTC()})
	require.NoError(t, err)
	c, err := changes.Decode(ctx, b)
	require.NoError(t, err)
	require.Equal(t, "u", c.SubjectID)
	require.Equal(t, schema.StatusDenied, c.Status)
}

// TestDecodeRefusesHugeCollectionCounts: a few bytes that announce an array or
// map of two billion items (a hostile or corrupt record on any topic) are an
// error, not a multi-gigabyte allocation that kills the process.
func TestDecodeRefusesHugeCollectionCounts(t *testing.T) {
	ctx := context.Background()
	s := newSerde(t)
	erasures, err := Erasures(ctx, s, "dataset.erasures")
	require.NoError(t, err)
	events, err := InteractionEvents(ctx, s, "events.raw")
	require.NoError(t, err)

	header := func(id int) []byte {
		b := []byte{0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(id))
		return b
	}
	huge := binary.AppendVarint(nil, math.MaxInt32) // Avro longs are zig-zag varints

	// dataset.erasures: the first field is the pseudonyms array.
	_, err = erasures.Decode(ctx, append(header(erasures.ID()), huge...))
	require.ErrorContains(t, err, "block count")

	// events.raw: the properties map, after the fields before it.
	ev, err := events.Encode(&schema.InteractionEvent{EventID: "e", EventType: "t", TenantID: "t", UserID: "u",
		ReceivedAt: time.UnixMilli(1).UTC(), Source: "api"})
	require.NoError(t, err)
	// An empty map is one zero byte; the fields after it are all null unions
	// (one zero byte each) and the source string ("api": 6 'a' 'p' 'i').
	tail := 1 + 5 + 4
	withHuge := append(append(append([]byte{}, ev[:len(ev)-tail]...), huge...), ev[len(ev)-tail+1:]...)
	_, err = events.Decode(ctx, withHuge)
	require.ErrorContains(t, err, "block count")
}
