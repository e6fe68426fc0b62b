package stream

import (
	"context"
	"fmt"
	"time"
)

// Backoff is the wait between two attempts of a failing step: Min at first,
// doubling up to Max.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff waits 100 ms at first and at most 5 s.
var DefaultBackoff = Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}

func (b Backoff) orDefault() Backoff {
	if b.Min <= 0 {
		b.Min = DefaultBackoff.Min
	}
	if b.Max < b.Min {
		b.Max = max(DefaultBackoff.Max, b.Min)
	}
	return b
}

// Retry is a retry policy: how long to wait between attempts, which errors end
// the retrying, and whom to tell about failures. The zero value retries every
// error forever with DefaultBackoff.
type Retry struct {
	Backoff Backoff
	// Stop, when set, ends the retrying on the errors it returns true for: Do
	// returns such an error at once.
	Stop func(error) bool
	// MaxAttempts bounds the attempts; after the last one failed, Do returns its
	// error (0: unbounded).
	MaxAttempts int
	// Failed is called after every failed attempt that will be retried, with the
	// number of failures so far and the time of the first.
	Failed func(err error, failures int, since time.Time)
	// Recovered is called when an attempt succeeds after failures.
	Recovered func(failures int, since time.Time)
}

// Do calls fn until it returns nil, an error Stop accepts, MaxAttempts is
// reached, or ctx ends. When ctx ends first Do returns an error that wraps ctx's
// error and names the last failure.
func (r Retry) Do(ctx context.Context, fn func() error) error {
	b := r.Backoff.orDefault()
	wait := b.Min
	var since time.Time
	for failures := 0; ; {
		err := fn()
		if err == nil {
			if failures > 0 && r.Recovered != nil {
				r.Recovered(failures, since)
			}
			return nil
		}
		if r.Stop != nil && r.Stop(err) {
			return err
		}
		failures++
		if failures == 1 {
			since = time.Now()
		}
		if r.MaxAttempts > 0 && failures >= r.MaxAttempts {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
		if r.Failed != nil {
			r.Failed(err, failures, since)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, b.Max)
	}
}
