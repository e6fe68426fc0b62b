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
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
)

// Materializer keeps the consent store in step with consent.changes.
type Materializer struct {
	Brokers []string
	Topic   string
	Store   *consentstore.Store
	Codec   *avro.Codec[schema.ConsentChange]
	Logger  *zap.Logger
	Metrics *Metrics

	// CheckInterval is how often the generation is checked while idle, so that a
	// flush is noticed without new changes (default 250ms).
	CheckInterval time.Duration
	// MaxBatch bounds the changes applied in one script round (default 500).
	MaxBatch int
}

// Metrics of the materializer.
type Metrics struct {
	Applied  prometheus.Counter
	Rebuilds prometheus.Counter
	Skipped  *prometheus.CounterVec
}

// NewMetrics registers the materializer metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Applied:  prometheus.NewCounter(prometheus.CounterOpts{Name: "consentflow_materializer_applied_total", Help: "Consent changes applied to Redis (replays included)."}),
		Rebuilds: prometheus.NewCounter(prometheus.CounterOpts{Name: "consentflow_materializer_generations_total", Help: "Writer generations opened (a rebuild from the start of the topic when Redis lost its state)."}),
		Skipped:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_materializer_skipped_total", Help: "consent.changes records not applied, by reason."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.Applied, m.Rebuilds, m.Skipped)
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
	ends, err := stream.EndOffsets(ctx, m.Brokers, m.Topic)
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
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: m.Brokers, Topic: m.Topic, Partition: p, MinBytes: 1, MaxBytes: 8 << 20,
			MaxWait: 100 * time.Millisecond, ReadBackoffMin: 20 * time.Millisecond, ReadBackoffMax: 200 * time.Millisecond,
		})
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
func (m *Materializer) apply(ctx context.Context, w *consentstore.Writer, batch []kafka.Message) error {
	changes := make([]consentstore.Change, 0, len(batch))
	next := map[int]int64{}
	for _, msg := range batch {
		next[msg.Partition] = max(next[msg.Partition], msg.Offset+1)
		if msg.Value == nil {
			m.Metrics.Skipped.WithLabelValues("tombstone").Inc()
			continue
		}
		c, err := m.Codec.Decode(ctx, msg.Value)
		if err != nil {
			if !stream.Permanent(err) {
				return err // the registry is down: apply nothing, try again
			}
			m.Metrics.Skipped.WithLabelValues("undecodable").Inc()
			m.Logger.Error("undecodable consent change skipped", zap.Int("partition", msg.Partition), zap.Int64("offset", msg.Offset), zap.Error(err))
			continue
		}
		st, err := consentstore.ParseSubjectType(c.SubjectType)
		if err != nil {
			m.Metrics.Skipped.WithLabelValues("invalid").Inc()
			m.Logger.Error("invalid consent change skipped", zap.Int("partition", msg.Partition), zap.Int64("offset", msg.Offset), zap.Error(err))
			continue
		}
		ch := consentstore.Change{
			SubjectType: st, SubjectID: c.SubjectID, TenantID: c.TenantID, Purpose: c.Purpose,
			Status: decision.Status(c.Status), EffectiveAt: c.EffectiveAt, Partition: msg.Partition, Offset: msg.Offset,
		}
		if err := ch.Validate(); err != nil {
			m.Metrics.Skipped.WithLabelValues("invalid").Inc()
			m.Logger.Error("invalid consent change skipped", zap.Int("partition", msg.Partition), zap.Int64("offset", msg.Offset), zap.Error(err))
			continue
		}
		changes = append(changes, ch)
	}
	if err := w.ApplyTo(ctx, changes, next); err != nil {
		return err
	}
	m.Metrics.Applied.Add(float64(len(changes)))
	return nil
}
