package pipeline

import (
	"context"
	"fmt"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
)

// shredFixture wires both handlers to one key store on miniredis, and a
// reader (another process: no cache) on the same Redis.
func shredFixture(t *testing.T) (*fixture, *Events, *Erasures, *shred.Store, *miniredis.Miniredis) {
	t.Helper()
	f := newFixture(t)
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	keys, err := shred.NewStore(rdb, shred.Options{Purpose: purpose})
	require.NoError(t, err)
	reader, err := shred.NewStore(rdb, shred.Options{Purpose: purpose, CacheTTL: -1})
	require.NoError(t, err)
	ev := f.events(t)
	ev.Keys = keys
	er := &Erasures{Decoder: f.changes, Encoder: f.erasures, Keyring: f.keyring, Purpose: purpose,
		ErasuresTopic: "dataset.erasures", Keys: keys, Metrics: f.metrics}
	return f, ev, er, reader, mr
}

func (f *fixture) decodeAll(t *testing.T, out []kafka.Message) []*schema.CuratedEvent {
	t.Helper()
	var cs []*schema.CuratedEvent
	for _, m := range out {
		c, err := f.curated.Decode(context.Background(), m.Value)
		require.NoError(t, err)
		cs = append(cs, &c)
	}
	return cs
}

func version(v string) kafka.Header { return kafka.Header{Key: HeaderConsentVersion, Value: []byte(v)} }

// A withdrawal reaches records already curated: the erasure stage shreds the
// subject's data key before it writes the erasure, so a reader that comes
// later opens the other subject's records only; a record decided before the
// withdrawal and curated after it is withheld; after a re-grant the subject's
// new records are readable and the old ones stay unreadable.
func TestErasureShredsCuratedRecords(t *testing.T) {
	ctx := context.Background()
	f, ev, er, reader, _ := shredFixture(t)

	ada, bob := event("usr_ada1"), event("usr_bob2")
	ada.Text, bob.Text = "ada's sprint notes", "bob's sprint notes"
	out, err := ev.Handle(ctx, []kafka.Message{f.encodeEvent(t, ada, 1, version("2:10")), f.encodeEvent(t, bob, 2, version("3:10"))})
	require.NoError(t, err)
	before := f.decodeAll(t, out)
	for _, c := range before {
		require.Empty(t, c.Text, "written sealed")
		require.NotContains(t, string(c.Sealed), "sprint")
	}

	withdraw := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "usr_ada1", Purpose: purpose, Status: schema.StatusDenied}
	erasures, err := er.Handle(ctx, []kafka.Message{f.change(t, withdraw, 2, 20)})
	require.NoError(t, err)
	require.Len(t, erasures, 1)

	outcomes, _, err := reader.Open(ctx, before)
	require.NoError(t, err)
	require.Equal(t, []shred.Outcome{shred.Erased, shred.Opened}, outcomes)
	require.Empty(t, before[0].Text)
	require.Equal(t, "bob's sprint notes", before[1].Text)

	// still in flight from before the withdrawal (2:15 < 2:20): withheld
	late := event("usr_ada1")
	late.EventID, late.Text = "ev-late", "ada's late notes"
	// after a re-grant at 2:30: readable under a new key
	regrant := event("usr_ada1")
	regrant.EventID, regrant.Text = "ev-regrant", "ada is back"
	out, err = ev.Handle(ctx, []kafka.Message{f.encodeEvent(t, late, 3, version("2:15")), f.encodeEvent(t, regrant, 4, version("2:30"))})
	require.NoError(t, err)
	after := f.decodeAll(t, out)
	require.Equal(t, []byte{shred.VersionEmpty}, after[0].Sealed, "withheld")
	require.Equal(t, 1.0, testutil.ToFloat64(f.metrics.Withheld))
	outcomes, _, err = reader.Open(ctx, after)
	require.NoError(t, err)
	require.Equal(t, []shred.Outcome{shred.Erased, shred.Opened}, outcomes)
	require.Equal(t, "ada is back", after[1].Text)

	again := f.decodeAll(t, []kafka.Message{{Value: mustEncode(t, f, before[0])}})
	outcomes, _, err = reader.Open(ctx, again)
	require.NoError(t, err)
	require.Equal(t, shred.Erased, outcomes[0], "the old record stays unreadable after the re-grant")
}

func mustEncode(t *testing.T, f *fixture, c *schema.CuratedEvent) []byte {
	t.Helper()
	b, err := f.curated.Encode(c)
	require.NoError(t, err)
	return b
}

// Without the key store neither stage writes anything: the events stage never
// writes a record it could not seal, the erasure stage never writes (and so
// never commits) an erasure whose keys it could not shred; both hold the batch
// as a transient failure.
func TestKeyStoreDownHoldsBothStages(t *testing.T) {
	ctx := context.Background()
	f, ev, er, _, mr := shredFixture(t)
	mr.Close()
	out, err := ev.Handle(ctx, []kafka.Message{f.encodeEvent(t, event("usr_ada1"), 1, version("2:10"))})
	require.Error(t, err)
	require.False(t, stream.Permanent(err), "transient: retried, never dead-lettered: %v", err)
	require.Empty(t, out)

	withdraw := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "usr_ada1", Purpose: purpose, Status: schema.StatusDenied}
	out, err = er.Handle(ctx, []kafka.Message{f.change(t, withdraw, 2, 20)})
	require.Error(t, err)
	require.False(t, stream.Permanent(err), "%v", err)
	require.Empty(t, out)
}

// Sealing runs on the workers: a batch of many subjects (one of them erased
// before its records were curated) handled by 4 workers gives, record for
// record, what one worker gives — the same records withheld, every other one
// sealed (no text in the clear) under its own subject's key, opening to its
// own text. Run with -race: the workers share the prepared batch.
func TestSealingOnWorkersMatchesOneWorker(t *testing.T) {
	ctx := context.Background()
	f, ev, er, reader, _ := shredFixture(t)
	withdraw := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "usr_u003", Purpose: purpose, Status: schema.StatusDenied}
	_, err := er.Handle(ctx, []kafka.Message{f.change(t, withdraw, 2, 20)})
	require.NoError(t, err)
	var batch []kafka.Message
	for i := range 64 {
		e := event(fmt.Sprintf("usr_u%03d", i%7))
		e.EventID, e.Text = fmt.Sprintf("ev-%d", i), fmt.Sprintf("note number %d", i)
		batch = append(batch, f.encodeEvent(t, e, int64(i), version("2:10")))
	}
	opened := func(workers int) []string {
		ev.Workers = workers
		out, err := ev.Handle(ctx, batch)
		require.NoError(t, err)
		cs := f.decodeAll(t, out)
		for _, c := range cs {
			require.Empty(t, c.Text, "written sealed")
			require.NotContains(t, string(c.Sealed), "note number")
		}
		outcomes, _, err := reader.Open(ctx, cs)
		require.NoError(t, err)
		var got []string
		for i, c := range cs {
			got = append(got, fmt.Sprintf("%s %s %s %q", c.EventID, c.Subject, outcomes[i], c.Text))
		}
		return got
	}
	one := opened(1)
	require.Len(t, one, 64)
	erased := 0
	for i, s := range one {
		if i%7 == 3 {
			require.Contains(t, s, "erased", "usr_u003 was erased before: withheld")
			erased++
		} else {
			require.Contains(t, s, fmt.Sprintf("opened \"note number %d\"", i))
		}
	}
	require.Equal(t, 9, erased)
	require.Equal(t, one, opened(4))
}
