package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/consentflow/consentflow/services/anonymizer/internal/transform"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.uber.org/zap"
)

const purpose = "ai_training"

type fixture struct {
	reg      *srfake.Registry
	serde    *avro.Serde
	raw      *avro.Codec[schema.InteractionEvent]
	curated  *avro.Codec[schema.CuratedEvent]
	changes  *avro.Codec[schema.ConsentChange]
	erasures *avro.Codec[schema.Erasure]
	keyring  *keyring.Keyring
	metrics  *Metrics
	promReg  *prometheus.Registry
}

func key(t *testing.T, id string, seed byte) keyring.Key {
	t.Helper()
	b := make([]byte, 32)
	for i := range b {
		b[i] = seed + byte(i)
	}
	k, err := keyring.NewKey(id, b)
	require.NoError(t, err)
	return k
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{reg: srfake.New()}
	t.Cleanup(f.reg.Close)
	cl, err := sr.NewClient(sr.URLs(f.reg.URL()))
	require.NoError(t, err)
	f.serde = avro.NewSerde(cl)
	f.raw, err = avro.InteractionEvents(ctx, f.serde, "events.consented")
	require.NoError(t, err)
	f.curated, err = avro.CuratedEvents(ctx, f.serde, "events.curated")
	require.NoError(t, err)
	f.changes, err = avro.ConsentChanges(ctx, f.serde, "consent.changes")
	require.NoError(t, err)
	f.erasures, err = avro.Erasures(ctx, f.serde, "dataset.erasures")
	require.NoError(t, err)
	f.keyring, err = keyring.New(key(t, "k2", 2), key(t, "k1", 1))
	require.NoError(t, err)
	f.promReg = prometheus.NewRegistry()
	f.metrics = NewMetrics(f.promReg)
	return f
}

var nopRedactor = transform.RedactorFunc(func(text string, _ transform.Actor) transform.Redaction {
	return transform.Redaction{Text: text}
})

func (f *fixture) events(t *testing.T) *Events {
	t.Helper()
	tr, err := transform.New(transform.Options{Purpose: purpose, Keyring: f.keyring, Redactor: nopRedactor,
		Granularity: time.Hour, OnRedaction: func(typ string) { f.metrics.Redactions.WithLabelValues(typ).Inc() }})
	require.NoError(t, err)
	return &Events{Purpose: purpose, Decoder: f.raw, Encoder: f.curated, Transformer: tr,
		CuratedTopic: "events.curated", Metrics: f.metrics}
}

// encodeEvent encodes e as the consent-filter passes it on: with the purpose
// header of this chain, and the given headers.
func (f *fixture) encodeEvent(t *testing.T, e schema.InteractionEvent, offset int64, headers ...kafka.Header) kafka.Message {
	t.Helper()
	m := f.encodeBare(t, e, offset)
	m.Headers = append([]kafka.Header{{Key: schema.HeaderPurpose, Value: []byte(purpose)}}, headers...)
	return m
}

// encodeBare encodes e without any header.
func (f *fixture) encodeBare(t *testing.T, e schema.InteractionEvent, offset int64) kafka.Message {
	t.Helper()
	b, err := f.raw.Encode(&e)
	require.NoError(t, err)
	return kafka.Message{Topic: "events.consented", Partition: 1, Offset: offset, Key: []byte(e.UserID), Value: b}
}

func event(user string) schema.InteractionEvent {
	return schema.InteractionEvent{EventID: "ev-" + user, EventType: "page_viewed", TenantID: "org_acme", UserID: user,
		ReceivedAt: time.Date(2024, 5, 17, 13, 47, 0, 0, time.UTC), IP: "203.0.113.9", Text: "hello"}
}

func TestEventsHandlerCuratesAndDeadLetters(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	h := f.events(t)

	good := f.encodeEvent(t, event("usr_1111"), 10,
		kafka.Header{Key: HeaderConsentVersion, Value: []byte("2:41")}, kafka.Header{Key: HeaderPolicyVersion, Value: []byte("policy-7")})
	garbage := kafka.Message{Topic: "events.consented", Partition: 1, Offset: 11, Key: []byte("usr_2"), Value: []byte("{\"json\": true}")}
	tombstone := kafka.Message{Topic: "events.consented", Partition: 1, Offset: 12, Key: []byte("usr_3")}
	unknownSchema := kafka.Message{Topic: "events.consented", Partition: 1, Offset: 13, Value: append([]byte{0, 0, 0, 0x7f, 0x01}, good.Value[5:]...)}
	noSubject := event("")
	noSubjectMsg := f.encodeEvent(t, noSubject, 14)
	second := f.encodeEvent(t, event("usr_2222"), 15)

	batch := []kafka.Message{good, garbage, tombstone, unknownSchema, noSubjectMsg, second}
	out, err := h.Handle(ctx, batch)
	var failed *stream.BatchError
	require.ErrorAs(t, err, &failed)
	require.Len(t, out, 2, "one curated record per good input, in order")
	for i, m := range out {
		require.Equal(t, "events.curated", m.Topic, "output %d", i)
	}
	var reasons []string
	var indices []int
	for _, f := range failed.Failures {
		reasons, indices = append(reasons, f.Reason), append(indices, f.Index)
		require.True(t, stream.Permanent(f.Err), "record %d is poison: %v", f.Index, f.Err)
	}
	require.Equal(t, []int{1, 2, 3, 4}, indices)
	require.Equal(t, []string{"decode", "decode", "decode", "no_subject"}, reasons)
	require.ErrorContains(t, failed.Failures[0].Err, "decode InteractionEvent")
	require.ErrorContains(t, failed.Failures[3].Err, "no subject")

	c, err := f.curated.Decode(ctx, out[0].Value)
	require.NoError(t, err)
	require.Equal(t, f.keyring.Pseudonym(keyring.User, purpose, "usr_1111"), string(out[0].Key), "keyed by the subject pseudonym")
	require.Equal(t, string(out[0].Key), c.Subject)
	require.Equal(t, "2:41", c.ConsentVersion)
	require.Equal(t, "policy-7", c.PolicyVersion)
	require.Equal(t, purpose, c.Purpose)
	require.Equal(t, "203.0.113.0/24", c.IPPrefix)
	require.Empty(t, out[0].Headers, "no input header is copied to the curated record")

	c2, err := f.curated.Decode(ctx, out[1].Value)
	require.NoError(t, err)
	require.Empty(t, c2.ConsentVersion, "no header: null consent version")

	require.Equal(t, 6.0, testutil.ToFloat64(f.metrics.EventsIn))
	require.Equal(t, 2.0, testutil.ToFloat64(f.metrics.EventsOut))
}

func TestEventsHandlerRetriesWhenRegistryIsDown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	e := event("usr_1111")
	good, err := f.raw.Encode(&e)
	require.NoError(t, err)
	// Schema id 99 is unknown to the Serde, so decoding must ask the registry.
	unknownID := append([]byte{0, 0, 0, 0, 99}, good[5:]...)

	for name, handler := range map[string]http.HandlerFunc{
		"503": func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) },
		"connection dropped": func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		},
	} {
		srv := httptest.NewServer(handler)
		cl, err := sr.NewClient(sr.URLs(srv.URL))
		require.NoError(t, err)
		serde := avro.NewSerde(cl)
		h := f.events(t)
		h.Decoder = decoderFunc(func(ctx context.Context, b []byte) (schema.InteractionEvent, error) {
			_, _, err := serde.Decode(ctx, b)
			return schema.InteractionEvent{}, err
		})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		dlq := stream.Poison("events.dlq", StageEvents, stream.NewMetrics(nil), zap.NewNop())
		out, err := dlq(h.Handle)(cctx, []kafka.Message{{Topic: "events.consented", Value: unknownID}})
		cancel()
		srv.Close()
		require.Error(t, err, "%s: an unavailable registry blocks the batch instead of dead-lettering it", name)
		require.False(t, stream.Permanent(err), "%s: %v", name, err)
		require.Nil(t, out, name)
	}
}

type decoderFunc func(ctx context.Context, b []byte) (schema.InteractionEvent, error)

func (d decoderFunc) Decode(ctx context.Context, b []byte) (schema.InteractionEvent, error) {
	return d(ctx, b)
}

func (f *fixture) change(t *testing.T, c schema.ConsentChange, partition int, offset int64) kafka.Message {
	t.Helper()
	b, err := f.changes.Encode(&c)
	require.NoError(t, err)
	key := "user:" + c.SubjectID + "/" + c.Purpose // the key of before subjects had tenants
	if c.SubjectScope != "" || c.Status == schema.StatusErase || c.SubjectType == schema.SubjectTenant {
		k, _, err := identity.KeyOf(&c)
		require.NoError(t, err)
		key = k
	}
	return kafka.Message{Topic: "consent.changes", Partition: partition, Offset: offset, Key: []byte(key), Value: b}
}

func TestErasureFor(t *testing.T) {
	f := newFixture(t)
	kr := f.keyring
	at := time.Date(2024, 5, 17, 9, 30, 0, 0, time.UTC)
	m := identity.DefaultModes()
	user := identity.ConsentChange(m.Subject(identity.User, "org_1", "usr_1"), purpose, schema.StatusDenied, at, "settings", "p1")
	anon := identity.ConsentChange(m.Subject(identity.Anonymous, "org_1", "c-1"), purpose, schema.StatusDenied, at, "banner", "p1")
	global := identity.ConsentChange(identity.Modes{UserIDs: identity.Global}.Subject(identity.User, "org_1", "usr_1"), purpose, schema.StatusDenied, at, "", "p1")
	tenant := identity.ConsentChange(identity.TenantOf("org_1"), purpose, schema.StatusDenied, at, "admin", "p1")
	legacy := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "usr_1", TenantID: "org_1", Purpose: purpose, Status: schema.StatusDenied, EffectiveAt: at}
	legacyNoTenant := legacy
	legacyNoTenant.TenantID = ""
	erase := identity.EraseChange(m.Subject(identity.Anonymous, "org_1", "c-1"), purpose, "1:4", at)
	granted := user
	granted.Status = schema.StatusGranted
	otherPurpose := user
	otherPurpose.Purpose = "analytics"
	link := identity.LinkChange(identity.NewLink(m.Subject(identity.User, "org_1", "usr_1"), m.Subject(identity.Anonymous, "org_1", "c-1")), "org_1", at, "")

	v1 := kr.Pseudonyms(keyring.User, purpose, "usr_1")
	cat := func(xs ...[]string) []string {
		var out []string
		for _, x := range xs {
			out = append(out, x...)
		}
		return out
	}
	for name, c := range map[string]struct {
		change schema.ConsentChange
		want   *schema.Erasure
	}{
		"tenant-scoped user denied": {user, &schema.Erasure{Purpose: purpose, EffectiveAt: at, Reason: ReasonUserOptOut, ConsentVersion: "0:5",
			Scope: schema.ScopeSubject, Pseudonyms: cat(kr.PseudonymsIn(keyring.User, purpose, "org_1", "usr_1"), v1)}},
		"anonymous id denied (cookie banner)": {anon, &schema.Erasure{Purpose: purpose, EffectiveAt: at, Reason: ReasonUserOptOut, ConsentVersion: "0:5",
			Scope: schema.ScopeSubject, Pseudonyms: cat(kr.PseudonymsIn(keyring.Anonymous, purpose, "org_1", "c-1"), kr.Pseudonyms(keyring.User, purpose, "c-1"))}},
		"global user denied: its pseudonym is the pre-tenant one": {global, &schema.Erasure{Purpose: purpose, EffectiveAt: at, Reason: ReasonUserOptOut, ConsentVersion: "0:5",
			Scope: schema.ScopeSubject, Pseudonyms: v1}},
		"tenant denied": {tenant, &schema.Erasure{Purpose: purpose, EffectiveAt: at, Reason: ReasonTenantOptOut, ConsentVersion: "0:5",
			Scope: schema.ScopeTenant, Pseudonyms: kr.Pseudonyms(keyring.Tenant, purpose, "org_1")}},
		"legacy user with tenant: that tenant's user and anonymous id, and the pre-upgrade rows": {legacy, &schema.Erasure{Purpose: purpose, EffectiveAt: at,
			Reason: ReasonUserOptOut, ConsentVersion: "0:5", Scope: schema.ScopeSubject,
			Pseudonyms: cat(kr.PseudonymsIn(keyring.User, purpose, "org_1", "usr_1"), v1, kr.PseudonymsIn(keyring.Anonymous, purpose, "org_1", "usr_1"))}},
		"legacy user without tenant: the pre-upgrade rows": {legacyNoTenant, &schema.Erasure{Purpose: purpose, EffectiveAt: at, Reason: ReasonUserOptOut,
			ConsentVersion: "0:5", Scope: schema.ScopeSubject, Pseudonyms: v1}},
		"erasure request of a linked subject": {erase, &schema.Erasure{Purpose: purpose, EffectiveAt: at, Reason: ReasonLinkedOptOut, ConsentVersion: "1:4",
			Scope: schema.ScopeSubject, Pseudonyms: cat(kr.PseudonymsIn(keyring.Anonymous, purpose, "org_1", "c-1"), kr.Pseudonyms(keyring.User, purpose, "c-1"))}},
		"granted":       {granted, nil},
		"other purpose": {otherPurpose, nil},
		"link":          {link, nil},
	} {
		e, ok := ErasureFor(c.change, "0:5", purpose, kr)
		if c.want == nil {
			require.False(t, ok, name)
			continue
		}
		require.True(t, ok, name)
		require.Equal(t, *c.want, e, name)
	}
	// The tenant is part of the pseudonym of a tenant-scoped id.
	require.NotEqual(t, kr.PseudonymIn(keyring.User, purpose, "org_1", "7"), kr.PseudonymIn(keyring.User, purpose, "org_2", "7"))
	require.NotEqual(t, kr.PseudonymIn(keyring.User, purpose, "org_1", "7"), kr.PseudonymIn(keyring.Anonymous, purpose, "org_1", "7"))
}

func TestErasuresHandler(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	h := &Erasures{Decoder: f.changes, Encoder: f.erasures, Keyring: f.keyring, Purpose: purpose,
		ErasuresTopic: "dataset.erasures", Metrics: f.metrics}
	at := time.UnixMilli(1_715_938_200_000).UTC()
	base := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "usr_1", Purpose: purpose,
		Status: schema.StatusDenied, EffectiveAt: at}
	tenant := base
	tenant.SubjectType, tenant.SubjectID = schema.SubjectTenant, "org_9"
	granted := base
	granted.Status = schema.StatusGranted

	batch := []kafka.Message{
		f.change(t, base, 2, 77),
		f.change(t, granted, 2, 78),
		{Topic: "consent.changes", Partition: 0, Offset: 3, Key: []byte("user:x/ai_training")}, // tombstone
		f.change(t, tenant, 1, 9),
		{Topic: "consent.changes", Partition: 0, Offset: 4, Value: []byte("garbage")},
	}
	out, err := h.Handle(ctx, batch)
	var failed *stream.BatchError
	require.ErrorAs(t, err, &failed)
	require.Len(t, failed.Failures, 1)
	require.Equal(t, 4, failed.Failures[0].Index, "the garbage record")
	require.Equal(t, "decode", failed.Failures[0].Reason)
	require.Len(t, out, 2)

	e, err := f.erasures.Decode(ctx, out[0].Value)
	require.NoError(t, err)
	require.Equal(t, "dataset.erasures", out[0].Topic)
	require.Equal(t, f.keyring.Pseudonym(keyring.User, purpose, "usr_1"), string(out[0].Key))
	require.Equal(t, schema.Erasure{Pseudonyms: f.keyring.Pseudonyms(keyring.User, purpose, "usr_1"), Purpose: purpose,
		EffectiveAt: at, Reason: ReasonUserOptOut, ConsentVersion: "2:77", Scope: schema.ScopeSubject}, e)

	e, err = f.erasures.Decode(ctx, out[1].Value)
	require.NoError(t, err)
	require.Equal(t, schema.ScopeTenant, e.Scope)
	require.Equal(t, "1:9", e.ConsentVersion)
	require.Equal(t, f.keyring.Pseudonyms(keyring.Tenant, purpose, "org_9"), e.Pseudonyms)
	require.Equal(t, e.Pseudonyms[0], string(out[1].Key))

	for _, m := range out[:2] {
		require.NotContains(t, string(m.Value), "usr_1")
		require.NotContains(t, string(m.Value), "org_9")
	}
	require.Equal(t, 1.0, testutil.ToFloat64(f.metrics.Erasures.WithLabelValues(schema.ScopeSubject)))
	require.Equal(t, 1.0, testutil.ToFloat64(f.metrics.Erasures.WithLabelValues(schema.ScopeTenant)))
}

// Only what the consent-filter allowed for this chain's purpose is curated: a
// record without the purpose header (no consent headers at all) or allowed for
// another purpose is dead-lettered with the reason, and the rest of the batch
// goes on.
func TestEventsHandlerRefusesOtherPurposes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	h := f.events(t)
	ok := f.encodeEvent(t, event("usr_1111"), 20)
	bare := f.encodeBare(t, event("usr_2222"), 21)
	other := f.encodeBare(t, event("usr_3333"), 22)
	other.Headers = []kafka.Header{{Key: schema.HeaderPurpose, Value: []byte("analytics")},
		{Key: HeaderConsentVersion, Value: []byte("0:5")}, {Key: schema.HeaderSubjectKind, Value: []byte("user")}}
	empty := f.encodeBare(t, event("usr_4444"), 23)
	empty.Headers = []kafka.Header{{Key: schema.HeaderPurpose, Value: []byte("")}}
	out, err := h.Handle(ctx, []kafka.Message{ok, bare, other, empty})
	require.Len(t, out, 1)
	var failed *stream.BatchError
	require.ErrorAs(t, err, &failed)
	require.Len(t, failed.Failures, 3)
	for i, fl := range failed.Failures {
		require.Equal(t, i+1, fl.Index)
		require.Equal(t, "purpose", fl.Reason)
		require.True(t, stream.Permanent(fl.Err), "dead-lettered, not retried")
	}
	require.ErrorContains(t, failed.Failures[0].Err, "no purpose header")
	require.ErrorContains(t, failed.Failures[1].Err, `"analytics"`)
}

// panickyRedactor panics on texts that start with "boom": with a runtime error
// (an index past the end of a slice, as a redactor bug would) or, for
// "boom-value", with a value that carries the text itself.
var panickyRedactor = transform.RedactorFunc(func(text string, _ transform.Actor) transform.Redaction {
	switch {
	case text == "boom-value":
		panic("cannot redact " + text)
	case strings.HasPrefix(text, "boom"):
		words := strings.Fields(text)
		_ = words[len(words)+2] // index out of range
	}
	return transform.Redaction{Text: text}
})

// TestEventsHandlerDeadLettersARecordWhoseAnonymizationPanics: a panic while
// one record is anonymized (here in the redactor, on one or on several
// workers) fails that record alone as poison, with the runtime's message and
// the panicking function in its error and none of its text; the records
// around it are curated, and the process does not crash.
func TestEventsHandlerDeadLettersARecordWhoseAnonymizationPanics(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			h := f.events(t)
			tr, err := transform.New(transform.Options{Purpose: purpose, Keyring: f.keyring, Redactor: panickyRedactor, Granularity: time.Hour})
			require.NoError(t, err)
			h.Transformer, h.Workers = tr, workers

			texts := []string{"hello", "boom Zorbina Quell lives here", "fine", "boom-value", "still fine"}
			batch := make([]kafka.Message, len(texts))
			for i, text := range texts {
				e := event(fmt.Sprintf("usr_%d", i))
				e.Text = text
				batch[i] = f.encodeEvent(t, e, int64(20+i))
			}
			out, err := h.Handle(ctx, batch)
			var failed *stream.BatchError
			require.ErrorAs(t, err, &failed)
			require.Len(t, out, 3, "the records around the panicking ones are curated")
			require.Len(t, failed.Failures, 2)
			require.Equal(t, 1, failed.Failures[0].Index)
			require.Equal(t, 3, failed.Failures[1].Index)
			for _, fl := range failed.Failures {
				require.Equal(t, "panic", fl.Reason)
				require.True(t, stream.Permanent(fl.Err), "a panicking record is poison, not retried: %v", fl.Err)
				require.NotContains(t, fl.Err.Error(), "Zorbina")
				require.NotContains(t, fl.Err.Error(), "cannot redact")
				require.Contains(t, fl.Err.Error(), "pipeline.init", "names the panicking function")
			}
			require.ErrorContains(t, failed.Failures[0].Err, "index out of range")
			require.ErrorContains(t, failed.Failures[1].Err, "panic value of type string")
		})
	}
}
