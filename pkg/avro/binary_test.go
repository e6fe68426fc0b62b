package avro

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/schemas"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written readers and writers (binary.go, records.go) against goavro,
// the schema's authority: over random records — unicode, invalid UTF-8, empty
// and null fields, big strings and maps, extreme times — the bytes written are
// goavro's, every record goavro writes reads back as goavro reads it, and on
// corrupted records both refuse or both read the same thing.

// randString draws from a mix of ASCII, multi-byte unicode, control bytes and
// invalid UTF-8, sometimes empty, sometimes long.
func randString(r *rand.Rand) string {
	pieces := []string{"a", "Z", "0", " ", "é", "ß", "日本", "🙂", "\x00", "\xff", "\xc3", "\u202e", "%2F", "/", "{", "\"", "\\u00e9", "user-", "\n"}
	n := r.IntN(12)
	switch r.IntN(10) {
	case 0:
		return ""
	case 1:
		n = 64 + r.IntN(300) // past one varint byte of length
	case 2:
		if r.IntN(20) == 0 {
			n = 20_000 + r.IntN(50_000) // big values
		}
	}
	var b strings.Builder
	for range n {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randOpt(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return ""
	}
	return randString(r)
}

func randTime(r *rand.Rand) time.Time {
	switch r.IntN(6) {
	case 0:
		return time.Time{}
	case 1:
		return time.UnixMilli(-r.Int64N(1 << 50)) // before 1970
	case 2:
		return time.Unix(r.Int64N(1<<35), r.Int64N(1e9)) // sub-millisecond parts
	case 3:
		return time.UnixMilli(r.Int64N(math.MaxInt64 / 1_000_000)) // far future
	default:
		return time.UnixMilli(1_600_000_000_000 + r.Int64N(1e12)).In(time.FixedZone("X", 3600))
	}
}

func randProps(r *rand.Rand) map[string]string {
	n := r.IntN(4)
	if r.IntN(8) == 0 {
		n = 100 + r.IntN(200)
	}
	if n == 0 && r.IntN(2) == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		m[randString(r)] = randString(r)
	}
	return m
}

func randEvent(r *rand.Rand) schema.InteractionEvent {
	return schema.InteractionEvent{
		EventID: randString(r), EventType: randString(r), TenantID: randString(r),
		UserID: randOpt(r), AnonymousID: randOpt(r), SessionID: randOpt(r),
		ReceivedAt: randTime(r), OccurredAt: randTime(r), Jurisdiction: randOpt(r), GPC: r.IntN(2) == 0,
		IP: randOpt(r), UserAgent: randOpt(r), Locale: randOpt(r), Location: randOpt(r), Text: randOpt(r),
		Properties: randProps(r), ActorName: randOpt(r), ActorEmail: randOpt(r), ActorHandle: randOpt(r),
		ClientConsent: randOpt(r), PreviousID: randOpt(r), Source: randOpt(r),
	}
}

func randCurated(r *rand.Rand) schema.CuratedEvent {
	return schema.CuratedEvent{
		EventID: randString(r), EventType: randString(r), Subject: randString(r), Tenant: randString(r),
		Session: randOpt(r), ReceivedAt: randTime(r), OccurredAt: randTime(r), Jurisdiction: randOpt(r),
		GPC: r.IntN(2) == 0, IPPrefix: randOpt(r), Locale: randOpt(r), Region: randOpt(r), Text: randOpt(r),
		Properties: randProps(r), Source: randString(r), Purpose: randString(r), ConsentVersion: randOpt(r),
		PolicyVersion: randString(r), TenantConsentVersion: randOpt(r), Sealed: randBytes(r),
	}
}

// randBytes is nil (null), empty but present, or random bytes of up to 4 KiB.
func randBytes(r *rand.Rand) []byte {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	default:
		b := make([]byte, r.IntN(4096))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
}

func randDecision(r *rand.Rand) schema.ConsentDecision {
	return schema.ConsentDecision{
		EventID: randString(r), SubjectRef: randString(r), Purpose: randString(r),
		Decision: []string{schema.DecisionAllow, schema.DecisionDeny}[r.IntN(2)], Reason: randString(r),
		ConsentVersion: randOpt(r), PolicyVersion: randString(r), ReceivedAt: randTime(r), DecidedAt: randTime(r),
		TenantConsentVersion: randOpt(r),
	}
}

// differential runs the comparisons for one record type.
func differential[T any](t *testing.T, codec *Codec[T], gen func(*rand.Rand) T, mapLen func(*T) int) {
	t.Helper()
	ctx := context.Background()
	require.NotNil(t, codec.read, "the codec has a hand-written reader")
	s := codec.serde
	// goavro's path, written out here rather than through the codec.
	goEncode := func(v *T) []byte {
		b, err := s.Encode(codec.id, codec.toNative(v))
		require.NoError(t, err)
		return b
	}
	goDecode := func(b []byte) (T, any, error) {
		native, _, err := s.Decode(ctx, b)
		if err != nil {
			var zero T
			return zero, nil, err
		}
		v, err := codec.fromNative(native)
		return v, native, err
	}
	r := rand.New(rand.NewPCG(16, 2026))
	for i := range 1000 {
		v := gen(r)
		want := goEncode(&v)
		got, err := codec.Encode(&v)
		require.NoError(t, err)
		again, err := codec.Encode(&v)
		require.NoError(t, err)
		require.Equal(t, got, again, "record %d: one record, one encoding", i)
		prefix := make([]byte, r.IntN(40), 40+r.IntN(600)) // records before it in a shared buffer
		for j := range prefix {
			prefix[j] = byte(r.IntN(256))
		}
		appended, err := codec.AppendEncode(bytes.Clone(prefix), &v)
		require.NoError(t, err)
		require.Equal(t, append(bytes.Clone(prefix), got...), appended, "record %d: AppendEncode is the prefix and Encode's bytes", i)
		if mapLen(&v) <= 1 {
			require.Equal(t, want, got, "record %d: bytes differ from goavro's", i)
		} else {
			// goavro writes map entries in Go's random order, we in key
			// order: same length, and goavro reads the same native record
			// from both.
			require.Len(t, got, len(want), "record %d", i)
			_, wantNative, err := goDecode(want)
			require.NoError(t, err)
			_, gotNative, err := goDecode(got)
			require.NoError(t, err, "record %d: goavro cannot read our bytes", i)
			require.Equal(t, wantNative, gotNative, "record %d", i)
		}
		wantV, _, err := goDecode(want)
		require.NoError(t, err)
		gotV, err := codec.Decode(ctx, want)
		require.NoError(t, err)
		require.Equal(t, wantV, gotV, "record %d: read differs from goavro's", i)

		// Corrupted records: both refuse, or both read the same.
		for range 4 {
			bad := bytes.Clone(want)
			switch r.IntN(3) {
			case 0:
				bad = bad[:5+r.IntN(len(bad)-5)]
			case 1:
				p := 5 + r.IntN(len(bad)-5)
				bad[p] = byte(r.IntN(256))
			default:
				bad = append(bad, byte(r.IntN(256)))
			}
			wantV, _, wantErr := goDecode(bad)
			gotV, gotErr := codec.Decode(ctx, bad)
			require.Equal(t, wantErr == nil, gotErr == nil, "record %d corrupted: goavro err %v, ours %v", i, wantErr, gotErr)
			if wantErr == nil {
				require.Equal(t, wantV, gotV, "record %d corrupted", i)
			}
		}
	}
}

func TestInteractionEventBinaryMatchesGoavro(t *testing.T) {
	c, err := InteractionEvents(context.Background(), newSerde(t), "events.raw")
	require.NoError(t, err)
	differential(t, c, randEvent, func(e *schema.InteractionEvent) int { return len(e.Properties) })
}

func TestCuratedEventBinaryMatchesGoavro(t *testing.T) {
	c, err := CuratedEvents(context.Background(), newSerde(t), "events.curated")
	require.NoError(t, err)
	differential(t, c, randCurated, func(e *schema.CuratedEvent) int { return len(e.Properties) })
}

func TestConsentDecisionBinaryMatchesGoavro(t *testing.T) {
	c, err := ConsentDecisions(context.Background(), newSerde(t), "consent.decisions")
	require.NoError(t, err)
	differential(t, c, randDecision, func(*schema.ConsentDecision) int { return 0 })
	_, err = c.Encode(&schema.ConsentDecision{Decision: "MAYBE"})
	require.Error(t, err, "a decision outside the enum")
}

// The head reader reads the decision's fields as goavro does and refuses what
// goavro refuses.
func TestInteractionEventHeadMatchesGoavro(t *testing.T) {
	ctx := context.Background()
	s := newSerde(t)
	c, err := InteractionEvents(ctx, s, "events.raw")
	require.NoError(t, err)
	head := c.Head()
	r := rand.New(rand.NewPCG(7, 16))
	for i := range 1000 {
		v := randEvent(r)
		b, err := s.Encode(c.id, v.ToNative())
		require.NoError(t, err)
		if r.IntN(3) == 0 {
			b[5+r.IntN(len(b)-5)] = byte(r.IntN(256))
		}
		native, _, wantErr := s.Decode(ctx, b)
		got, gotErr := head.Decode(ctx, b)
		require.Equal(t, wantErr == nil, gotErr == nil, "record %d: goavro err %v, ours %v", i, wantErr, gotErr)
		if wantErr != nil {
			continue
		}
		want, err := schema.InteractionEventFromNative(native)
		require.NoError(t, err)
		require.Equal(t, want.EventID, got.EventID)
		require.Equal(t, want.EventType, got.EventType)
		require.Equal(t, want.TenantID, got.TenantID)
		require.Equal(t, want.UserID, got.UserID)
		require.Equal(t, want.AnonymousID, got.AnonymousID)
		require.Equal(t, want.ReceivedAt, got.ReceivedAt)
		require.Equal(t, want.OccurredAt, got.OccurredAt)
		require.Equal(t, want.Jurisdiction, got.Jurisdiction)
		require.Equal(t, want.GPC, got.GPC)
		require.Equal(t, want.ClientConsent, got.ClientConsent)
		require.Equal(t, want.PreviousID, got.PreviousID)
		require.Equal(t, want.Source, got.Source)
	}
}

// Hand-written cases: a record assembled byte by byte, varints at their
// edges, and a map announcing more items than the bound.
func TestBinaryReaderHandCases(t *testing.T) {
	body := []byte{
		2, 'e', // event_id "e"
		2, 't', // event_type "t"
		4, 't', '1', // tenant_id "t1"
		2, 2, 'u', // user_id {"string": "u"}
		0,          // anonymous_id null
		0,          // session_id null
		0xd0, 0x0f, // received_at 1000 ms (zig-zag 2000)
		0,              // occurred_at null
		2, 4, 'D', 'E', // jurisdiction "DE"
		1,             // gpc true
		0, 0, 0, 0, 0, // ip, user_agent, locale, location, text null
		2, 2, 'k', 4, 0xc3, 0xa9, 0, // properties {"k": "é"}
		0, 0, 0, 0, // actor_name, actor_email, actor_handle, client_consent null
		2, 2, 'p', // previous_id "p"
		6, 'a', 'p', 'i', // source "api"
	}
	want := schema.InteractionEvent{
		EventID: "e", EventType: "t", TenantID: "t1", UserID: "u", ReceivedAt: time.UnixMilli(1000).UTC(),
		Jurisdiction: "DE", GPC: true, Properties: map[string]string{"k": "é"}, PreviousID: "p", Source: "api",
	}
	got, err := readInteractionEvent(body)
	require.NoError(t, err)
	require.Equal(t, want, got)
	out, err := appendInteractionEvent(nil, &want)
	require.NoError(t, err)
	require.Equal(t, body, out)
	_, err = readInteractionEvent(append(body, 0))
	require.ErrorContains(t, err, "trailing")
	_, err = readInteractionEvent(body[:len(body)-1])
	require.Error(t, err)

	// The same key twice in a map: goavro refuses the record, so do we.
	dup := bytes.Replace(body, []byte{2, 2, 'k', 4, 0xc3, 0xa9, 0}, []byte{4, 2, 'k', 4, 0xc3, 0xa9, 2, 'k', 0, 0}, 1)
	_, err = readInteractionEvent(dup)
	require.ErrorContains(t, err, "duplicate key")
	_, err = readInteractionEventHead(dup)
	require.ErrorContains(t, err, "duplicate key")
	gc, err := schema.Codec(schemas.InteractionEvent)
	require.NoError(t, err)
	_, _, err = gc.NativeFromBinary(body)
	require.NoError(t, err, "the hand-assembled record is valid for goavro")
	_, _, err = gc.NativeFromBinary(dup)
	require.ErrorContains(t, err, "duplicate key")

	require.Equal(t, []byte{0x7f}, appendLong(nil, -64))
	require.Equal(t, []byte{0x80, 0x01}, appendLong(nil, 64))
	r := binReader{b: []byte{0x80, 0x80, 0x04}}
	require.Equal(t, int64(32768), r.long("x"))
	r = binReader{b: []byte{0x80}}
	r.long("x")
	require.ErrorIs(t, r.err, errShort)
	// A map block of 65,537 items is refused before anything is allocated.
	r = binReader{b: appendLong(nil, 65537)}
	require.Nil(t, r.strMap("properties", false))
	require.ErrorContains(t, r.err, "exceeds")
}

// A record written with the codec's schema under another registry id (a
// registry that numbers each subject's copy apart, as Apicurio does) takes
// the hand-written path; one written with another schema (an evolved writer)
// goes through goavro and reads as goavro reads it.
func TestFastPathFollowsTheSchemaNotTheID(t *testing.T) {
	ctx := context.Background()
	s := newSerde(t)
	c, err := InteractionEvents(ctx, s, "events.raw")
	require.NoError(t, err)
	text := schemas.MustRead(schemas.InteractionEvent)
	var sch map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &sch))

	sch["doc"] = "the same schema with another text: same canonical form"
	same, err := json.Marshal(sch)
	require.NoError(t, err)
	sameID, err := s.Register(ctx, "events.other-value", string(same))
	require.NoError(t, err)
	require.NotEqual(t, c.ID(), sameID)

	fields := sch["fields"].([]any)
	sch["fields"] = append(fields[:len(fields):len(fields)], map[string]any{"name": "extra", "type": "string", "default": ""})
	evolved, err := json.Marshal(sch)
	require.NoError(t, err)
	evolvedID, err := s.Register(ctx, "events.evolved-value", string(evolved))
	require.NoError(t, err)

	ev := benchEvent()
	for _, id := range []int{sameID, evolvedID} {
		native := ev.ToNative()
		if id == evolvedID {
			native["extra"] = "x"
		}
		b, err := s.Encode(id, native)
		require.NoError(t, err)
		got, err := c.Decode(ctx, b)
		require.NoError(t, err)
		require.Equal(t, ev, got)
		head, err := c.Head().Decode(ctx, b)
		require.NoError(t, err)
		require.Equal(t, ev.EventID, head.EventID)
		fast, ok := c.sameSchema.Load(id)
		require.True(t, ok)
		require.Equal(t, id == sameID, fast.(bool), "schema %d takes the hand-written path", id)
	}
}

// TestPropertiesAreWrittenInKeyOrder: a map's entries are written sorted by
// key (one record, one encoding — goavro writes Go's map order, so the
// differential tests cannot see it). The expected bytes are built here from
// the Avro spec: one block of n entries (zigzag varint count), each key and
// value a zigzag-length-prefixed string, then the 0 that ends the map; the
// record around the map is found by encoding the same event with no
// properties (a map written as the single byte 0).
func TestPropertiesAreWrittenInKeyOrder(t *testing.T) {
	c, err := InteractionEvents(context.Background(), newSerde(t), "events.raw")
	require.NoError(t, err)
	varint := func(b []byte, n int) []byte { return binary.AppendVarint(b, int64(n)) }
	for _, n := range []int{2, 3, 16, 17, 40} {
		props := map[string]string{}
		for i := range n {
			props[fmt.Sprintf("k%03d-%c", (i*7919)%1000, 'a'+i%26)] = fmt.Sprintf("v%d", i)
		}
		ev := schema.InteractionEvent{EventID: "0b0e9f0e-6f1a-4c55-9d8e-1f0a6c1d2e3f", EventType: "comment_added", TenantID: "t",
			UserID: "u", ReceivedAt: time.UnixMilli(1_700_000_000_123).UTC(), Source: "api", Text: "x"}
		empty, err := c.AppendEncode(nil, &ev)
		require.NoError(t, err)
		ev.Properties = props
		got, err := c.AppendEncode(nil, &ev)
		require.NoError(t, err)

		keys := make([]string, 0, n)
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := varint(nil, n)
		for _, k := range keys {
			want = append(varint(want, len(k)), k...)
			want = append(varint(want, len(props[k])), props[k]...)
		}
		want = append(want, 0)

		at := 0 // the empty map: the first byte where the two encodings differ
		for at < len(empty) && empty[at] == got[at] {
			at++
		}
		require.Less(t, at, len(empty))
		require.Equal(t, byte(0), empty[at], "the empty map")
		require.Equal(t, empty[at+1:], got[len(got)-len(empty)+at+1:], "the record after the map")
		assert.Equal(t, want, got[at:len(got)-len(empty)+at+1], "%d properties in key order", n)
	}
}
