package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go"
)

// Handler turns a fetched batch into the records to write. It neither writes nor
// commits: Loop writes the returned records with acks=all and only then counts
// the batch's inputs as delivered.
//
// Failures:
//   - A record the handler cannot process is reported in a *BatchError (Add) and
//     the records of the others are returned as usual. Permanent (the one
//     classifier) decides: a poison record goes to the dead-letter topic with the
//     error as its reason and the rest of the batch is delivered; if any reported
//     failure is transient, nothing of the batch is written and the handler is
//     called again with the same batch after a backoff.
//   - Any other error concerns the whole batch: transient (consent state not
//     trustworthy, a dependency down) → nothing written, the same batch again
//     after a backoff; permanent → the loop stops and returns it.
//
// A handler must be safe to call again with the same batch after it returned an
// error. By default a record is delivered once the handler's outputs (and its
// dead letter, if any) are acknowledged by Kafka; a handler that makes its input
// durable later itself uses Acks (see Loop.Acks).
type Handler func(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error)

// Failure is one record of a batch the handler could not process.
type Failure struct {
	// Index is the record's position in the batch.
	Index int
	// Reason is a short, fixed label (metrics, logs): "decode", "invalid", ….
	Reason string
	// Err is why; it becomes the dead letter's error header, so it must not carry
	// payload data.
	Err error
}

// BatchError reports the records of a batch that failed, so that the others can
// still be delivered (Benthos' BatchError, Watermill's poison queue).
type BatchError struct {
	Failures []Failure
}

// Add records that the record at index failed for reason (see Failure).
func (e *BatchError) Add(index int, reason string, err error) {
	e.Failures = append(e.Failures, Failure{Index: index, Reason: reason, Err: err})
}

// Err returns e when it holds failures and nil otherwise, so that a handler can
// end with `return out, failed.Err()`.
func (e *BatchError) Err() error {
	if e == nil || len(e.Failures) == 0 {
		return nil
	}
	return e
}

// Transient returns the first failure that retrying can fix (Permanent false), if
// any: then the batch must be tried again as a whole.
func (e *BatchError) Transient() (Failure, bool) {
	for _, f := range e.Failures {
		if !Permanent(f.Err) {
			return f, true
		}
	}
	return Failure{}, false
}

func (e *BatchError) Error() string {
	parts := make([]string, 0, min(len(e.Failures), 3))
	for i, f := range e.Failures {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Failures)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("record %d: %s: %v", f.Index, f.Reason, f.Err))
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the failures' errors, so that errors.Is and errors.As see them.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// asBatchError returns err's BatchError, if it is one.
func asBatchError(err error) (*BatchError, bool) {
	var be *BatchError
	ok := errors.As(err, &be)
	return be, ok
}
