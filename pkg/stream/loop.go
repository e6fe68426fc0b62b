package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Fetcher is the consuming side of Loop (a *kafka.Reader of a consumer group).
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// MessageWriter is the producing side of Loop (a *kafka.Writer from NewWriter,
// which returns only once every record is acknowledged by all in-sync replicas).
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Loop is the delivery loop every stage runs: fetch a batch, hand it to the
// handler, write its outputs and dead letters with acks=all, and commit, per
// partition, the offsets of the records that are done — written, and
// acknowledged by the handler when it defers acknowledgement (Acks). A crash at
// any point redelivers rather than loses (at-least-once; consumers dedupe by
// event id). Its delivery policy is in one place: retries with backoff (retry.go),
// poison records to the dead-letter topic through one classifier (poison.go,
// classify.go), metrics (metrics.go).
type Loop struct {
	// Name is the stage: the metrics label and the dead letters' stage header.
	Name    string
	Reader  Fetcher
	Writer  MessageWriter
	Handler Handler
	Logger  *zap.Logger
	Metrics *Metrics

	// DLQ is the dead-letter topic of poison records. Empty: a poison record
	// stops the loop.
	DLQ string
	// Acks, when set, defers acknowledgement to the handler: a record is
	// committed only once acknowledged through Acks, as well as written. Nil:
	// every record is done once its outputs are written.
	Acks *Acks
	// Drain, when set, is called once when the loop stops (fetching stopped, the
	// batch in flight delivered), before the final commit: a handler that defers
	// acknowledgement makes what it holds durable and acknowledges it here. It
	// gets the drain context (DrainTimeout).
	Drain func(ctx context.Context) error

	// MaxBatch bounds a batch (default 500); Linger is how long to wait for more
	// records once the first has arrived (default 20ms).
	MaxBatch int
	Linger   time.Duration
	// Backoff paces the retries of every step (default DefaultBackoff).
	Backoff Backoff
	// DrainTimeout bounds delivering the batch in flight and Drain after ctx is
	// cancelled (default 15s).
	DrainTimeout time.Duration

	// OnBlocked, if set, is told whether the loop is blocked retrying a batch
	// (true, with the reason) or flowing again (false); services use it for
	// readiness. It is told "blocked" only once a batch has been blocked for
	// BlockedGrace (default 0), so that waits of a few milliseconds do not flap
	// readiness.
	OnBlocked    func(blocked bool, reason error)
	BlockedGrace time.Duration

	once     sync.Once
	handler  Handler
	acks     *Acks
	commitMu sync.Mutex
}

// Commit retries: one attempt is bounded by commitAttemptTimeout (a synchronous
// kafka-go commit waits for the group's next generation while the broker is
// away) and a commit is abandoned after maxCommitAttempts.
const (
	maxCommitAttempts    = 8
	commitAttemptTimeout = 10 * time.Second
)

// blockedWarnAfter is how long a batch may stay blocked before it is logged as a
// warning: short blocks are normal (the filter waits for the materializer to
// apply a change it has just seen); long ones deserve attention.
const blockedWarnAfter = 2 * time.Second

func (l *Loop) init() {
	if l.MaxBatch <= 0 {
		l.MaxBatch = 500
	}
	if l.Linger <= 0 {
		l.Linger = 20 * time.Millisecond
	}
	l.Backoff = l.Backoff.orDefault()
	if l.DrainTimeout <= 0 {
		l.DrainTimeout = 15 * time.Second
	}
	if l.Logger == nil {
		l.Logger = zap.NewNop()
	}
	if l.Metrics == nil {
		l.Metrics = NewMetrics(nil)
	}
	l.acks = l.Acks
	if l.acks == nil {
		l.acks = newAcks(false)
	}
	l.handler = Poison(l.DLQ, l.Name, l.Metrics, l.Logger)(l.Handler)
}

// Run loops until ctx is cancelled, then stops fetching, delivers the batch in
// flight, calls Drain, commits what is done (all bounded by DrainTimeout) and
// returns nil. Fetch errors (broker down, rebalancing) are retried with backoff:
// a stage outlives a broker restart. It returns an error only when the handler
// fails permanently (see Handler) or a write cannot finish before the drain
// deadline.
func (l *Loop) Run(ctx context.Context) error {
	l.once.Do(l.init)
	var wg sync.WaitGroup
	if l.Acks != nil {
		// Acknowledgements arrive between batches (a file published on a timer):
		// commit them as they come.
		cctx, stop := context.WithCancel(ctx)
		defer func() { stop(); wg.Wait() }()
		wg.Add(1)
		go func() { defer wg.Done(); l.commitOnAck(cctx) }()
	}
	err := l.consume(ctx)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.DrainTimeout)
	defer cancel()
	if l.Drain != nil {
		if derr := l.Drain(dctx); derr != nil {
			err = errors.Join(err, fmt.Errorf("%s: drain: %w", l.Name, derr))
		}
	}
	l.commit(dctx)
	return err
}

// consume fetches and delivers batches until ctx is cancelled or a batch fails
// for good.
func (l *Loop) consume(ctx context.Context) error {
	fetch := l.retry("fetch", nil)
	for {
		var batch []kafka.Message
		err := fetch.Do(ctx, func() error {
			var err error
			batch, err = l.fetch(ctx)
			return err
		})
		if err != nil {
			return nil // only ctx ends fetch retries
		}
		start := time.Now()
		l.Metrics.In.WithLabelValues(l.Name).Add(float64(len(batch)))
		l.acks.fetched(batch)
		if err := l.deliver(ctx, batch); err != nil {
			if ctx.Err() != nil && !errors.Is(err, errFatal) {
				l.Logger.Warn("stopped with a batch not delivered; it will be redelivered",
					zap.Int("records", len(batch)), zap.Error(err))
				return nil
			}
			return err
		}
		l.commit(ctx)
		l.Metrics.Batch.WithLabelValues(l.Name).Observe(time.Since(start).Seconds())
	}
}

// errFatal marks a handler failure that ends the loop.
var errFatal = errors.New("stage stopped")

// deliver hands the batch to the handler and writes what it returns, retrying
// each step with backoff. Handling is retried only while ctx lives; once outputs
// exist they are written even if ctx is cancelled meanwhile, bounded by
// DrainTimeout.
func (l *Loop) deliver(ctx context.Context, batch []kafka.Message) error {
	drain, cancel := drainContext(ctx, l.DrainTimeout)
	defer cancel()
	var out []kafka.Message
	err := l.retry("handle", Permanent).Do(ctx, func() error {
		var err error
		out, err = l.handler(drain, batch)
		return err
	})
	if err != nil {
		if Permanent(err) {
			return fmt.Errorf("%w: %s: %w", errFatal, l.Name, err)
		}
		return err
	}
	if len(out) > 0 {
		err = l.retry("write", nil).Do(drain, func() error { return l.Writer.WriteMessages(drain, out...) })
		if err != nil {
			return fmt.Errorf("%s: write: %w", l.Name, err)
		}
		for _, m := range out {
			l.Metrics.Out.WithLabelValues(l.Name, m.Topic).Inc()
		}
	}
	l.acks.written(batch)
	return nil
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
			break // linger over, shutting down, or a fetch error: deliver what we have
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// Commit commits now, per partition, every record that is done (delivered and,
// with Acks, acknowledged). A handler that defers acknowledgement calls it when
// it must know its acknowledgements are committed (a flush); the loop commits by
// itself otherwise. Safe to call while Run runs.
func (l *Loop) Commit(ctx context.Context) error {
	l.once.Do(l.init)
	return l.commit(ctx)
}

// commit commits the commit points, retrying failures a bounded number of times.
// Giving up is safe: a commit fails for good when a rebalance took the partition
// away, and its new owner redelivers from the last commit (consumers dedupe); a
// later commit of the partition covers these offsets anyway.
func (l *Loop) commit(ctx context.Context) error {
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	points := l.acks.commitPoints()
	if len(points) == 0 {
		return nil
	}
	r := l.retry("commit", nil)
	r.MaxAttempts = maxCommitAttempts
	err := r.Do(ctx, func() error {
		actx, cancel := context.WithTimeout(ctx, commitAttemptTimeout)
		defer cancel()
		return l.Reader.CommitMessages(actx, points...)
	})
	switch {
	case err == nil:
		l.acks.committed(points)
	case ctx.Err() != nil:
		l.Logger.Info("stopped with offsets not committed; they will be redelivered", zap.Error(err))
	default:
		l.Logger.Warn("commit abandoned; the records will be redelivered, or committed with later ones",
			zap.Int("attempts", maxCommitAttempts), zap.Error(err))
	}
	return err
}

// commitOnAck commits whenever the handler acknowledged something, until ctx
// ends.
func (l *Loop) commitOnAck(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.acks.notify:
			l.commit(ctx)
		}
	}
}

// retry is the retry policy of one step: the loop's backoff, a metric per
// retry, logs when the step starts failing (fetch and commit at once; a blocked
// batch after blockedWarnAfter) and when it recovers, and OnBlocked for the
// batch steps.
func (l *Loop) retry(step string, stop func(error) bool) Retry {
	batchStep := step == "handle" || step == "write"
	warned := false
	return Retry{
		Backoff: l.Backoff,
		Stop:    stop,
		Failed: func(err error, failures int, since time.Time) {
			l.Metrics.Retries.WithLabelValues(l.Name, step).Inc()
			switch {
			case !batchStep && failures == 1:
				warned = true
				l.Logger.Warn("kafka step failing; retrying with backoff", zap.String("step", step), zap.Error(err))
			case batchStep && failures == 1:
				l.Logger.Debug("batch blocked; retrying", zap.String("step", step), zap.Error(err))
			case batchStep && !warned && time.Since(since) > blockedWarnAfter:
				warned = true
				l.Logger.Warn("batch blocked; retrying", zap.String("step", step), zap.Duration("blocked", time.Since(since)), zap.Error(err))
			}
			if batchStep && l.OnBlocked != nil && time.Since(since) >= l.BlockedGrace {
				l.OnBlocked(true, err)
			}
		},
		Recovered: func(failures int, since time.Time) {
			if warned {
				warned = false
				l.Logger.Info("step recovered", zap.String("step", step), zap.Duration("after", time.Since(since)), zap.Int("retries", failures))
			}
			if batchStep && l.OnBlocked != nil {
				l.OnBlocked(false, nil)
			}
		},
	}
}
