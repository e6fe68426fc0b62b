package filter

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/avro/avrotest"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/topics"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/tally"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// fixedState is a consent store in memory: ready, with fixed positions and
// records.
type fixedState struct {
	positions map[int]int64
	records   map[consentstore.SubjectRef]consentstore.Record
}

func (s *fixedState) Health(context.Context, map[int]int64, int64) (consentstore.Health, error) {
	return consentstore.Health{Ready: true, Complete: true, Positions: s.positions}, nil
}

func (s *fixedState) Lookup(_ context.Context, _ string, refs []consentstore.SubjectRef) (map[consentstore.SubjectRef]consentstore.Record, error) {
	out := make(map[consentstore.SubjectRef]consentstore.Record, len(refs))
	for _, r := range refs {
		if rec, ok := s.records[r]; ok {
			out[r] = rec
		}
	}
	return out, nil
}

// handleFixture is a Filter over fixedState with events of users u0..u(users-1)
// of tenants t0..t3 (u%4); every third user withdrew, tenant t2 granted (a tenant
// consent version on its events).
func handleFixture(t testing.TB, users int) (*Filter, *avro.Codec[schema.InteractionEvent]) {
	ctx := context.Background()
	serde := avrotest.Serde(t)
	raw, err := avro.InteractionEvents(ctx, serde, "events.raw")
	require.NoError(t, err)
	dec, err := avro.ConsentDecisions(ctx, serde, "consent.decisions")
	require.NoError(t, err)
	pol, err := policy.Parse([]byte("version: pol-7\npurposes: {ai_training: {}}\njurisdictions: {DE: opt_in}\n"))
	require.NoError(t, err)
	st := &fixedState{positions: map[int]int64{0: 11, 1: 22, 2: 33}, records: map[consentstore.SubjectRef]consentstore.Record{}}
	granted := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range users {
		s := identity.Subject{Kind: identity.User, Tenant: fmt.Sprintf("t%d", i%4), ID: fmt.Sprintf("u%d", i)}
		status := decision.Granted
		if i%3 == 1 {
			status = decision.Denied
		}
		st.records[s] = consentstore.Record{Status: status, EffectiveAt: granted, Partition: i % 3, Offset: int64(i)}
	}
	st.records[identity.TenantOf("t2")] = consentstore.Record{Status: decision.Granted, EffectiveAt: granted, Partition: 1, Offset: 5}
	f := &Filter{Purpose: "ai_training", Policy: pol, State: st, Raw: raw, Decisions: dec, AuditKey: []byte("k"),
		Topics: topics.Names{Consented: "events.consented", Decisions: "consent.decisions"}, Now: time.Now, Metrics: NewMetrics(nil),
		EndOffsets: func(context.Context) (map[int]int64, error) { return map[int]int64{0: 11, 1: 22, 2: 33}, nil }}
	return f, raw
}

func handleBatch(t testing.TB, raw *avro.Codec[schema.InteractionEvent], n, users int) []kafka.Message {
	batch := make([]kafka.Message, n)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range batch {
		ev := schema.InteractionEvent{EventID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), EventType: "page_viewed",
			TenantID: fmt.Sprintf("t%d", (i%users)%4), UserID: fmt.Sprintf("u%d", i%users), Jurisdiction: "DE", ReceivedAt: at, Source: "api"}
		b, err := raw.Encode(&ev)
		require.NoError(t, err)
		batch[i] = kafka.Message{Topic: "events.raw", Partition: i % 3, Offset: int64(i), Key: []byte(ev.UserID), Value: b}
		if i%5 == 0 {
			batch[i].Headers = []kafka.Header{{Key: "traceparent", Value: []byte(fmt.Sprintf("tp-%d", i))}}
		}
	}
	return batch
}

// TestConsentedHeadersPerEvent: every consented record carries its incoming
// headers followed by the six consent headers of ITS subject and versions,
// written out here field by field — the filter builds them once per subject
// and batch, and a record must never get another subject's (or another
// record's incoming) headers.
func TestConsentedHeadersPerEvent(t *testing.T) {
	const n, users = 300, 40
	f, raw := handleFixture(t, users)
	batch := handleBatch(t, raw, n, users)
	out, err := f.Handle(context.Background(), batch)
	require.NoError(t, err)
	byKey := map[string][]kafka.Message{}
	for _, m := range out {
		if m.Topic == "events.consented" {
			byKey[string(m.Value)] = append(byKey[string(m.Value)], m)
		}
	}
	consented := 0
	for i, in := range batch {
		ms := byKey[string(in.Value)]
		u := i % users
		if u%3 == 1 {
			require.Empty(t, ms, "event %d of a withdrawn user", i)
			continue
		}
		require.Len(t, ms, 1, "event %d", i)
		consented++
		s := identity.Subject{Kind: identity.User, Tenant: fmt.Sprintf("t%d", u%4), ID: fmt.Sprintf("u%d", u)}
		tenantVersion := ""
		if u%4 == 2 {
			tenantVersion = "1:5"
		}
		want := append([]kafka.Header(nil), in.Headers...)
		want = append(want,
			kafka.Header{Key: schema.HeaderConsentVersion, Value: []byte(StateVersion(s, map[int]int64{0: 11, 1: 22, 2: 33}, 3))},
			kafka.Header{Key: schema.HeaderTenantConsentVersion, Value: []byte(tenantVersion)},
			kafka.Header{Key: schema.HeaderPolicyVersion, Value: []byte("pol-7")},
			kafka.Header{Key: schema.HeaderPurpose, Value: []byte("ai_training")},
			kafka.Header{Key: schema.HeaderSubjectKind, Value: []byte("user")},
			kafka.Header{Key: schema.HeaderSubjectScope, Value: []byte("tenant")},
		)
		require.Equal(t, want, ms[0].Headers, "event %d", i)
		require.Equal(t, in.Key, ms[0].Key)
	}
	require.Greater(t, consented, n/2)
	// The incoming headers are left as they were.
	for i, in := range batch {
		if i%5 == 0 {
			require.Equal(t, []kafka.Header{{Key: "traceparent", Value: []byte(fmt.Sprintf("tp-%d", i))}}, in.Headers)
		}
	}
}

// BenchmarkHandle measures the filter's own work per event (decode of what a
// decision needs, lookups in memory, decision, audit record, outputs) on
// 500-event batches of 200 subjects; no Redis, no Kafka.
//
//	go test ./services/consent-filter/internal/filter -run '^$' -bench Handle -benchmem
func BenchmarkHandle(b *testing.B) {
	const n, users = 500, 200
	f, raw := handleFixture(b, users)
	batch := handleBatch(b, raw, n, users)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := f.Handle(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

// TestDecisionRecordPerEvent: every event of a batch gets one decision record
// naming it, keyed by its own subject's audit reference, with the verdict its
// user's record gives (every third user withdrew) — the records' values share
// one buffer and the keys one copy per subject, so a value or key that points
// at another event's bytes must show here.
func TestDecisionRecordPerEvent(t *testing.T) {
	const n, users = 300, 40
	f, raw := handleFixture(t, users)
	batch := handleBatch(t, raw, n, users)
	out, err := f.Handle(context.Background(), batch)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, m := range out {
		if m.Topic != "consent.decisions" {
			continue
		}
		d, err := f.Decisions.Decode(context.Background(), m.Value)
		require.NoError(t, err)
		var i int
		_, err = fmt.Sscanf(d.EventID, "00000000-0000-4000-8000-%012d", &i)
		require.NoError(t, err, d.EventID)
		require.False(t, seen[d.EventID], "two decisions for %s", d.EventID)
		seen[d.EventID] = true
		u := i % users
		s := identity.Subject{Kind: identity.User, Tenant: fmt.Sprintf("t%d", u%4), ID: fmt.Sprintf("u%d", u)}
		require.Equal(t, SubjectRef([]byte("k"), "ai_training", s), string(m.Key), "event %d key", i)
		require.Equal(t, string(m.Key), d.SubjectRef, "event %d", i)
		want := schema.DecisionAllow
		if u%3 == 1 {
			want = schema.DecisionDeny
		}
		require.Equal(t, want, d.Decision, "event %d", i)
	}
	require.Len(t, seen, n)
}

// TestEndOffsetsFailurePausesTheBatch: the end offsets of consent.changes are
// read beside the decode; when that read fails the batch is held (ErrPaused,
// no output) however the decode went, and the read is over when Handle
// returns (the next batch's read never overlaps it).
func TestEndOffsetsFailurePausesTheBatch(t *testing.T) {
	f, raw := handleFixture(t, 20)
	batch := handleBatch(t, raw, 50, 20)
	var reading, returned atomic.Int32
	f.EndOffsets = func(context.Context) (map[int]int64, error) {
		reading.Add(1)
		time.Sleep(20 * time.Millisecond) // a broker round trip
		returned.Add(1)
		return nil, errors.New("broker away")
	}
	out, err := f.Handle(context.Background(), batch)
	require.ErrorIs(t, err, ErrPaused)
	require.Empty(t, out)
	require.Equal(t, int32(1), returned.Load(), "Handle returned before the end offsets read did")
	// The batch is retried: the failed read is not kept as its target.
	out, err = f.Handle(context.Background(), batch)
	require.ErrorIs(t, err, ErrPaused)
	require.Empty(t, out)
	require.Equal(t, int32(2), reading.Load())
	// A batch of records that all fail to decode waits for the read too.
	bad := []kafka.Message{{Topic: "events.raw", Partition: 0, Offset: 1, Value: []byte{0, 0, 0}}}
	_, _ = f.Handle(context.Background(), bad)
	require.Equal(t, reading.Load(), returned.Load())
}

// failingState is a consent store Redis does not answer for.
type failingState struct{}

func (failingState) Health(context.Context, map[int]int64, int64) (consentstore.Health, error) {
	return consentstore.Health{}, errors.New("redis away")
}

func (failingState) Lookup(context.Context, string, []consentstore.SubjectRef) (map[consentstore.SubjectRef]consentstore.Record, error) {
	return nil, errors.New("redis away")
}

// TestPausedGaugeCoversEveryMember: the filters of one process's group members
// share Metrics; one member that cannot check consent holds its batch (no
// output) and the paused gauge stays 1 while another member decides its own
// batches, until the paused member flows again.
func TestPausedGaugeCoversEveryMember(t *testing.T) {
	a, raw := handleFixture(t, 20)
	b, _ := handleFixture(t, 20)
	b.Metrics = a.Metrics
	gauge := func() float64 { return testutil.ToFloat64(a.Metrics.Paused) }
	batch := handleBatch(t, raw, 30, 20)
	ok := a.State
	a.State = failingState{}
	out, err := a.Handle(context.Background(), batch)
	require.ErrorIs(t, err, ErrPaused)
	require.Empty(t, out, "a member that cannot check consent passes nothing")
	require.Equal(t, 1.0, gauge())
	out, err = b.Handle(context.Background(), batch)
	require.NoError(t, err)
	require.NotEmpty(t, out, "the other member decides its batch")
	require.Equal(t, 1.0, gauge(), "one member flowing hides another's pause")
	b.SetPaused(false)
	require.Equal(t, 1.0, gauge())
	a.State = ok
	_, err = a.Handle(context.Background(), batch)
	require.NoError(t, err)
	require.Equal(t, 0.0, gauge())
}

// recordedTally keeps what the filter hands to the privacy-centre counts.
type recordedTally struct{ items []tally.Item }

func (r *recordedTally) Record(_ context.Context, items []tally.Item) {
	r.items = append(r.items, items...)
}

// TestTallyItemsCarryTheirPositions: every event decided is handed to the
// counts once, with its own tenant and user and its record's partition and
// offset — the position the counts count once (a redelivered batch is not
// counted again).
func TestTallyItemsCarryTheirPositions(t *testing.T) {
	const n, users = 300, 40
	f, raw := handleFixture(t, users)
	rec := &recordedTally{}
	f.Tally = rec
	batch := handleBatch(t, raw, n, users)
	_, err := f.Handle(context.Background(), batch)
	require.NoError(t, err)
	require.Len(t, rec.items, n)
	seen := map[int64]bool{}
	for _, it := range rec.items {
		i := int(it.Offset) // handleBatch puts event i at offset i of partition i%3
		require.False(t, seen[it.Offset], "offset %d counted twice", it.Offset)
		seen[it.Offset] = true
		require.Equal(t, i%3, it.Partition, "event %d", i)
		require.Equal(t, fmt.Sprintf("t%d", (i%users)%4), it.Tenant, "event %d", i)
		require.Equal(t, fmt.Sprintf("u%d", i%users), it.User, "event %d", i)
	}
}

// usedAndFresh returns two filters over the same fixture and clock: one to
// decide a batch after another, one to decide it first.
func usedAndFresh(t *testing.T, users int) (used, fresh *Filter, raw *avro.Codec[schema.InteractionEvent]) {
	now := func() time.Time { return time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC) }
	used, raw = handleFixture(t, users)
	fresh, _ = handleFixture(t, users)
	used.Now, fresh.Now = now, now
	return used, fresh, raw
}

// requireSameMessages fails unless got holds exactly want's messages, in order.
func requireSameMessages(t *testing.T, want, got []kafka.Message) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, want[i].Topic, got[i].Topic, "message %d", i)
		require.Equal(t, want[i].Key, got[i].Key, "message %d", i)
		require.Equal(t, want[i].Value, got[i].Value, "message %d", i)
		require.Equal(t, want[i].Headers, got[i].Headers, "message %d", i)
	}
}

// TestBatchesShareNoState: Handle keeps its per-batch maps between batches;
// a batch decided after another — with the materializer's positions, a
// tenant's grant and users' records changed in between, and a tenant's
// denial gone from the store — gives exactly the outputs a fresh filter
// gives it.
func TestBatchesShareNoState(t *testing.T) {
	const users = 40
	used, fresh, raw := usedAndFresh(t, users)
	ctx := context.Background()
	used.State.(*fixedState).records[identity.TenantOf("t1")] = consentstore.Record{Status: decision.Denied, EffectiveAt: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), Partition: 1, Offset: 3}
	_, err := used.Handle(ctx, handleBatch(t, raw, 300, users))
	require.NoError(t, err)
	for _, f := range []*Filter{used, fresh} {
		st := f.State.(*fixedState)
		delete(st.records, identity.TenantOf("t1")) // gone from the store: the first batch's record must not linger
		st.positions = map[int]int64{0: 50, 1: 60, 2: 70}
		st.records[identity.TenantOf("t2")] = consentstore.Record{Status: decision.Granted, EffectiveAt: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), Partition: 1, Offset: 9}
		for i := 0; i < users; i += 3 { // u0, u3, ... withdraw; u1, u4, ... grant again
			s := identity.Subject{Kind: identity.User, Tenant: fmt.Sprintf("t%d", i%4), ID: fmt.Sprintf("u%d", i)}
			st.records[s] = consentstore.Record{Status: decision.Denied, EffectiveAt: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Partition: i % 3, Offset: int64(100 + i)}
			s = identity.Subject{Kind: identity.User, Tenant: fmt.Sprintf("t%d", (i+1)%4), ID: fmt.Sprintf("u%d", i+1)}
			st.records[s] = consentstore.Record{Status: decision.Granted, EffectiveAt: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Partition: (i + 1) % 3, Offset: int64(101 + i)}
		}
	}
	second := handleBatch(t, raw, 250, users)
	got, err := used.Handle(ctx, second)
	require.NoError(t, err)
	want, err := fresh.Handle(ctx, second)
	require.NoError(t, err)
	requireSameMessages(t, want, got)
}

// TestDecodedEventsShareNothingAcrossBatches: the filter decodes each batch
// into the array the previous batch was decoded into; a batch decided after
// one whose events carried other ids, a jurisdiction, GPC, client consent and
// payload — with records that do not decode at indexes where the first batch
// had events — gives exactly the outputs and failures a fresh filter gives it
// (a record that does not decode is reported, never decided with the event
// the previous batch had at its index).
func TestDecodedEventsShareNothingAcrossBatches(t *testing.T) {
	const users = 40
	used, fresh, raw := usedAndFresh(t, users)
	ctx := context.Background()
	first := make([]kafka.Message, 300)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range first {
		ev := schema.InteractionEvent{EventID: fmt.Sprintf("00000000-0000-4000-8000-1%011d", i), EventType: "message_sent",
			TenantID: fmt.Sprintf("t%d", (i%users)%4), UserID: fmt.Sprintf("u%d", i%users), AnonymousID: fmt.Sprintf("a%d", i),
			SessionID: "s", Jurisdiction: "US", GPC: i%2 == 0, ClientConsent: "granted", PreviousID: "p", Text: "hello",
			Properties: map[string]string{"k": "v"}, ReceivedAt: at.Add(-time.Hour), Source: "import"}
		b, err := raw.Encode(&ev)
		require.NoError(t, err)
		first[i] = kafka.Message{Topic: "events.raw", Partition: i % 3, Offset: int64(1000 + i), Value: b}
	}
	_, err := used.Handle(ctx, first)
	require.NoError(t, err)
	second := handleBatch(t, raw, 250, users)
	for i := 0; i < len(second); i += 7 {
		second[i].Value = []byte{0, 0, 0} // does not decode
	}
	got, gotErr := used.Handle(ctx, second)
	want, wantErr := fresh.Handle(ctx, second)
	require.Error(t, wantErr)
	require.Equal(t, wantErr.Error(), gotErr.Error())
	requireSameMessages(t, want, got)
}

// TestDecisionsCountedByVerdictAndReason: consentflow_filter_decisions_total
// counts each batch's decisions under their verdict and reason, summed over
// batches. The fixture holds records for users u0..u29 — every third withdrew
// (deny, user_opt_out), the others granted (allow, allowed_consent) — and the
// batches' users u30..u39 have none (deny, no_consent: an opt-in
// jurisdiction): the expected counts come from that rule, event by event.
func TestDecisionsCountedByVerdictAndReason(t *testing.T) {
	const recorded, users = 30, 40
	f, raw := handleFixture(t, recorded)
	want := map[[2]string]int{}
	for _, n := range []int{300, 7, 120} {
		_, err := f.Handle(context.Background(), handleBatch(t, raw, n, users))
		require.NoError(t, err)
		for i := range n {
			switch u := i % users; {
			case u >= recorded:
				want[[2]string{schema.DecisionDeny, "no_consent"}]++
			case u%3 == 1:
				want[[2]string{schema.DecisionDeny, "user_opt_out"}]++
			default:
				want[[2]string{schema.DecisionAllow, "allowed_consent"}]++
			}
		}
	}
	for k, n := range want {
		require.Equal(t, float64(n), testutil.ToFloat64(f.Metrics.Decisions.WithLabelValues(k[0], k[1])), "%v", k)
	}
	require.Equal(t, len(want), testutil.CollectAndCount(f.Metrics.Decisions), "no other verdict or reason")
}
