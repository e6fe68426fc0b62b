package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/stream/streamtest"
)

// journal records, in order, what the loop did to the fake broker.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(format string, a ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, fmt.Sprintf(format, a...))
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.events...)
}

// journaled returns a reader of msgs and a writer that journal commits and
// acknowledged writes in order; fail, when set, fails writes.
func journaled(j *journal, fail func([]kafka.Message) error, msgs ...kafka.Message) (*streamtest.Reader, *streamtest.Writer) {
	r := streamtest.NewReader(msgs...)
	r.BeforeCommit = func(ms []kafka.Message) {
		for _, m := range ms {
			j.add("commit %d:%d", m.Partition, m.Offset+1)
		}
	}
	w := &streamtest.Writer{OnWrite: func(ms []kafka.Message) {
		for _, m := range ms {
			j.add("wrote %s %s", m.Topic, m.Value)
		}
	}}
	if fail != nil {
		w.Fail = func(ms []kafka.Message) error {
			err := fail(ms)
			if err != nil {
				j.add("write failed")
			}
			return err
		}
	}
	return r, w
}

func input(partition int, from, n int) []kafka.Message {
	var out []kafka.Message
	for i := range n {
		off := int64(from + i)
		out = append(out, kafka.Message{Topic: "in", Partition: partition, Offset: off, Value: []byte(fmt.Sprintf("%d:%d", partition, off))})
	}
	return out
}

// copyTo is a pass-through handler to topic.
func copyTo(topic string) stream.Handler {
	return func(_ context.Context, batch []kafka.Message) ([]kafka.Message, error) {
		out := make([]kafka.Message, len(batch))
		for i, m := range batch {
			out[i] = kafka.Message{Topic: topic, Value: m.Value}
		}
		return out, nil
	}
}

func runLoop(t *testing.T, l *stream.Loop) (stop func() error) {
	t.Helper()
	if l.Backoff == (stream.Backoff{}) {
		l.Backoff = stream.Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}
	}
	l.Linger = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	var err error
	t.Cleanup(func() { once.Do(func() { cancel(); err = <-done }) })
	return func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond, what)
}

// TestLoopCommitsOnlyAfterOutputIsWritten checks the order of events at the
// broker: an input offset is committed only after the write that holds its output
// was acknowledged. The writer fails twice first, so a loop that committed before
// (or regardless of) the write would commit offsets whose outputs do not exist.
func TestLoopCommitsOnlyAfterOutputIsWritten(t *testing.T) {
	j := &journal{}
	fails := 2
	r, w := journaled(j, func([]kafka.Message) error {
		if fails > 0 {
			fails--
			return errors.New("not enough replicas")
		}
		return nil
	}, append(input(0, 0, 5), input(1, 0, 3)...)...)
	stop := runLoop(t, &stream.Loop{Name: "t", Reader: r, Writer: w, Handler: copyTo("out"), MaxBatch: 3})
	waitUntil(t, "everything committed", func() bool { return r.Committed(0) == 5 && r.Committed(1) == 3 })
	require.NoError(t, stop())

	written := map[string]bool{}
	for _, e := range j.all() {
		switch {
		case strings.HasPrefix(e, "wrote "):
			written[strings.Fields(e)[2]] = true
		case e == "write failed":
		default:
			var p int
			var next int64
			_, err := fmt.Sscanf(e, "commit %d:%d", &p, &next)
			require.NoError(t, err, e)
			for o := int64(0); o < next; o++ {
				require.True(t, written[fmt.Sprintf("%d:%d", p, o)], "offset %d:%d committed before its output was written (journal %q)", p, o, j.all())
			}
		}
	}
	require.Len(t, w.Written(), 8, "every output exactly once")
}

// TestLoopCommitsNothingWhileWritesFail: outputs that never get acknowledged are
// never committed; on cancel the loop gives up after the drain timeout and leaves
// the batch to be redelivered.
func TestLoopCommitsNothingWhileWritesFail(t *testing.T) {
	j := &journal{}
	r, w := journaled(j, func([]kafka.Message) error { return errors.New("broker down") }, input(0, 0, 4)...)
	stop := runLoop(t, &stream.Loop{Name: "t", Reader: r, Writer: w, Handler: copyTo("out"), DrainTimeout: 50 * time.Millisecond})
	waitUntil(t, "a few write attempts", func() bool { return len(j.all()) >= 3 })
	require.NoError(t, stop())
	for _, e := range j.all() {
		require.Equal(t, "write failed", e)
	}
}

// TestLoopDeadLettersOnlyThePoisonRecord: one record of a batch fails
// permanently; it goes to the DLQ with its bytes and provenance, the others are
// delivered, and the batch is committed once both are written.
func TestLoopDeadLettersOnlyThePoisonRecord(t *testing.T) {
	j := &journal{}
	r, w := journaled(j, nil, input(2, 10, 4)...)
	m := stream.NewMetrics(nil)
	h := func(_ context.Context, batch []kafka.Message) ([]kafka.Message, error) {
		var failed stream.BatchError
		var out []kafka.Message
		for i, msg := range batch {
			if msg.Offset == 11 {
				failed.Add(i, "decode", avro.ErrNotWireFormat)
				continue
			}
			out = append(out, kafka.Message{Topic: "out", Value: msg.Value})
		}
		return out, failed.Err()
	}
	stop := runLoop(t, &stream.Loop{Name: "stage-x", Reader: r, Writer: w, Handler: h, DLQ: "dlq", Metrics: m, MaxBatch: 10})
	waitUntil(t, "committed", func() bool { return r.Committed(2) == 14 })
	require.NoError(t, stop())

	var dead []kafka.Message
	outs := 0
	for _, msg := range w.Written() {
		if msg.Topic == "dlq" {
			dead = append(dead, msg)
		} else {
			outs++
		}
	}
	require.Equal(t, 3, outs)
	require.Len(t, dead, 1)
	require.Equal(t, "2:11", string(dead[0].Value), "original bytes")
	require.Equal(t, "stage-x", string(stream.Header(dead[0], stream.HeaderStage)))
	require.Equal(t, "11", string(stream.Header(dead[0], stream.HeaderSourceOffset)))
	require.Equal(t, avro.ErrNotWireFormat.Error(), string(stream.Header(dead[0], stream.HeaderError)))
	require.Equal(t, 1.0, testutil.ToFloat64(m.DeadLetters.WithLabelValues("stage-x", "decode")))
}

// TestLoopRetriesTheBatchOnATransientRecordFailure: a record that fails because
// the registry is unreachable is not poison: nothing of the batch is written, the
// batch is handled again, and then every record is delivered once, none to the
// DLQ.
func TestLoopRetriesTheBatchOnATransientRecordFailure(t *testing.T) {
	j := &journal{}
	r, w := journaled(j, nil, input(0, 0, 3)...)
	calls := 0
	h := func(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
		calls++
		out, _ := copyTo("out")(ctx, batch)
		if calls <= 2 {
			var failed stream.BatchError
			failed.Add(1, "decode", fmt.Errorf("fetch schema 3: %w: connection refused", avro.ErrRegistryUnavailable))
			return out[:1], failed.Err()
		}
		return out, nil
	}
	var blocked []bool
	stop := runLoop(t, &stream.Loop{Name: "t", Reader: r, Writer: w, Handler: h, DLQ: "dlq", MaxBatch: 10,
		OnBlocked: func(b bool, _ error) { blocked = append(blocked, b) }})
	waitUntil(t, "committed", func() bool { return r.Committed(0) == 3 })
	require.NoError(t, stop())
	require.Equal(t, 3, calls)
	require.Len(t, w.Written(), 3, "each record once, no dead letter")
	for _, m := range w.Written() {
		require.Equal(t, "out", m.Topic)
	}
	require.Equal(t, []bool{true, true, false}, blocked, "blocked while retrying, then flowing")
}

// TestLoopStopsOnAPermanentBatchFailure: a whole-batch error the classifier
// calls permanent ends the loop with that error and commits nothing.
func TestLoopStopsOnAPermanentBatchFailure(t *testing.T) {
	j := &journal{}
	r, w := journaled(j, nil, input(0, 0, 3)...)
	boom := errors.New("disk full")
	l := &stream.Loop{Name: "t", Reader: r, Writer: w, Backoff: stream.Backoff{Min: time.Millisecond, Max: time.Millisecond}, Linger: time.Millisecond,
		Handler: func(context.Context, []kafka.Message) ([]kafka.Message, error) { return nil, boom }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.Run(ctx)
	require.ErrorIs(t, err, boom)
	require.NoError(t, ctx.Err(), "returned by itself")
	require.Empty(t, j.all(), "nothing written or committed")
}

// TestLoopDeferredAcksCommitContiguouslyPerPartition: a handler that holds its
// input (a sink) acknowledges records later, out of order across partitions and
// within one; every commit covers only acknowledged records, and the commits
// reach the end once everything is acknowledged.
func TestLoopDeferredAcksCommitContiguouslyPerPartition(t *testing.T) {
	j := &journal{}
	r, w := journaled(j, nil, append(input(0, 0, 6), input(1, 100, 4)...)...)
	acks := stream.NewAcks()
	var mu sync.Mutex
	var held []kafka.Message
	h := func(_ context.Context, batch []kafka.Message) ([]kafka.Message, error) {
		mu.Lock()
		held = append(held, batch...)
		mu.Unlock()
		return nil, nil
	}
	stop := runLoop(t, &stream.Loop{Name: "sink", Reader: r, Writer: w, Handler: h, Acks: acks, MaxBatch: 4})
	waitUntil(t, "all held", func() bool { mu.Lock(); defer mu.Unlock(); return len(held) == 10 })
	time.Sleep(20 * time.Millisecond)
	require.Zero(t, r.Committed(0), "nothing acknowledged, nothing committed")
	require.Zero(t, r.Committed(1))

	acked := map[string]bool{}
	ack := func(m kafka.Message) {
		acked[string(m.Value)] = true
		acks.Ack(m)
	}
	byOffset := func(p int, o int64) kafka.Message {
		for _, m := range held {
			if m.Partition == p && m.Offset == o {
				return m
			}
		}
		t.Fatalf("no record %d:%d", p, o)
		return kafka.Message{}
	}
	ack(byOffset(0, 2)) // a gap at 0..1: nothing of partition 0 may be committed
	ack(byOffset(1, 100))
	waitUntil(t, "partition 1 committed through 100", func() bool { return r.Committed(1) == 101 })
	require.Zero(t, r.Committed(0))
	ack(byOffset(0, 0))
	waitUntil(t, "partition 0 through 0", func() bool { return r.Committed(0) == 1 })
	acks.AckThrough(0, 4) // a file published: everything up to 4
	for o := int64(0); o <= 4; o++ {
		acked[fmt.Sprintf("0:%d", o)] = true
	}
	waitUntil(t, "partition 0 through 4", func() bool { return r.Committed(0) == 5 })
	ack(byOffset(1, 103))
	ack(byOffset(1, 101))
	time.Sleep(20 * time.Millisecond)
	require.EqualValues(t, 102, r.Committed(1), "102 not acknowledged: the commit stops before it")
	ack(byOffset(1, 102))
	ack(byOffset(0, 5))
	waitUntil(t, "everything committed", func() bool { return r.Committed(0) == 6 && r.Committed(1) == 104 })
	require.NoError(t, stop())

	for _, e := range j.all() {
		var p int
		var next int64
		_, err := fmt.Sscanf(e, "commit %d:%d", &p, &next)
		require.NoError(t, err, e)
		from := int64(0)
		if p == 1 {
			from = 100
		}
		for o := from; o < next; o++ {
			require.True(t, acked[fmt.Sprintf("%d:%d", p, o)], "%d:%d committed before it was acknowledged", p, o)
		}
	}
}

// TestLoopDrainMakesHeldRecordsDurableBeforeTheLastCommit: on cancel, Drain runs
// after the last batch and its acknowledgements are in the final commit.
func TestLoopDrainMakesHeldRecordsDurableBeforeTheLastCommit(t *testing.T) {
	j := &journal{}
	r, w := journaled(j, nil, input(0, 0, 3)...)
	acks := stream.NewAcks()
	var mu sync.Mutex
	n := 0
	l := &stream.Loop{Name: "sink", Reader: r, Writer: w, Acks: acks,
		Handler: func(_ context.Context, b []kafka.Message) ([]kafka.Message, error) {
			mu.Lock()
			n += len(b)
			mu.Unlock()
			return nil, nil
		},
		Drain: func(context.Context) error { j.add("drain"); acks.AckThrough(0, 2); return nil }}
	stop := runLoop(t, l)
	waitUntil(t, "held", func() bool { mu.Lock(); defer mu.Unlock(); return n == 3 })
	require.NoError(t, stop())
	require.Equal(t, []string{"drain", "commit 0:3"}, j.all())
}

func TestPermanentClassifier(t *testing.T) {
	for _, c := range []struct {
		err       error
		permanent bool
	}{
		{avro.ErrNotWireFormat, true},
		{fmt.Errorf("decode with schema 3: %w", errors.New("short buffer")), true},
		{errors.New("schema 9: 40403 not found"), true},
		{fmt.Errorf("fetch schema 9: %w: dial tcp: refused", avro.ErrRegistryUnavailable), false},
		{stream.Transient(errors.New("redis down")), false},
		{fmt.Errorf("lookup: %w", stream.Transient(errors.New("redis down"))), false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{nil, false},
	} {
		require.Equal(t, c.permanent, stream.Permanent(c.err), "%v", c.err)
	}
}

func TestRetryStopsOnStopErrorsAndAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	calls := 0
	boom := errors.New("boom")
	r := stream.Retry{Backoff: stream.Backoff{Min: time.Microsecond, Max: time.Microsecond}, Stop: func(err error) bool { return err == boom }}
	err := r.Do(ctx, func() error {
		calls++
		if calls < 3 {
			return errors.New("again")
		}
		return boom
	})
	require.Equal(t, boom, err)
	require.Equal(t, 3, calls)

	calls = 0
	var failures []int
	recovered := 0
	r = stream.Retry{Backoff: stream.Backoff{Min: time.Microsecond, Max: time.Microsecond}, MaxAttempts: 4,
		Failed: func(_ error, n int, _ time.Time) { failures = append(failures, n) }, Recovered: func(int, time.Time) { recovered++ }}
	err = r.Do(ctx, func() error { calls++; return errors.New(strconv.Itoa(calls)) })
	require.EqualError(t, err, "4")
	require.Equal(t, []int{1, 2, 3}, failures)
	require.Zero(t, recovered)
}
