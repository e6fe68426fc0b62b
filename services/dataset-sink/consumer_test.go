package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/consentflow/consentflow/pkg/schema"
)

// flakyReader is a fake consumer-group reader: its first fetchFails fetches fail
// like a broker restart does (dial errors, then the retriable Group Load In
// Progress), its first commitFails commits fail, then it serves msgs and blocks.
type flakyReader struct {
	mu                      sync.Mutex
	fetchFails, commitFails int
	msgs                    []kafka.Message
	committed               []kafka.Message
	commitCalls             int
}

func (f *flakyReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	f.mu.Lock()
	if f.fetchFails > 0 {
		f.fetchFails--
		f.mu.Unlock()
		if f.fetchFails%2 == 0 {
			return kafka.Message{}, kafka.GroupLoadInProgress
		}
		return kafka.Message{}, errors.New("failed to dial: failed to open connection to 127.0.0.1:9092: connection refused")
	}
	if len(f.msgs) > 0 {
		m := f.msgs[0]
		f.msgs = f.msgs[1:]
		f.mu.Unlock()
		return m, nil
	}
	f.mu.Unlock()
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (f *flakyReader) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commitCalls++
	if f.commitFails > 0 {
		f.commitFails--
		return kafka.RebalanceInProgress
	}
	f.committed = append(f.committed, msgs...)
	return nil
}

func (f *flakyReader) state() (committed []kafka.Message, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]kafka.Message(nil), f.committed...), f.commitCalls
}

// decodeFunc is a fake record decoder.
type decodeFunc[T any] func(b []byte) T

func (d decodeFunc[T]) Decode(_ context.Context, b []byte) (T, error) { return d(b), nil }

// retrySink is a sink over p with millisecond Kafka retries and observed logs.
func retrySink(t *testing.T, p *parts) (*Sink, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(core)
	return &Sink{cfg: testConfig(t.TempDir()), log: log, m: p.m, now: time.Now, store: p.store, ledger: p.ledger,
		writer: p.writer, catalog: p.catalog, dead: &deadLetters{m: p.m, log: log, backoffMin: time.Millisecond, backoffMax: time.Millisecond},
		flushReq: make(chan chan error), kill: make(chan struct{}), retryMin: time.Millisecond, retryMax: 4 * time.Millisecond}, logs
}

// logCount counts the log lines with message msg and field step.
func logCount(logs *observer.ObservedLogs, msg, step string) int {
	n := 0
	for _, e := range logs.FilterMessage(msg).All() {
		if e.ContextMap()["step"] == step {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestErasureLoopSurvivesBrokerRestart: fetches fail (dial errors, Group Load In
// Progress) and commits fail; the loop retries, records every erasure, abandons a
// commit that keeps failing, logs the outage once each way, and returns nil only
// when cancelled.
func TestErasureLoopSurvivesBrokerRestart(t *testing.T) {
	p := newParts(t, t.TempDir(), newClock(), 1000)
	s, logs := retrySink(t, p)
	topic := s.cfg.Topics.Erasures
	r := &flakyReader{fetchFails: 7, commitFails: maxCommitAttempts + 2, msgs: []kafka.Message{
		{Topic: topic, Partition: 0, Offset: 0, Value: []byte("k1:a")},
		{Topic: topic, Partition: 0, Offset: 1, Value: []byte("k1:b")},
	}}
	codec := decodeFunc[schema.Erasure](func(b []byte) schema.Erasure {
		return schema.Erasure{Pseudonyms: []string{string(b)}, Purpose: "ai_training", ConsentVersion: "0:1", Scope: schema.ScopeSubject}
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.runErasures(ctx, r, codec) }()
	waitFor(t, "both erasures committed", func() bool { c, _ := r.state(); return len(c) == 1 && p.ledger.Position() == 2 })
	select {
	case err := <-errc:
		t.Fatalf("loop returned before cancel: %v", err)
	default:
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("cancelled loop: %v", err)
	}
	committed, calls := r.state()
	// The first erasure's commit was abandoned after maxCommitAttempts; the
	// second one's succeeded on its third attempt (and covers the first offset).
	if committed[0].Offset != 1 || calls != maxCommitAttempts+3 {
		t.Fatalf("committed %+v after %d calls", committed, calls)
	}
	fetch, commit := "fetch "+topic, "commit "+topic
	for _, c := range []struct {
		msg, step string
		want      int
	}{
		{"kafka step failing; retrying with backoff", fetch, 1}, {"kafka step recovered", fetch, 1},
		{"kafka step failing; retrying with backoff", commit, 1}, {"kafka step recovered", commit, 1},
		{"commit abandoned; the offsets will be redelivered and skipped, or committed with later ones", commit, 1},
	} {
		if got := logCount(logs, c.msg, c.step); got != c.want {
			t.Errorf("%q for %s logged %d times, want %d", c.msg, c.step, got, c.want)
		}
	}
}

// TestEventLoopSurvivesBrokerRestart: the events loop rides out failing fetches
// and commits, writes every record, commits after the file is published, and
// drains on cancel.
func TestEventLoopSurvivesBrokerRestart(t *testing.T) {
	p := newParts(t, t.TempDir(), newClock(), 1000)
	s, logs := retrySink(t, p)
	topic := s.cfg.Topics.Curated
	r := &flakyReader{fetchFails: 9, commitFails: 3}
	for i := range 3 {
		r.msgs = append(r.msgs, kafka.Message{Topic: topic, Partition: 0, Offset: int64(i), Value: fmt.Appendf(nil, "%d", i)})
	}
	codec := decodeFunc[schema.CuratedEvent](func(b []byte) schema.CuratedEvent {
		var i int
		fmt.Sscan(string(b), &i)
		return event(i, "k1:s", newClock().Now())
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.runEvents(ctx, r, codec) }()
	waitFor(t, "every record consumed", func() bool { return s.Stats().RecordsConsumed == 3 })
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	committed, calls := r.state()
	if len(committed) != 1 || committed[0].Offset != 2 || calls != 4 {
		t.Fatalf("committed %+v after %d calls", committed, calls)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("cancelled loop: %v", err)
	}
	if st := s.Stats(); st.RowsWritten != 3 {
		t.Fatalf("rows written %d", st.RowsWritten)
	}
	for _, step := range []string{"fetch " + topic, "commit " + topic} {
		if w, i := logCount(logs, "kafka step failing; retrying with backoff", step), logCount(logs, "kafka step recovered", step); w != 1 || i != 1 {
			t.Errorf("%s: %d warnings, %d recoveries; want one each", step, w, i)
		}
	}
}
