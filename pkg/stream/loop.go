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
	// Pipeline is how many handled batches may wait for their write while the
	// loop fetches and handles the next ones (0: none — fetch, handle, write and
	// commit one batch at a time). A stage that waits on round trips (Redis,
	// Kafka) overlaps them with the write of the batch before. The handler is
	// still called for one batch at a time, in fetch order; outputs are still
	// written one batch at a time, in fetch order (so per partition in offset
	// order); a record is still committed only once its outputs are written;
	// commits run beside the writes, covering every write done so far. When a
	// write fails for good, the batches handled after it are not written (they
	// are redelivered, as it is).
	Pipeline int

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
		l.MaxBatch = DefaultMaxBatch
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
	if l.Acks != nil || l.Pipeline > 0 {
		// Acknowledgements arrive between batches (a file published on a timer),
		// or the pipelined writer signals each write: commit as they come.
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
	if l.Pipeline > 0 {
		return l.consumePipelined(ctx)
	}
	fetch := l.retry("fetch", nil)
	for {
		batch, start, ok := l.next(ctx, fetch)
		if !ok {
			return nil
		}
		if err := l.deliver(ctx, batch); err != nil {
			return l.undelivered(ctx, batch, err)
		}
		l.commit(ctx)
		l.Metrics.Batch.WithLabelValues(l.Name).Observe(time.Since(start).Seconds())
	}
}

// next fetches the next batch, retrying until ctx ends (ok false), and counts
// it in.
func (l *Loop) next(ctx context.Context, fetch Retry) (batch []kafka.Message, start time.Time, ok bool) {
	err := fetch.Do(ctx, func() error {
		var err error
		batch, err = l.fetch(ctx)
		return err
	})
	if err != nil {
		return nil, time.Time{}, false // only ctx ends fetch retries
	}
	l.Metrics.In.WithLabelValues(l.Name).Add(float64(len(batch)))
	l.acks.fetched(batch)
	return batch, time.Now(), true
}

// undelivered is what the loop returns when batch failed with err: nil when
// the loop is stopping and the failure is not fatal (the batch is redelivered),
// err otherwise.
func (l *Loop) undelivered(ctx context.Context, batch []kafka.Message, err error) error {
	if ctx.Err() != nil && !errors.Is(err, errFatal) {
		l.Logger.Warn("stopped with a batch not delivered; it will be redelivered",
			zap.Int("records", len(batch)), zap.Error(err))
		return nil
	}
	return err
}

// handledBatch is a batch the handler is done with, waiting for its write.
type handledBatch struct {
	batch, out []kafka.Message
	start      time.Time
}

// consumePipelined is consume with Pipeline batches handled ahead of their
// write: this goroutine writes, in fetch order, what handleAhead hands over;
// commits run in commitOnAck, signalled after each write.
func (l *Loop) consumePipelined(ctx context.Context) error {
	hctx, stopHandling := context.WithCancel(ctx)
	defer stopHandling()
	queue := make(chan handledBatch, l.Pipeline)
	handled := make(chan error, 1)
	go func() {
		defer close(queue)
		handled <- l.handleAhead(hctx, queue)
	}()
	// One drain for every write: once ctx is done, the batches already handled
	// get DrainTimeout in all to be written.
	drain, cancel := drainContext(ctx, l.DrainTimeout)
	defer cancel()
	var failed error
	for h := range queue {
		if failed != nil {
			continue // not written, not committed: redelivered
		}
		if err := l.write(drain, h.batch, h.out); err != nil {
			failed = err
			stopHandling()
			l.Logger.Warn("stopped with handled batches not written; they will be redelivered",
				zap.Int("records", len(h.batch)), zap.Error(err))
			continue
		}
		l.acks.signal()
		l.Metrics.Batch.WithLabelValues(l.Name).Observe(time.Since(h.start).Seconds())
	}
	herr := <-handled
	if failed != nil {
		if ctx.Err() != nil {
			return nil
		}
		return failed
	}
	return herr
}

// handleAhead fetches and handles batches and queues them for their write,
// until ctx ends or a batch fails for good (consume's first half).
func (l *Loop) handleAhead(ctx context.Context, queue chan<- handledBatch) error {
	fetch := l.retry("fetch", nil)
	for {
		batch, start, ok := l.next(ctx, fetch)
		if !ok {
			return nil
		}
		drain, cancel := drainContext(ctx, l.DrainTimeout)
		out, err := l.handle(ctx, drain, batch)
		cancel()
		if err != nil {
			return l.undelivered(ctx, batch, err)
		}
		select {
		case queue <- handledBatch{batch: batch, out: out, start: start}:
		case <-ctx.Done():
			// Stopping: this batch is handled, so it is written with the
			// others (the writer drains the queue) unless a write failed.
			queue <- handledBatch{batch: batch, out: out, start: start}
			return nil
		}
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
	out, err := l.handle(ctx, drain, batch)
	if err != nil {
		return err
	}
	return l.write(drain, batch, out)
}

// handle hands the batch to the handler, retrying transient failures while ctx
// lives; the handler gets drain.
func (l *Loop) handle(ctx, drain context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	var out []kafka.Message
	err := l.retry("handle", Permanent).Do(ctx, func() error {
		var err error
		out, err = l.handler(drain, batch)
		return err
	})
	if err != nil {
		if Permanent(err) {
			return nil, fmt.Errorf("%w: %s: %w", errFatal, l.Name, err)
		}
		return nil, err
	}
	return out, nil
}

// write writes a handled batch's outputs, retrying until drain ends, and marks
// its records written.
func (l *Loop) write(drain context.Context, batch, out []kafka.Message) error {
	if len(out) > 0 {
		err := l.retry("write", nil).Do(drain, func() error { return l.Writer.WriteMessages(drain, out...) })
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
