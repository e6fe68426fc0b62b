package shred

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/schema"
)

func newStore(t testing.TB, cacheTTL time.Duration) (*Store, *miniredis.Miniredis, redis.UniversalClient) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	s, err := NewStore(rdb, Options{Purpose: "ai_training", CacheTTL: cacheTTL})
	require.NoError(t, err)
	return s, mr, rdb
}

func event(subject, tenant, id, version string) *schema.CuratedEvent {
	return &schema.CuratedEvent{EventID: id, EventType: "comment_added", Subject: subject, Tenant: tenant, Purpose: "ai_training",
		Text: "Ada wrote: the " + id + " report is late", Properties: map[string]string{"project": "apollo-" + id},
		ConsentVersion: version, Source: "api"}
}

func clone(e *schema.CuratedEvent) *schema.CuratedEvent {
	c := *e
	c.Sealed = bytes.Clone(e.Sealed)
	return &c
}

func sealAll(t *testing.T, s *Store, es ...*schema.CuratedEvent) []bool {
	t.Helper()
	w, err := s.Seal(context.Background(), es)
	require.NoError(t, err)
	return w
}

func openAll(t *testing.T, s *Store, es ...*schema.CuratedEvent) ([]Outcome, []error) {
	t.Helper()
	o, errs, err := s.Open(context.Background(), es)
	require.NoError(t, err)
	return o, errs
}

func TestSealHidesContentAndOpenRestoresIt(t *testing.T) {
	s, _, _ := newStore(t, 0)
	orig := event("k1:subj-a", "k1:ten-1", "k1:ev1", "0:5")
	e := clone(orig)
	require.Equal(t, []bool{false}, sealAll(t, s, e))
	require.Empty(t, e.Text)
	require.Empty(t, e.EventType)
	require.Empty(t, e.Properties)
	require.Equal(t, byte(VersionSeal), e.Sealed[0])
	for _, needle := range []string{"Ada", "report", "apollo", "comment_added"} {
		require.NotContains(t, string(e.Sealed), needle)
	}
	// pseudonyms and coarse columns stay clear for routing, dedupe and erasures
	require.Equal(t, orig.Subject, e.Subject)
	require.Equal(t, orig.EventID, e.EventID)

	o, errs := openAll(t, s, e)
	require.Equal(t, []Outcome{Opened}, o)
	require.NoError(t, errs[0])
	require.Equal(t, orig, e)

	// an event without text or properties comes back without them
	bare := &schema.CuratedEvent{EventID: "k1:ev2", EventType: "page_viewed", Subject: "k1:subj-a", Tenant: "k1:ten-1", Purpose: "ai_training"}
	want := *bare
	sealAll(t, s, bare)
	o, _ = openAll(t, s, bare)
	require.Equal(t, []Outcome{Opened}, o)
	require.Equal(t, &want, bare)
}

func TestSealedValueIsBoundToItsRecord(t *testing.T) {
	s, _, _ := newStore(t, 0)
	a, b := event("k1:subj-a", "k1:ten-1", "k1:ev1", "0:5"), event("k1:subj-a", "k1:ten-1", "k1:ev2", "0:5")
	sealAll(t, s, a, b)
	for name, mutate := range map[string]func(e *schema.CuratedEvent){
		"moved to another event id":   func(e *schema.CuratedEvent) { e.EventID = "k1:ev2" },
		"moved to another purpose":    func(e *schema.CuratedEvent) { e.Purpose = "analytics" },
		"a ciphertext byte flipped":   func(e *schema.CuratedEvent) { e.Sealed[len(e.Sealed)-20] ^= 1 },
		"the nonce changed":           func(e *schema.CuratedEvent) { e.Sealed[1+2*GenSize] ^= 1 },
		"swapped with another record": func(e *schema.CuratedEvent) { e.Sealed = bytes.Clone(b.Sealed) },
	} {
		t.Run(name, func(t *testing.T) {
			e := clone(a)
			mutate(e)
			o, errs := openAll(t, s, e)
			require.NotEqual(t, Opened, o[0])
			require.Empty(t, e.Text)
			if name != "moved to another purpose" { // another purpose's keys: none (Missing)
				require.ErrorIs(t, errs[0], ErrOpen)
			}
		})
	}
	e := clone(a)
	e.Sealed = e.Sealed[:10]
	_, errs := openAll(t, s, e)
	require.ErrorContains(t, errs[0], "unknown envelope")
}

func TestEraseShredsEarlierRecordsOfThatSubjectOnly(t *testing.T) {
	s, _, _ := newStore(t, time.Hour) // a long cache: the store's own erasure must bypass it
	a1, b1 := event("k1:subj-a", "k1:ten-1", "k1:a1", "0:5"), event("k1:subj-b", "k1:ten-1", "k1:b1", "0:6")
	sealAll(t, s, a1, b1)
	o, _ := openAll(t, s, clone(a1), clone(b1)) // both cached now
	require.Equal(t, []Outcome{Opened, Opened}, o)

	require.NoError(t, s.Erase(context.Background(), schema.ScopeSubject, []string{"k1:subj-a", "k2:subj-a"}, "0:9"))
	ra, rb := clone(a1), clone(b1)
	o, errs := openAll(t, s, ra, rb)
	require.Equal(t, []Outcome{Erased, Opened}, o)
	require.NoError(t, errs[0])
	require.Empty(t, ra.Text)
	require.Contains(t, rb.Text, "b1 report")
}

func TestTenantEraseShredsEverySubjectOfTheTenant(t *testing.T) {
	s, _, _ := newStore(t, 0)
	a, b, c := event("k1:subj-a", "k1:ten-1", "k1:a", "0:1"), event("k1:subj-b", "k1:ten-1", "k1:b", "0:1"), event("k1:subj-c", "k1:ten-2", "k1:c", "1:1")
	sealAll(t, s, a, b, c)
	require.NoError(t, s.Erase(context.Background(), schema.ScopeTenant, []string{"k1:ten-1"}, "0:3"))
	o, _ := openAll(t, s, clone(a), clone(b), clone(c))
	require.Equal(t, []Outcome{Erased, Erased, Opened}, o)
	// a record of the erased tenant decided before the erasure and curated after it is withheld
	late := event("k1:subj-b", "k1:ten-1", "k1:late", "0:2")
	late.TenantConsentVersion = "0:2"
	require.Equal(t, []bool{true}, sealAll(t, s, late))
}

func TestRecordCuratedAfterTheErasureAndReGrant(t *testing.T) {
	s, _, _ := newStore(t, 0)
	old := event("k1:subj-a", "k1:ten-1", "k1:old", "0:5")
	sealAll(t, s, old)
	require.NoError(t, s.Erase(context.Background(), schema.ScopeSubject, []string{"k1:subj-a"}, "0:9"))

	// decided before the withdrawal (0:5, 0:9 itself, no version), curated after the erasure: withheld
	late, same, none := event("k1:subj-a", "k1:ten-1", "k1:late", "0:7"), event("k1:subj-a", "k1:ten-1", "k1:same", "0:9"), event("k1:subj-a", "k1:ten-1", "k1:none", "")
	// decided after a re-grant (0:12): a new key, readable
	regrant := event("k1:subj-a", "k1:ten-1", "k1:new", "0:12")
	require.Equal(t, []bool{true, true, true, false}, sealAll(t, s, late, same, none, regrant))
	require.Equal(t, []byte{VersionEmpty}, late.Sealed)
	require.Empty(t, late.Text)

	o, _ := openAll(t, s, clone(old), late, same, none, regrant)
	require.Equal(t, []Outcome{Erased, Erased, Erased, Erased, Opened}, o, "the old key is gone for good; the re-grant's key opens only its records")
	require.Contains(t, regrant.Text, "new report")

	// a record still in flight from before the withdrawal, curated after the re-grant's key exists: withheld too
	straggler := event("k1:subj-a", "k1:ten-1", "k1:straggler", "0:8")
	require.Equal(t, []bool{true}, sealAll(t, s, straggler))
}

func TestKeysAreRandomAtomicAndExpire(t *testing.T) {
	s, mr, rdb := newStore(t, -1)
	ctx := context.Background()
	a := event("k1:subj-a", "k1:ten-1", "k1:a", "0:1")
	sealAll(t, s, a)
	v1, err := rdb.Get(ctx, s.SubjectKey("ai_training", "k1:subj-a")).Result()
	require.NoError(t, err)
	require.Len(t, v1, 1+GenSize+KeySize)
	require.InDelta(t, DefaultKeyTTL.Seconds(), mr.TTL(s.SubjectKey("ai_training", "k1:subj-a")).Seconds(), 1)
	require.NotContains(t, strings.Join(mr.Keys(), " "), "Ada", "no content or raw id in key names")

	// a second store (another anonymizer instance) gets the same key, not a new one
	s2, err := NewStore(rdb, Options{Purpose: "ai_training", CacheTTL: -1})
	require.NoError(t, err)
	b := event("k1:subj-a", "k1:ten-1", "k1:b", "0:1")
	sealAll(t, s2, b)
	v2, _ := rdb.Get(ctx, s.SubjectKey("ai_training", "k1:subj-a")).Result()
	require.Equal(t, v1, v2)
	o, _ := openAll(t, s, clone(a), clone(b))
	require.Equal(t, []Outcome{Opened, Opened}, o)

	// keys are not derived: after the store forgets them, the same subject gets another key
	mr.FlushAll()
	c := event("k1:subj-a", "k1:ten-1", "k1:c", "0:1")
	sealAll(t, s, c)
	v3, _ := rdb.Get(ctx, s.SubjectKey("ai_training", "k1:subj-a")).Result()
	require.NotEqual(t, v1[1:], v3[1:])
	o, _ = openAll(t, s, clone(a), clone(c))
	require.Equal(t, []Outcome{Erased, Opened}, o, "a key replaced by another generation reads as erased")

	// a flushed store: records whose keys vanished without a tombstone are Missing
	mr.FlushAll()
	o, _ = openAll(t, s, clone(c))
	require.Equal(t, []Outcome{Missing}, o)
	require.Empty(t, mr.Keys(), "readers never create keys")
}

func TestAnotherProcessCacheOpensOnlyUntilItsTTL(t *testing.T) {
	s, _, rdb := newStore(t, 0)
	reader, err := NewStore(rdb, Options{Purpose: "ai_training", CacheTTL: time.Second})
	require.NoError(t, err)
	now := time.Unix(1000, 0)
	reader.now = func() time.Time { return now }
	a := event("k1:subj-a", "k1:ten-1", "k1:a", "0:1")
	sealAll(t, s, a)
	o, _ := openAll(t, reader, clone(a))
	require.Equal(t, []Outcome{Opened}, o)
	require.NoError(t, s.Erase(context.Background(), schema.ScopeSubject, []string{"k1:subj-a"}, "0:2"))
	now = now.Add(500 * time.Millisecond)
	o, _ = openAll(t, reader, clone(a))
	require.Equal(t, []Outcome{Opened}, o, "within its cache TTL another process still holds the key")
	now = now.Add(600 * time.Millisecond)
	o, _ = openAll(t, reader, clone(a))
	require.Equal(t, []Outcome{Erased}, o, "after it, never again")
}

func TestKeyStoreDownFailsClosed(t *testing.T) {
	s, mr, _ := newStore(t, 0)
	mr.Close()
	e := event("k1:subj-a", "k1:ten-1", "k1:a", "0:1")
	before := *e
	_, err := s.Seal(context.Background(), []*schema.CuratedEvent{e})
	require.Error(t, err)
	require.Equal(t, before, *e, "nothing sealed, nothing cleared: the caller retries")
	require.Error(t, s.Erase(context.Background(), schema.ScopeSubject, []string{"k1:subj-a"}, "0:2"))
	e.Sealed = []byte{VersionSeal}
	_, _, err = s.Open(context.Background(), []*schema.CuratedEvent{e})
	require.Error(t, err)
}

// pipelines counts round trips (pipelines) and their commands.
type pipelines struct{ trips, cmds int }

func (p *pipelines) DialHook(next redis.DialHook) redis.DialHook { return next }
func (p *pipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n != "hello" && n != "client" {
			p.trips++
			p.cmds++
		}
		return next(ctx, cmd)
	}
}
func (p *pipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if n := cmds[0].Name(); n != "hello" && n != "client" { // a new connection's set-up
			p.trips++
			p.cmds += len(cmds)
		}
		return next(ctx, cmds)
	}
}

func TestOneRoundTripPerBatch(t *testing.T) {
	s, _, rdb := newStore(t, 0)
	var es []*schema.CuratedEvent
	for i := range 50 {
		es = append(es, event(fmt.Sprintf("k1:subj-%d", i%5), "k1:ten-1", fmt.Sprintf("k1:e%d", i), "0:1"))
	}
	require.NoError(t, rdb.Ping(context.Background()).Err()) // the connection's own set-up is not counted
	p := &pipelines{}
	rdb.(*redis.Client).AddHook(p)
	sealAll(t, s, es...)
	require.Equal(t, pipelines{trips: 1, cmds: 6}, *p, "5 subjects and 1 tenant: one key script each, in one round trip")
	*p = pipelines{}
	sealAll(t, s, event("k1:subj-1", "k1:ten-1", "k1:x", "0:1"))
	o, _ := openAll(t, s, es...)
	require.Equal(t, Opened, o[49])
	require.Equal(t, pipelines{}, *p, "cached: no round trip")
}

// An erasure leaves no cipher derived from the keys it shredded in the
// store's memory.
func TestEraseForgetsDerivedCiphers(t *testing.T) {
	s, _, _ := newStore(t, time.Minute)
	e := event("k1:subj-a", "k1:ten-1", "k1:ev1", "0:5")
	sealAll(t, s, e)
	require.NotEmpty(t, s.aeads)
	require.NoError(t, s.Erase(context.Background(), schema.ScopeSubject, []string{"k1:subj-a"}, "0:6"))
	require.Empty(t, s.aeads)
}
