package datasetsink

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// retrier paces the retries of one failing Kafka step (a fetch or commit loop):
// the wait starts at the sink's retryMin and doubles up to retryMax. It logs once
// at warn when the step starts failing and once at info when it succeeds again,
// and counts each retry in dataset_sink_kafka_retries_total{step}. Not safe for
// concurrent use: one per loop and step.
type retrier struct {
	step     string
	min, max time.Duration
	log      *zap.Logger
	m        *metrics

	wait     time.Duration
	since    time.Time
	attempts int
}

func (s *Sink) newRetrier(step string) *retrier {
	return &retrier{step: step, min: s.retryMin, max: s.retryMax, log: s.log, m: s.m}
}

// failed records a failure and waits before the next attempt; it returns false
// when ctx ended first.
func (r *retrier) failed(ctx context.Context, err error) bool {
	if r.since.IsZero() {
		r.since, r.wait, r.attempts = time.Now(), r.min, 0
		r.log.Warn("kafka step failing; retrying with backoff", zap.String("step", r.step),
			zap.Duration("backoff_max", r.max), zap.Error(err))
	}
	r.attempts++
	r.m.kafkaRetries.WithLabelValues(r.step).Inc()
	t := time.NewTimer(r.wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	r.wait = min(2*r.wait, r.max)
	return true
}

// ok records a success, logging the recovery if the step was failing.
func (r *retrier) ok() {
	if r.since.IsZero() {
		return
	}
	r.log.Info("kafka step recovered", zap.String("step", r.step),
		zap.Duration("after", time.Since(r.since)), zap.Int("retries", r.attempts))
	r.since = time.Time{}
}
