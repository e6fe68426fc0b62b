// Package streamtest has in-memory stand-ins for both sides of stream.Loop — a
// consumer-group reader and an acks=all writer — for tests of the loop and of
// stage handlers on it.
package streamtest

import (
	"context"
	"sync"

	"github.com/segmentio/kafka-go"
)

// Reader serves its records once each, in order, then blocks until the fetch's
// context ends. It records commits per partition.
type Reader struct {
	// BeforeCommit, when set, sees every commit before it is recorded: a test
	// checks there what must hold when offsets are committed.
	BeforeCommit func(msgs []kafka.Message)

	mu        sync.Mutex
	msgs      []kafka.Message
	committed map[int]int64
}

// NewReader returns a reader of msgs.
func NewReader(msgs ...kafka.Message) *Reader {
	return &Reader{msgs: msgs, committed: map[int]int64{}}
}

// FetchMessage returns the next record, or waits for ctx when there is none.
func (r *Reader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	r.mu.Lock()
	if len(r.msgs) > 0 {
		m := r.msgs[0]
		r.msgs = r.msgs[1:]
		r.mu.Unlock()
		return m, nil
	}
	r.mu.Unlock()
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

// CommitMessages records, per partition, the offset after each message.
func (r *Reader) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	if r.BeforeCommit != nil {
		r.BeforeCommit(msgs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.committed[m.Partition] = m.Offset + 1
	}
	return nil
}

// Committed returns the next offset committed on partition (0: none).
func (r *Reader) Committed(partition int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.committed[partition]
}

// Writer records what it writes, as an acks=all writer that returned nil would
// have written it.
type Writer struct {
	// Fail, when set, decides whether a write fails (nothing is recorded then).
	Fail func(msgs []kafka.Message) error
	// OnWrite, when set, sees every write that succeeded.
	OnWrite func(msgs []kafka.Message)

	mu   sync.Mutex
	msgs []kafka.Message
}

// WriteMessages records msgs unless Fail says otherwise.
func (w *Writer) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.Fail != nil {
		if err := w.Fail(msgs); err != nil {
			return err
		}
	}
	w.msgs = append(w.msgs, msgs...)
	if w.OnWrite != nil {
		w.OnWrite(msgs)
	}
	return nil
}

// Written returns every record written so far.
func (w *Writer) Written() []kafka.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]kafka.Message(nil), w.msgs...)
}
