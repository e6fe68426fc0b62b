package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Handler turns a fetched batch into the messages to write. It must not write or
// commit itself. Returning an error means the batch could not be processed now
// (for example, consent state is unavailable): Loop writes nothing, commits
// nothing, backs off and calls the handler again with the same batch. A record that
// can never be processed is not an error: the handler returns a DeadLetter for it.
type Handler func(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error)

// Fetcher is the consuming side of Loop (a *kafka.Reader).
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// MessageWriter is the producing side of Loop (a *kafka.Writer).
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Loop is the consume → process → produce → commit cycle of a stage. Offsets are
// committed only after every output of the batch is acknowledged, so a crash at
// any point redelivers rather than loses (at-least-once; downstream dedupes by
// event id).
type Loop struct {
	Name    string
	Reader  Fetcher
	Writer  MessageWriter
	Handler Handler
	Logger  *zap.Logger

	// MaxBatch bounds a batch (default 500); Linger is how long to wait for more
	// records once the first has arrived (default 20ms).
	MaxBatch int
	Linger   time.Duration
	// RetryMin/RetryMax bound the backoff when the handler or a write fails
	// (defaults 100ms and 5s).
	RetryMin, RetryMax time.Duration
	// DrainTimeout bounds finishing the in-flight batch after ctx is cancelled
	// (default 15s).
	DrainTimeout time.Duration

	// OnBlocked, if set, is told whether the loop is blocked retrying (true) or
	// flowing (false), with the reason; services use it for readiness. It is told
	// "blocked" only once a batch has been blocked for BlockedGrace (default 0), so
	// that waits of a few milliseconds do not flap readiness.
	OnBlocked    func(blocked bool, reason error)
	BlockedGrace time.Duration

	Metrics *LoopMetrics
}

// LoopMetrics are the counters of a Loop; register them once per process.
type LoopMetrics struct {
	In      *prometheus.CounterVec
	Out     *prometheus.CounterVec
	Retries *prometheus.CounterVec
	Batch   *prometheus.HistogramVec
}

// NewLoopMetrics registers the loop metrics with reg (labels: stage).
func NewLoopMetrics(reg prometheus.Registerer) *LoopMetrics {
	m := &LoopMetrics{
		In:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_stage_records_in_total", Help: "Records fetched by a stage."}, []string{"stage"}),
		Out:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_stage_records_out_total", Help: "Records written by a stage, by topic."}, []string{"stage", "topic"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_stage_retries_total", Help: "Batches retried because processing or writing failed."}, []string{"stage", "step"}),
		Batch:   prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "consentflow_stage_batch_seconds", Help: "Time from fetch of a batch's first record to its commit.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"stage"}),
	}
	if reg != nil {
		reg.MustRegister(m.In, m.Out, m.Retries, m.Batch)
	}
	return m
}

func (l *Loop) defaults() {
	if l.MaxBatch <= 0 {
		l.MaxBatch = 500
	}
	if l.Linger <= 0 {
		l.Linger = 20 * time.Millisecond
	}
	if l.RetryMin <= 0 {
		l.RetryMin = 100 * time.Millisecond
	}
	if l.RetryMax <= 0 {
		l.RetryMax = 5 * time.Second
	}
	if l.DrainTimeout <= 0 {
		l.DrainTimeout = 15 * time.Second
	}
	if l.Logger == nil {
		l.Logger = zap.NewNop()
	}
	if l.Metrics == nil {
		l.Metrics = NewLoopMetrics(nil)
	}
}

const maxCommitAttempts = 8

// Run loops until ctx is cancelled. On cancellation it stops fetching, finishes the
// batch in flight (write and commit, bounded by DrainTimeout) and returns nil.
// Fetch errors (broker down, rebalancing) are retried with backoff: a stage
// outlives a broker restart.
func (l *Loop) Run(ctx context.Context) error {
	l.defaults()
	fetchBackoff := l.RetryMin
	var fetchFailingSince time.Time
	for {
		batch, err := l.fetch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The broker is down or restarting, or the group is rebalancing:
			// kafka-go's reader recovers by itself, so wait and fetch again.
			if fetchFailingSince.IsZero() {
				fetchFailingSince = time.Now()
				l.Logger.Warn("fetch failing; retrying", zap.Error(err))
			}
			l.Metrics.Retries.WithLabelValues(l.Name, "fetch").Inc()
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(fetchBackoff):
			}
			fetchBackoff = min(fetchBackoff*2, l.RetryMax)
			continue
		}
		if !fetchFailingSince.IsZero() {
			l.Logger.Info("fetch recovered", zap.Duration("after", time.Since(fetchFailingSince)))
			fetchFailingSince, fetchBackoff = time.Time{}, l.RetryMin
		}
		if len(batch) == 0 {
			continue
		}
		start := time.Now()
		l.Metrics.In.WithLabelValues(l.Name).Add(float64(len(batch)))
		// The batch in flight completes even if ctx is cancelled meanwhile.
		drainCtx, cancel := drainContext(ctx, l.DrainTimeout)
		err = l.process(ctx, drainCtx, batch)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				l.Logger.Warn("stopped with a batch not committed; it will be redelivered",
					zap.Int("records", len(batch)), zap.Error(err))
				return nil
			}
			return err
		}
		l.Metrics.Batch.WithLabelValues(l.Name).Observe(time.Since(start).Seconds())
	}
}

// drainContext is not cancelled with parent until timeout after parent is done.
func drainContext(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(timeout, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel() }
}

func (l *Loop) fetch(ctx context.Context) ([]kafka.Message, error) {
	first, err := l.Reader.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := []kafka.Message{first}
	lctx, cancel := context.WithTimeout(ctx, l.Linger)
	defer cancel()
	for len(batch) < l.MaxBatch {
		m, err := l.Reader.FetchMessage(lctx)
		if err != nil {
			if lctx.Err() != nil {
				break // linger over or shutting down: process what we have
			}
			return batch, nil
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// process handles, writes and commits one batch, retrying each step with backoff
// until it succeeds or stop is done. Retrying stops when ctx (the run context) is
// cancelled before the handler has produced outputs; once outputs exist they are
// written and committed under drain.
func (l *Loop) process(ctx, drain context.Context, batch []kafka.Message) error {
	var out []kafka.Message
	err := l.retry(ctx, "handle", func() error {
		var err error
		out, err = l.Handler(drain, batch)
		return err
	})
	if err != nil {
		return err
	}
	if len(out) > 0 {
		err = l.retry(drain, "write", func() error { return l.Writer.WriteMessages(drain, out...) })
		if err != nil {
			return fmt.Errorf("%s: write: %w", l.Name, err)
		}
		for _, m := range out {
			l.Metrics.Out.WithLabelValues(l.Name, m.Topic).Inc()
		}
	}
	// A commit can fail for good when a rebalance took the partitions away; the new
	// owner then redelivers the batch, which is safe (outputs are deduplicated by
	// event id downstream). So commits are retried a bounded number of times.
	attempts := 0
	err = l.retry(drain, "commit", func() error {
		attempts++
		err := l.Reader.CommitMessages(drain, batch...)
		if err != nil && attempts >= maxCommitAttempts {
			l.Logger.Warn("commit abandoned; the batch may be redelivered", zap.Int("records", len(batch)), zap.Error(err))
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: commit: %w", l.Name, err)
	}
	return nil
}

func (l *Loop) retry(ctx context.Context, step string, fn func() error) error {
	backoff := l.RetryMin
	var blockedSince time.Time
	warned := false
	for {
		err := fn()
		if err == nil {
			if !blockedSince.IsZero() {
				if warned {
					l.Logger.Info("batch unblocked", zap.String("step", step), zap.Duration("blocked", time.Since(blockedSince)))
				}
				if l.OnBlocked != nil {
					l.OnBlocked(false, nil)
				}
			}
			return nil
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return err
		}
		l.Metrics.Retries.WithLabelValues(l.Name, step).Inc()
		if blockedSince.IsZero() {
			blockedSince = time.Now()
			l.Logger.Debug("batch blocked; retrying", zap.String("step", step), zap.Error(err))
		} else if !warned && time.Since(blockedSince) > blockedWarnAfter {
			// Short blocks are normal (the filter waits for the materializer to
			// apply a change it has just seen); long ones deserve attention.
			warned = true
			l.Logger.Warn("batch blocked; retrying", zap.String("step", step), zap.Duration("blocked", time.Since(blockedSince)), zap.Error(err))
		}
		if l.OnBlocked != nil && time.Since(blockedSince) >= l.BlockedGrace {
			l.OnBlocked(true, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s gave up: %w (last error: %v)", step, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, l.RetryMax)
	}
}

// blockedWarnAfter is how long a batch may stay blocked before it is logged as a
// warning.
const blockedWarnAfter = 2 * time.Second
