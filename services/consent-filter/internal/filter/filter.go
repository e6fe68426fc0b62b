// Package filter is the consent-filter's stage: it decides every raw event against
// the materialized consent state and passes the allowed ones on, with an audit
// record for every decision. It fails closed: while the state cannot be trusted
// it returns an error, so the stream loop neither writes nor commits.
package filter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/tally"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// Stage name used in DLQ headers and metrics.
const Stage = "consent-filter"

// State is what the filter needs from the consent store.
type State interface {
	Health(ctx context.Context, endOffsets map[int]int64, maxLag int64) (consentstore.Health, error)
	Lookup(ctx context.Context, purpose string, refs []consentstore.SubjectRef) (map[consentstore.SubjectRef]consentstore.Record, error)
}

// Cache is the in-process consent cache in front of State.Lookup. LookupInto
// has State.Lookup's contract but adds the records to out.
type Cache interface {
	LookupInto(ctx context.Context, purpose string, refs []consentstore.SubjectRef, out map[consentstore.SubjectRef]consentstore.Record) error
	Clear()
}

// ErrPaused wraps every reason the filter refuses to decide now. It is
// transient: the loop holds the batch (no output, no commit) and tries again.
var ErrPaused = stream.Transient(errors.New("consent state not trustworthy; paused"))

// Filter decides batches of raw events.
type Filter struct {
	Purpose    string
	Policy     *policy.Policy
	State      State
	EndOffsets func(ctx context.Context) (map[int]int64, error)
	MaxLag     int64
	// LagWait bounds how long a batch waits, re-reading the store's health,
	// when the materializer is behind its target by more than MaxLag
	// (ReasonLagging): a change appended just before the batch's end offsets
	// were read is usually applied within milliseconds, and holding the batch
	// costs a retry backoff and a re-read. Past LagWait the batch is held
	// (paused) as before; zero holds it at once.
	LagWait   time.Duration
	Raw       *avro.Codec[schema.InteractionEvent]
	Decisions *avro.Codec[schema.ConsentDecision]
	AuditKey  []byte
	// AuditTime is what the decision's times are truncated to (zero: an
	// hour).
	AuditTime time.Duration
	Topics    topics.Names
	Now       func() time.Time
	Metrics   *Metrics
	// Cache, when set, serves lookups. It is trusted only for the materializer
	// positions it was filled at: pub/sub invalidations travel on another
	// connection and may arrive after the filter has seen the positions move, so
	// whenever the positions differ from the last batch's the cache is cleared
	// first. Between consent changes it serves every lookup.
	Cache Cache
	// Links, when set, records the identity links events establish (an event
	// carrying a user id and an anonymous id, identify, alias) on
	// consent.changes, with ChangeCodec, before the batch's outputs are
	// written: a link the store does not hold yet is appended, so the
	// materializer stores it and later events (and erasures) see it.
	Links       Appender
	ChangeCodec *avro.Codec[schema.ConsentChange]
	// MaxLinks bounds the linked subjects consulted for one event (default
	// 1000); an event whose primary subject has more is denied (link_limit).
	MaxLinks int
	// Tally, when set, counts each batch's decisions per tenant and day for
	// the tenant admin's privacy-centre page (best-effort statistics).
	Tally interface {
		Record(ctx context.Context, items []tally.Item)
	}

	lastPositions map[int]int64
	// paused is whether this filter (one group member) is paused; the
	// Paused gauge is 1 while any member sharing Metrics is.
	paused bool // under Metrics.mu

	// targetFor identifies the batch targetEnds were read for.
	targetFor  batchID
	targetEnds map[int]int64

	events []decoded // Handle's, reused
	// heads holds the batch's decoded events (what decoded.ev points at),
	// decoded into the same array batch after batch and cleared when Handle
	// returns: one allocation per event less.
	heads stream.DecodeBuffer[schema.InteractionEvent]
	// scratch holds Handle's per-batch maps, emptied (capacity kept) when
	// it returns: a batch's maps grew from empty on every batch, a third of
	// the filter's allocations in the stage drain.
	scratch scratch
}

// scratch is the per-batch state Handle keeps between batches (the loop calls
// it for one batch at a time). Nothing in it outlives the batch: the header
// slices and audit keys the batch's messages share stay with the messages.
type scratch struct {
	seen           map[identity.Subject]bool
	inBatch        map[identity.Subject][]identity.Subject
	built          map[headerKey][]kafka.Header
	policyVersions map[string][]byte
	memo           recordMemo
	audit          *refs
	recs           map[consentstore.SubjectRef]consentstore.Record
	decided        []decidedCount
}

// decidedCount is a batch's decisions of one verdict and reason, added to
// consentflow_filter_decisions_total once per batch: a batch holds a handful of
// kinds, found by a linear search, where the counter's own label lookup per
// event hashed both labels (4 % of BenchmarkHandle's CPU).
type decidedCount struct {
	verdict string
	reason  decision.Reason
	n       int
}

// count adds one decision to counts.
func count(counts []decidedCount, verdict string, reason decision.Reason) []decidedCount {
	for i := range counts {
		if counts[i].reason == reason && counts[i].verdict == verdict {
			counts[i].n++
			return counts
		}
	}
	return append(counts, decidedCount{verdict, reason, 1})
}

// headerKey identifies the consented headers of a batch's allowed events.
type headerKey struct {
	s                    identity.Subject
	tenantVer, policyVer string
}

// reset empties the maps for the next batch, keeping their capacity.
func (sc *scratch) reset() {
	clear(sc.seen)
	clear(sc.inBatch)
	clear(sc.built)
	clear(sc.policyVersions)
	clear(sc.memo)
	clear(sc.recs)
	sc.decided = sc.decided[:0]
	if sc.audit != nil {
		clear(sc.audit.done)
	}
}

// init makes the maps on first use and points the audit references at
// auditKey and purpose.
func (sc *scratch) init(auditKey []byte, purpose string) {
	if sc.seen == nil {
		sc.seen = map[identity.Subject]bool{}
		sc.inBatch = map[identity.Subject][]identity.Subject{}
		sc.built = map[headerKey][]kafka.Header{}
		sc.policyVersions = map[string][]byte{}
		sc.memo = recordMemo{}
		sc.recs = map[consentstore.SubjectRef]consentstore.Record{}
	}
	if sc.audit == nil || sc.audit.purpose != purpose || !bytes.Equal(sc.audit.key, auditKey) {
		sc.audit = newRefs(auditKey, purpose)
	}
}

// Appender appends records to consent.changes.
type Appender interface {
	Append(ctx context.Context, recs ...stream.Record) ([]stream.Position, error)
}

// batchID identifies a batch by its first and last records and its size: a retry
// of the loop passes the same batch; a redelivery after a rebalance that starts
// at the same record but holds more does not match.
type batchID struct {
	topic                 string
	firstPart, lastPart   int
	firstOffset, lastOffs int64
	n                     int
}

func idOf(batch []kafka.Message) batchID {
	first, last := batch[0], batch[len(batch)-1]
	return batchID{topic: first.Topic, firstPart: first.Partition, lastPart: last.Partition,
		firstOffset: first.Offset, lastOffs: last.Offset, n: len(batch)}
}

// target returns the consent.changes end offsets the batch must be decided
// against, reading them on the batch's first attempt only. Every event of the
// batch was in Kafka before that read, so every change acknowledged before the
// events were received is below these offsets.
func (f *Filter) target(ctx context.Context, batch []kafka.Message) (map[int]int64, error) {
	id := idOf(batch)
	if f.targetEnds != nil && f.targetFor == id {
		return f.targetEnds, nil
	}
	ends, err := f.EndOffsets(ctx)
	if err != nil {
		return nil, err
	}
	f.targetFor, f.targetEnds = id, ends
	return ends, nil
}

// Metrics of the filter.
type Metrics struct {
	Decisions     *prometheus.CounterVec
	LookupSeconds prometheus.Histogram
	Paused        prometheus.Gauge
	PauseReasons  *prometheus.CounterVec
	Lag           prometheus.Gauge
	Links         prometheus.Counter
	// LagWaits counts the batches that found the materializer lagging and
	// waited (FILTER_LAG_WAIT), by outcome: caught_up (decided) or held;
	// LagWaitSeconds is how long each waited.
	LagWaits       *prometheus.CounterVec
	LagWaitSeconds prometheus.Histogram

	mu     sync.Mutex
	paused int // filters sharing these metrics that are paused
}

// NewMetrics registers the filter metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Decisions:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_filter_decisions_total", Help: "Consent decisions by decision and reason."}, []string{"decision", "reason"}),
		LookupSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "consentflow_filter_lookup_seconds", Help: "Latency of one batched consent lookup.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		Paused:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "consentflow_filter_paused", Help: "1 while the filter is paused because consent state cannot be trusted."}),
		PauseReasons:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_filter_pauses_total", Help: "Batches held back, by reason."}, []string{"reason"}),
		Lag:           prometheus.NewGauge(prometheus.GaugeOpts{Name: "consentflow_materializer_lag_records", Help: "consent.changes records not yet applied to Redis (max over partitions), as the filter last saw it."}),
		Links:         prometheus.NewCounter(prometheus.CounterOpts{Name: "consentflow_filter_links_total", Help: "Identity links recorded on consent.changes from events (identify, alias, events carrying both ids)."}),
		LagWaits:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_filter_lag_waits_total", Help: "Batches that found the materializer lagging and waited for it (FILTER_LAG_WAIT), by outcome: caught_up or held."}, []string{"outcome"}),
		LagWaitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "consentflow_filter_lag_wait_seconds", Help: "How long a batch waited for a lagging materializer (FILTER_LAG_WAIT).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.Decisions, m.LookupSeconds, m.Paused, m.PauseReasons, m.Lag, m.Links, m.LagWaits, m.LagWaitSeconds)
	}
	return m
}

type decoded struct {
	msg *kafka.Message // of the batch
	// ev holds what Codec.Head reads: ids, times, jurisdiction, GPC, event
	// type, client consent and source; the payload fields (text, properties,
	// network, actor, session) are empty. The filter forwards msg.Value.
	ev *schema.InteractionEvent
	es eventSubjects
}

// Handle is the stream.Handler of the filter.
func (f *Filter) Handle(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	var out []kafka.Message
	// The decoded events are kept for the next batch's (the loop calls Handle
	// for one batch at a time), emptied on return so that they hold nothing.
	events := f.events[:0]
	if cap(events) < len(batch) {
		events = make([]decoded, 0, len(batch))
	}
	f.scratch.init(f.AuditKey, f.Purpose)
	defer func() { clear(events[:cap(events)]); f.events = events[:0]; f.heads.Clear(); f.scratch.reset() }()
	modes := identity.DefaultModes()
	if f.Policy != nil {
		modes = f.Policy.Identity
	}
	// The end offsets of consent.changes, then the store's health against
	// them, are read while the batch is decoded (two round trips beside CPU
	// work); every event of the batch was in Kafka before the offsets were
	// read, as target requires. The state must cover every change
	// acknowledged before this batch was first tried: the end offsets are read
	// once per batch and kept across retries, so a steady stream of new
	// changes cannot keep moving the target away from the materializer.
	type stateResult struct {
		ends    map[int]int64
		endsErr error
		h       consentstore.Health
		err     error
	}
	readState := func() stateResult {
		ends, err := f.target(ctx, batch)
		if err != nil {
			return stateResult{endsErr: err}
		}
		h, err := f.State.Health(ctx, ends, f.MaxLag)
		return stateResult{ends: ends, h: h, err: err}
	}
	stateOf := readState
	if len(batch) > 0 && f.EndOffsets != nil {
		stateCh := make(chan stateResult, 1)
		go func() { stateCh <- readState() }()
		stateOf = sync.OnceValue(func() stateResult { return <-stateCh })
		defer stateOf() // target's state and State are never touched after Handle returns
	}
	var failed stream.BatchError
	raws := stream.DecodeEachInto(ctx, batch, f.Raw.Head(), &failed, nil, &f.heads)
	if fail, retry := failed.Transient(); retry {
		return nil, fmt.Errorf("%w: schema registry: %w", ErrPaused, fail.Err)
	}
	for i := range batch {
		ev := raws[i]
		if ev == nil {
			continue // reported
		}
		es, err := subjectsOf(modes, ev)
		if err == nil {
			err = validate(ev)
		}
		if err != nil {
			failed.Add(i, "invalid", err)
			continue
		}
		events = append(events, decoded{msg: &batch[i], ev: ev, es: es})
	}
	if len(events) == 0 {
		return out, failed.Err()
	}

	r := stateOf()
	if r.endsErr != nil {
		return nil, f.pause("kafka_unavailable", fmt.Errorf("consent.changes end offsets: %w", r.endsErr))
	}
	ends, h, err := r.ends, r.h, r.err
	if err != nil {
		return nil, f.pause("redis_unavailable", err)
	}
	if !h.Ready && h.Reason == consentstore.ReasonLagging && f.LagWait > 0 {
		if h, err = f.awaitLag(ctx, ends, h); err != nil {
			return nil, f.pause("redis_unavailable", err)
		}
	}
	f.Metrics.Lag.Set(float64(h.MaxLag))
	if !h.Ready {
		return nil, f.pause(string(h.Reason), fmt.Errorf("consent store %s", h.Reason))
	}
	// Both rounds add to one map, kept between batches.
	recs := f.scratch.recs
	lookup := func(refs []consentstore.SubjectRef) error {
		got, err := f.State.Lookup(ctx, f.Purpose, refs)
		maps.Copy(recs, got)
		return err
	}
	if f.Cache != nil {
		if !maps.Equal(h.Positions, f.lastPositions) {
			f.Cache.Clear()
			f.lastPositions = h.Positions
		}
		lookup = func(refs []consentstore.SubjectRef) error { return f.Cache.LookupInto(ctx, f.Purpose, refs, recs) }
	}

	// Round 1: every event's own subjects and tenant (and, while legacy
	// records exist, the legacy records of its ids). Round 2: the subjects
	// linked to them that round 1 did not fetch.
	start := time.Now()
	refs := make([]consentstore.SubjectRef, 0, len(events))
	seen := f.scratch.seen
	want := func(s identity.Subject) {
		if !seen[s] {
			seen[s] = true
			refs = append(refs, s)
		}
	}
	inBatch := f.scratch.inBatch
	for _, d := range events {
		want(d.es.primary)
		want(identity.TenantOf(d.ev.TenantID))
		for _, c := range d.es.carried {
			want(c)
		}
		if h.Legacy {
			for _, id := range d.es.rawIDs() {
				want(identity.LegacyOf(id))
			}
		}
		for _, l := range d.es.links {
			inBatch[l.A] = append(inBatch[l.A], l.B)
			inBatch[l.B] = append(inBatch[l.B], l.A)
		}
	}
	err = lookup(refs)
	if err == nil {
		refs = refs[:0]
		for _, d := range events {
			for _, s := range linkedOf(d.es, recs[d.es.primary].Links, inBatch) {
				want(s)
			}
		}
		if len(refs) > 0 {
			err = lookup(refs)
		}
	}
	f.Metrics.LookupSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		reason := "redis_unavailable"
		if errors.Is(err, consentstore.ErrNotReady) {
			reason = "not_ready"
		}
		return nil, f.pause(reason, err)
	}
	if err := f.recordLinks(ctx, events, recs); err != nil {
		return nil, f.pause("kafka_unavailable", err)
	}
	f.SetPaused(false)

	maxLinks := f.MaxLinks
	if maxLinks <= 0 {
		maxLinks = 1000
	}
	nparts := len(ends)
	now := f.Now()
	var counted []tally.Item // handed to the tally queue: not reused
	if f.Tally != nil {
		counted = make([]tally.Item, 0, len(events))
	}
	audit := f.scratch.audit
	decided := f.scratch.decided[:0]
	built := f.scratch.built
	purpose := []byte(f.Purpose) // header values shared by the batch's messages (the writer only reads them)
	policyVersions := f.scratch.policyVersions
	out = make([]kafka.Message, 0, 2*len(events))
	var rec schema.ConsentDecision // encoded, not kept
	memo := f.scratch.memo
	// The decisions' values share one buffer (each a capped slice of it; a
	// value from before the buffer grew keeps the old array alive).
	encoded := make([]byte, 0, 160*len(events))
	for _, d := range events {
		in := decision.Input{ReceivedAt: d.ev.ReceivedAt, Jurisdiction: d.ev.Jurisdiction, GPC: d.ev.GPC, Purpose: f.Purpose}
		tenantVersion := ""
		if t := identity.TenantOf(d.ev.TenantID); true {
			if r, ok := recs[t]; ok && r.Has() {
				in.Tenant = memo.of(t, r)
				tenantVersion = in.Tenant.Version
			}
		}
		linked := linkedOf(d.es, recs[d.es.primary].Links, inBatch)
		in.User, in.Linked, in.TooManyLinks = decisionInput(d.es, linked, recs, h.Legacy, maxLinks, memo)
		dec := decision.Decide(f.Policy, in)
		verdict := schema.DecisionDeny
		if dec.Allow {
			verdict = schema.DecisionAllow
		}
		decided = count(decided, verdict, dec.Reason)

		ref := audit.of(d.es.primary)
		rec = schema.ConsentDecision{
			EventID: d.ev.EventID, SubjectRef: ref.s, Purpose: f.Purpose, Decision: verdict,
			Reason: string(dec.Reason), ConsentVersion: dec.ConsentVersion, PolicyVersion: dec.PolicyVersion,
			ReceivedAt: Coarsen(d.ev.ReceivedAt, f.AuditTime), DecidedAt: Coarsen(now, f.AuditTime), TenantConsentVersion: tenantVersion,
		}
		start := len(encoded)
		encoded, err = f.Decisions.AppendEncode(encoded, &rec)
		if err != nil {
			return nil, fmt.Errorf("encode decision: %w", err)
		}
		out = append(out, kafka.Message{Topic: f.Topics.Decisions, Key: ref.b, Value: encoded[start:len(encoded):len(encoded)]})
		if dec.Allow {
			// The headers depend on the subject and the versions only: built
			// once per batch for each, shared by its events' messages (the
			// writer only reads them).
			hk := headerKey{d.es.primary, tenantVersion, dec.PolicyVersion}
			hs, ok := built[hk]
			if !ok {
				pv, ok := policyVersions[dec.PolicyVersion]
				if !ok {
					pv = []byte(dec.PolicyVersion)
					policyVersions[dec.PolicyVersion] = pv
				}
				hs = []kafka.Header{
					{Key: schema.HeaderConsentVersion, Value: []byte(StateVersion(d.es.primary, h.Positions, nparts))},
					{Key: schema.HeaderTenantConsentVersion, Value: []byte(tenantVersion)},
					{Key: schema.HeaderPolicyVersion, Value: pv},
					{Key: schema.HeaderPurpose, Value: purpose},
					{Key: schema.HeaderSubjectKind, Value: kindBytes(d.es.primary.Kind)},
					{Key: schema.HeaderSubjectScope, Value: scopeBytes(d.es.primary.Scope())},
				}
				built[hk] = hs
			}
			if len(d.msg.Headers) > 0 {
				hs = append(slices.Clip(d.msg.Headers), hs...)
			}
			out = append(out, kafka.Message{Topic: f.Topics.Consented, Key: d.msg.Key, Value: d.msg.Value, Headers: slices.Clip(hs)})
		}
		if f.Tally != nil {
			counted = append(counted, tally.Item{Tenant: d.ev.TenantID, User: d.ev.UserID, Purpose: f.Purpose, Reason: string(dec.Reason), ReceivedAt: d.ev.ReceivedAt,
				Partition: d.msg.Partition, Offset: d.msg.Offset})
		}
	}
	for _, c := range decided {
		f.Metrics.Decisions.WithLabelValues(c.verdict, string(c.reason)).Add(float64(c.n))
	}
	f.scratch.decided = decided
	if len(counted) > 0 {
		f.Tally.Record(ctx, counted)
	}
	return out, failed.Err()
}

// Header values of the subject kinds and scopes there are, shared by every
// message (the writer only reads them); any other value gets its own copy.
var (
	kindValues  = map[identity.Kind][]byte{identity.User: []byte(identity.User), identity.Anonymous: []byte(identity.Anonymous)}
	scopeValues = map[identity.Scope][]byte{identity.TenantScoped: []byte(identity.TenantScoped), identity.Global: []byte(identity.Global)}
)

func kindBytes(k identity.Kind) []byte {
	if b, ok := kindValues[k]; ok {
		return b
	}
	return []byte(k)
}

func scopeBytes(s identity.Scope) []byte {
	if b, ok := scopeValues[s]; ok {
		return b
	}
	return []byte(s)
}

// StateVersion is the consent_version a row of subject s decided now
// carries: "p:o" where p is the consent.changes partition of s's records
// (every record of its tenant in tenant mode) and o the materializer's
// position there (every change below o was in the state decided on; the
// positions are read before the records, so they never overstate it). An
// erasure caused by a change at or above o covers the row; one below o was
// seen by the decision. Empty when the partition count is unknown.
func StateVersion(s identity.Subject, positions map[int]int64, partitions int) string {
	if partitions <= 0 {
		return ""
	}
	p := stream.PartitionOf([]byte(s.Route()), partitions)
	return schema.Version{Partition: p, Offset: positions[p]}.String()
}

// recordLinks appends the links the batch's events establish that the store
// does not hold yet (each once).
func (f *Filter) recordLinks(ctx context.Context, events []decoded, recs map[consentstore.SubjectRef]consentstore.Record) error {
	if f.Links == nil || f.ChangeCodec == nil {
		return nil
	}
	var out []stream.Record
	seen := map[identity.Link]bool{}
	for _, d := range events {
		for _, l := range d.es.links {
			if seen[l] || storedLink(l, recs) {
				continue
			}
			seen[l] = true
			c := identity.LinkChange(l, d.ev.TenantID, d.ev.ReceivedAt, d.ev.Source)
			key, route, err := identity.KeyOf(&c)
			if err != nil {
				return fmt.Errorf("link record: %w", err)
			}
			b, err := f.ChangeCodec.Encode(&c)
			if err != nil {
				return fmt.Errorf("encode link record: %w", err)
			}
			out = append(out, stream.Record{Key: []byte(key), Route: []byte(route), Value: b})
		}
	}
	if len(out) == 0 {
		return nil
	}
	if _, err := f.Links.Append(ctx, out...); err != nil {
		return fmt.Errorf("record %d identity links: %w", len(out), err)
	}
	f.Metrics.Links.Add(float64(len(out)))
	return nil
}

// lagPoll bounds the interval between awaitLag's health reads (they start at
// a millisecond and double): one pipelined Redis round trip each.
const lagPoll = 16 * time.Millisecond

// awaitLag re-reads the store's health against the batch's target ends until
// the materializer has caught up (Ready), the store is not ready for another
// reason, or LagWait has passed, and returns the last health read (still
// lagging when the wait ran out: the batch is then held). It never decides
// anything itself: the batch is decided only against a health that is Ready.
func (f *Filter) awaitLag(ctx context.Context, ends map[int]int64, h consentstore.Health) (consentstore.Health, error) {
	start := time.Now()
	deadline := start.Add(f.LagWait)
	defer func() {
		outcome := "caught_up"
		if !h.Ready {
			outcome = "held"
		}
		f.Metrics.LagWaits.WithLabelValues(outcome).Inc()
		f.Metrics.LagWaitSeconds.Observe(time.Since(start).Seconds())
	}()
	every := time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return h, nil
		}
		t.Reset(min(every, left))
		select {
		case <-ctx.Done():
			return h, nil // stopping: the batch is held, as when the wait runs out
		case <-t.C:
		}
		every = min(2*every, lagPoll)
		next, err := f.State.Health(ctx, ends, f.MaxLag)
		if err != nil {
			h = next
			return next, err
		}
		h = next
		if h.Ready || h.Reason != consentstore.ReasonLagging {
			return h, nil
		}
	}
}

func (f *Filter) pause(reason string, err error) error {
	f.SetPaused(true)
	f.Metrics.PauseReasons.WithLabelValues(reason).Inc()
	return fmt.Errorf("%w: %s: %v", ErrPaused, reason, err)
}

// SetPaused records whether this filter is paused. Several filters (the
// group members of one process) may share Metrics: its Paused gauge is 1 while
// any of them is paused, so one member flowing does not hide another's pause.
func (f *Filter) SetPaused(on bool) {
	m := f.Metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.paused == on {
		return
	}
	f.paused = on
	if on {
		m.paused++
	} else {
		m.paused--
	}
	if m.paused > 0 {
		f.Metrics.Paused.Set(1)
	} else {
		f.Metrics.Paused.Set(0)
	}
}

// validate rejects raw events the decision cannot be made for (the ids were
// checked by subjectsOf).
func validate(ev *schema.InteractionEvent) error {
	switch {
	case ev.EventID == "":
		return errors.New("event_id: required")
	case ev.ReceivedAt.IsZero():
		return errors.New("received_at: required")
	}
	return nil
}
