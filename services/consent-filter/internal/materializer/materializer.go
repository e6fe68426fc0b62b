// Package materializer applies consent.changes to the Redis consent store. Its
// positions live in Redis with the data (never in Kafka's group offsets), so when
// Redis loses its data the positions go with it and the materializer replays the
// compacted topic from the beginning.
package materializer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/history"
)

// Materializer keeps the consent store in step with consent.changes.
type Materializer struct {
	Kafka   stream.Config
	Topic   string
	Store   *consentstore.Store
	Codec   *avro.Codec[schema.ConsentChange]
	Logger  *zap.Logger
	Metrics *Metrics
	// Purpose is the chain's purpose: identity stitching's erasure requests
	// (ERASE records) are derived for it and written to Topic through
	// Changes before the batch that calls for them is applied. Without
	// Changes no requests are derived.
	Purpose string
	Changes Appender
	// History, when set, records each applied consent change per subject for
	// the privacy centre (best-effort: a failure is logged, never retried).
	History *history.History

	// CheckInterval is how often the generation is checked while idle, so that a
	// flush is noticed without new changes (default 250ms).
	CheckInterval time.Duration
	// MaxBatch bounds the changes applied in one script round (default 500).
	MaxBatch int
}

// Appender appends records to consent.changes.
type Appender interface {
	Append(ctx context.Context, recs ...stream.Record) ([]stream.Position, error)
}

// Metrics of the materializer.
type Metrics struct {
	Applied  prometheus.Counter
	Rebuilds prometheus.Counter
	Skipped  *prometheus.CounterVec
	Erasures prometheus.Counter
}

// NewMetrics registers the materializer metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Applied:  prometheus.NewCounter(prometheus.CounterOpts{Name: "consentflow_materializer_applied_total", Help: "Consent changes applied to Redis (replays included)."}),
		Rebuilds: prometheus.NewCounter(prometheus.CounterOpts{Name: "consentflow_materializer_generations_total", Help: "Writer generations opened (a rebuild from the start of the topic when Redis lost its state)."}),
		Skipped:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_materializer_skipped_total", Help: "consent.changes records not applied, by reason."}, []string{"reason"}),
		Erasures: prometheus.NewCounter(prometheus.CounterOpts{Name: "consentflow_materializer_erasure_requests_total", Help: "Erasure requests (ERASE records) written for subjects linked to a denial (replays included)."}),
	}
	if reg != nil {
		reg.MustRegister(m.Applied, m.Rebuilds, m.Skipped, m.Erasures)
	}
	return m
}

func (m *Materializer) defaults() {
	if m.CheckInterval <= 0 {
		m.CheckInterval = 250 * time.Millisecond
	}
	if m.MaxBatch <= 0 {
		m.MaxBatch = 500
	}
	if m.Logger == nil {
		m.Logger = zap.NewNop()
	}
	if m.Metrics == nil {
		m.Metrics = NewMetrics(nil)
	}
}

// errReopen asks Run to open a new writer generation.
var errReopen = errors.New("reopen writer")

// Run materializes until ctx is cancelled. Redis or Kafka outages are retried
// forever with backoff (the filter pauses meanwhile); it returns nil on
// cancellation.
func (m *Materializer) Run(ctx context.Context) error {
	m.defaults()
	for ctx.Err() == nil {
		// A lost generation is reopened at once; other failures back off.
		err := stream.Retry{
			Stop: func(err error) bool { return errors.Is(err, errReopen) },
			Failed: func(err error, failures int, _ time.Time) {
				m.Logger.Warn("materializer interrupted; retrying", zap.Error(err), zap.Int("attempt", failures))
			},
		}.Do(ctx, func() error { return m.generation(ctx) })
		if err != nil && !errors.Is(err, errReopen) && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// generation runs one writer generation: open (resume or rebuild), seek every
// partition to the writer's positions, apply until the generation is lost.
func (m *Materializer) generation(ctx context.Context) error {
	ends, err := stream.EndOffsets(ctx, m.Kafka, m.Topic)
	if err != nil {
		return err
	}
	w, err := m.Store.OpenWriter(ctx, ends)
	if err != nil {
		return err
	}
	m.Metrics.Rebuilds.Inc()
	pos := w.Positions()
	m.Logger.Info("materializer generation open", zap.Bool("rebuilding", w.Rebuilding()),
		zap.Bool("complete", w.Complete()), zap.Any("positions", pos), zap.Any("end_offsets", ends))

	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan kafka.Message, m.MaxBatch)
	var wg sync.WaitGroup
	errc := make(chan error, len(ends))
	for p := range ends {
		// A change returns at once (MinBytes 1); the wait bounds only an
		// idle fetch, and a short one makes kafka-go redial whenever a
		// loaded broker answers it late (see stream.DefaultMaxWait).
		r := stream.NewPartitionReader(m.Kafka, m.Topic, p, stream.DefaultMaxWait)
		start := kafka.FirstOffset
		if o, ok := pos[p]; ok {
			start = o
		}
		if err := r.SetOffset(start); err != nil {
			r.Close()
			return fmt.Errorf("seek %s/%d to %d: %w", m.Topic, p, start, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				msg, err := r.FetchMessage(gctx)
				if err != nil {
					if gctx.Err() == nil {
						errc <- fmt.Errorf("fetch %s/%d: %w", m.Topic, p, err)
					}
					return
				}
				select {
				case msgs <- msg:
				case <-gctx.Done():
					return
				}
			}
		}()
	}
	defer wg.Wait()
	defer cancel()

	tick := time.NewTicker(m.CheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-tick.C:
			// Idle check: a flush, a lost bucket or another writer's rebuild
			// replaces the generation; reopen to rebuild or resume.
			if err := w.Verify(ctx); err != nil {
				return m.classify(err)
			}
		case first := <-msgs:
			batch := []kafka.Message{first}
		more:
			for len(batch) < m.MaxBatch {
				select {
				case msg := <-msgs:
					batch = append(batch, msg)
				default:
					break more
				}
			}
			if err := m.apply(ctx, w, batch); err != nil {
				return m.classify(err)
			}
		}
	}
}

func (m *Materializer) classify(err error) error {
	if errors.Is(err, consentstore.ErrGenerationLost) || errors.Is(err, consentstore.ErrPositionGap) {
		m.Logger.Warn("consent store lost its state; rebuilding from the start of the topic", zap.Error(err))
		return fmt.Errorf("%w: %v", errReopen, err)
	}
	return err
}

// apply decodes a batch and applies it; undecodable or foreign records only
// advance the positions (a consent change that cannot be read cannot be applied,
// and the topic is the truth: it is logged and counted, never guessed at).
// The erasure requests the batch calls for are appended to the topic first,
// so a crash can repeat them (harmless) but never lose them.
func (m *Materializer) apply(ctx context.Context, w *consentstore.Writer, batch []kafka.Message) error {
	changes := make([]consentstore.Change, 0, len(batch))
	var hist []history.Item
	next := map[int]int64{}
	skip := func(msg kafka.Message, reason string, err error) {
		m.Metrics.Skipped.WithLabelValues(reason).Inc()
		m.Logger.Error("consent change skipped", zap.String("reason", reason), zap.Int("partition", msg.Partition), zap.Int64("offset", msg.Offset), zap.Error(err))
	}
	for _, msg := range batch {
		next[msg.Partition] = max(next[msg.Partition], msg.Offset+1)
		if msg.Value == nil {
			m.Metrics.Skipped.WithLabelValues("tombstone").Inc()
			continue
		}
		c, err := stream.DecodeSafely(ctx, m.Codec, msg.Value) // a decoder panic is permanent: skipped
		if err != nil {
			if !stream.Permanent(err) {
				return err // the registry is down: apply nothing, try again
			}
			skip(msg, "undecodable", err)
			continue
		}
		cs, reason, err := Decode(&c, msg.Partition, msg.Offset)
		if err != nil {
			skip(msg, reason, err)
			continue
		}
		changes = append(changes, cs...)
		if m.History != nil {
			for _, ch := range cs {
				if ch.Link == nil {
					hist = append(hist, history.Item{Subject: ch.Subject, Entry: history.Entry{Purpose: ch.Purpose, Status: string(ch.Status),
						EffectiveAt: ch.EffectiveAt, Source: c.Source, PolicyVersion: c.PolicyVersion, Version: fmt.Sprintf("%d:%d", ch.Partition, ch.Offset), Imported: ch.Imported}})
				}
			}
		}
	}
	if err := m.requestErasures(ctx, changes); err != nil {
		return err
	}
	if err := w.ApplyTo(ctx, changes, next); err != nil {
		return err
	}
	m.Metrics.Applied.Add(float64(len(changes)))
	if m.History != nil {
		// After the state: a lost write leaves the state right and the list short.
		if err := m.History.Add(ctx, hist); err != nil {
			m.Logger.Warn("consent history not recorded (the privacy centre's list of choices misses these)", zap.Int("changes", len(hist)), zap.Error(err))
		}
	}
	return nil
}

// Decode turns one consent.changes record into the store changes it makes:
// a consent change of each subject it applies to (pkg/identity.Applies:
// one, or for a legacy record with a tenant that tenant's user and anonymous
// id), or a link. ERASE records change nothing. reason names a refusal for
// the skipped metric.
func Decode(c *schema.ConsentChange, partition int, offset int64) ([]consentstore.Change, string, error) {
	switch c.Status {
	case schema.StatusErase:
		return nil, "", nil
	case schema.StatusLinked:
		l, err := identity.LinkOf(c)
		if err != nil {
			return nil, "invalid", err
		}
		return []consentstore.Change{{Link: &l, TenantID: c.TenantID, EffectiveAt: c.EffectiveAt, Partition: partition, Offset: offset}}, "", nil
	}
	subjects, err := identity.Applies(c)
	if err != nil {
		return nil, "invalid", err
	}
	out := make([]consentstore.Change, 0, len(subjects))
	for _, s := range subjects {
		ch := consentstore.Change{
			Subject: s, TenantID: c.TenantID, Purpose: c.Purpose, Status: decision.Status(c.Status),
			Imported: c.Imported, EffectiveAt: c.EffectiveAt, Partition: partition, Offset: offset,
		}
		if err := ch.Validate(); err != nil {
			return nil, "invalid", err
		}
		out = append(out, ch)
	}
	return out, "", nil
}

// requestErasures derives the batch's erasure requests (erasureIntents) from
// the stored state of its subjects and appends them to the topic.
func (m *Materializer) requestErasures(ctx context.Context, changes []consentstore.Change) error {
	if m.Changes == nil || m.Purpose == "" || m.Store.LinkPurpose() != m.Purpose {
		return nil
	}
	seen := map[identity.Subject]bool{}
	var refs []identity.Subject
	add := func(s identity.Subject) {
		if !seen[s] {
			seen[s] = true
			refs = append(refs, s)
		}
	}
	for _, c := range changes {
		switch {
		case c.Link != nil:
			add(c.Link.A)
			add(c.Link.B)
		case c.Purpose == m.Purpose && c.Status == decision.Denied:
			add(c.Subject)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	state, err := m.Store.Peek(ctx, m.Purpose, refs)
	if err != nil {
		return fmt.Errorf("read state for erasure requests: %w", err)
	}
	intents := erasureIntents(m.Purpose, changes, state)
	if len(intents) == 0 {
		return nil
	}
	recs := make([]stream.Record, 0, len(intents))
	for _, in := range intents {
		ch := identity.EraseChange(in.Subject, m.Purpose, in.Trigger, in.At)
		key, route, err := identity.KeyOf(&ch)
		if err != nil {
			return fmt.Errorf("erasure request: %w", err)
		}
		b, err := m.Codec.Encode(&ch)
		if err != nil {
			return fmt.Errorf("encode erasure request: %w", err)
		}
		recs = append(recs, stream.Record{Key: []byte(key), Route: []byte(route), Value: b})
	}
	if _, err := m.Changes.Append(ctx, recs...); err != nil {
		return fmt.Errorf("append %d erasure requests: %w", len(recs), err)
	}
	m.Metrics.Erasures.Add(float64(len(recs)))
	return nil
}
