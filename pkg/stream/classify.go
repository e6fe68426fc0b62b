package stream

import (
	"context"
	"errors"

	"github.com/consentflow/consentflow/pkg/avro"
)

// transientError marks an error that retrying can fix.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// Transient marks err as one that retrying can fix: a dependency is unavailable
// (Redis down, consent state not complete yet), not the record. Transient(nil) is
// nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// Permanent is consentflow's one classifier of failures: it reports whether
// retrying cannot fix err. It is false for errors marked with Transient, for the
// schema registry being unreachable (avro.ErrRegistryUnavailable: network errors,
// timeouts and 5xx of the registry are wrapped in it, its 4xx answers are not),
// and for a cancelled or expired context; true for everything else.
//
// The loop applies it to every failure a handler reports. For one record (a
// BatchError) permanent means poison: the record goes to the dead-letter topic
// and the rest of the batch is delivered; transient means the whole batch is
// tried again later. For a whole batch (any other error) transient means the
// batch is tried again later and permanent means the stage cannot continue: the
// loop stops and returns the error.
func Permanent(err error) bool {
	var t transientError
	switch {
	case err == nil:
		return false
	case errors.As(err, &t),
		errors.Is(err, avro.ErrRegistryUnavailable),
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return true
}
