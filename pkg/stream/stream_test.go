package stream_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/pkg/topics"
)

func TestDeadLetterKeepsOriginalAndAddsProvenance(t *testing.T) {
	orig := kafka.Message{Topic: "events.raw", Partition: 2, Offset: 41, Key: []byte("u1"),
		Value: []byte{0xff, 0x00, 0x01}, Headers: []kafka.Header{{Key: "trace", Value: []byte("t")}}}
	dl := stream.DeadLetter(orig, "events.dlq", "consent-filter", errors.New("not in Confluent wire format"))

	require.Equal(t, "events.dlq", dl.Topic)
	require.Equal(t, orig.Key, dl.Key)
	require.Equal(t, orig.Value, dl.Value, "original bytes kept")
	require.Equal(t, "t", string(stream.Header(dl, "trace")), "original headers kept")
	require.Equal(t, "not in Confluent wire format", string(stream.Header(dl, stream.HeaderError)))
	require.Equal(t, "consent-filter", string(stream.Header(dl, stream.HeaderStage)))
	require.Equal(t, "events.raw", string(stream.Header(dl, stream.HeaderSourceTopic)))
	require.Equal(t, "2", string(stream.Header(dl, stream.HeaderSourcePartition)))
	require.Equal(t, "41", string(stream.Header(dl, stream.HeaderSourceOffset)))
	require.NotEmpty(t, stream.Header(dl, stream.HeaderFailedAt))

	long := stream.DeadLetter(orig, "dlq", "s", errors.New(string(make([]byte, 4096))))
	require.LessOrEqual(t, len(stream.Header(long, stream.HeaderError)), 512)
}

func TestEnsureTopicsIdempotentWithSettings(t *testing.T) {
	ctx := context.Background()
	s := testenv.Start(t)
	names := topics.DefaultNames()
	names.Changes, names.Raw = s.Prefix+"own.changes", s.Prefix+"own.raw"
	specs := topics.Specs(names, topics.Settings{Partitions: 4, ChangePartitions: 2, ReplicationFactor: 1})[:2]

	created, err := topics.Ensure(ctx, s.Kafka, specs)
	require.NoError(t, err)
	require.Len(t, created, len(specs))

	again, err := topics.Ensure(ctx, s.Kafka, specs)
	require.NoError(t, err, "second run must succeed")
	require.Empty(t, again, "second run creates nothing")

	parts, cfg, err := topics.Describe(ctx, s.Kafka, names.Changes, "cleanup.policy")
	require.NoError(t, err)
	require.Equal(t, 2, parts)
	require.Equal(t, "compact", cfg["cleanup.policy"])

	parts, cfg, err = topics.Describe(ctx, s.Kafka, names.Raw, "cleanup.policy", "retention.ms")
	require.NoError(t, err)
	require.Equal(t, 4, parts)
	require.Equal(t, "delete", cfg["cleanup.policy"])
	require.Equal(t, strconv.FormatInt((72*time.Hour).Milliseconds(), 10), cfg["retention.ms"])
}

// flakyWriter fails the first n writes.
type flakyWriter struct {
	inner stream.MessageWriter
	fails atomic.Int32
}

func (w *flakyWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	if w.fails.Add(-1) >= 0 {
		return errors.New("injected write failure")
	}
	return w.inner.WriteMessages(ctx, msgs...)
}

// TestLoopOverKafkaDeliversEveryRecordOnce runs a pass-through stage over Kafka
// whose writes and handler fail for a while, then checks every input reached the
// output exactly once and the group's committed offsets cover the input.
func TestLoopOverKafkaDeliversEveryRecordOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := testenv.Start(t)
	in, out := s.Prefix+"in", s.Prefix+"out"
	_, err := topics.Ensure(ctx, s.Kafka, []topics.Spec{{Name: in, Partitions: 3, ReplicationFactor: 1}, {Name: out, Partitions: 3, ReplicationFactor: 1}})
	require.NoError(t, err)
	group := s.Prefix + "g"
	logger := zaptest.NewLogger(t)

	w := stream.NewWriter(s.Kafka, logger)
	defer w.Close()
	const n = 200
	var input []kafka.Message
	for i := 0; i < n; i++ {
		input = append(input, kafka.Message{Topic: in, Key: []byte(fmt.Sprint("k", i%17)), Value: []byte(strconv.Itoa(i))})
	}
	require.NoError(t, w.WriteMessages(ctx, input...))

	lag, err := stream.GroupLag(ctx, s.Kafka, group, in)
	require.NoError(t, err)
	require.EqualValues(t, n, lag, "nothing committed yet")

	r := stream.NewReader(s.Kafka, stream.ReaderConfig{GroupID: group, Topic: in}, logger)
	fw := &flakyWriter{inner: w}
	fw.fails.Store(2)
	var handlerFails atomic.Int32
	handlerFails.Store(2)
	var blockedSeen atomic.Bool
	loop := &stream.Loop{
		Name: "pass", Reader: r, Writer: fw, Logger: logger, MaxBatch: 50,
		Backoff: stream.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Handler: func(_ context.Context, batch []kafka.Message) ([]kafka.Message, error) {
			if handlerFails.Add(-1) >= 0 {
				return nil, stream.Transient(errors.New("consent state unavailable"))
			}
			res := make([]kafka.Message, len(batch))
			for i, m := range batch {
				res[i] = kafka.Message{Topic: out, Key: m.Key, Value: m.Value}
			}
			return res, nil
		},
		OnBlocked: func(b bool, _ error) {
			if b {
				blockedSeen.Store(true)
			}
		},
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- loop.Run(runCtx) }()

	check := stream.NewReader(s.Kafka, stream.ReaderConfig{GroupID: s.Prefix + "check", Topic: out}, logger)
	defer check.Close()
	seen := map[string]int{}
	for len(seen) < n {
		m, err := check.FetchMessage(ctx)
		require.NoError(t, err)
		seen[string(m.Value)]++
	}
	stop()
	require.NoError(t, <-done)
	require.NoError(t, r.Close())
	require.True(t, blockedSeen.Load())
	for v, c := range seen {
		require.Equal(t, 1, c, "value %s written %d times", v, c)
	}

	// Committed offsets cover everything: no lag, and a new member sees nothing.
	lag, err = stream.GroupLag(ctx, s.Kafka, group, in)
	require.NoError(t, err)
	require.Zero(t, lag)
	r2 := stream.NewReader(s.Kafka, stream.ReaderConfig{GroupID: group, Topic: in}, logger)
	defer r2.Close()
	shortCtx, c2 := context.WithTimeout(ctx, 3*time.Second)
	defer c2()
	_, err = r2.FetchMessage(shortCtx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "all input committed")
}

func TestOffsetWriterReportsWhereRecordsLanded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := testenv.Start(t)
	ow := stream.NewOffsetWriter(s.Kafka, s.Names.Changes)
	var recs []stream.Record
	for i := 0; i < 20; i++ {
		recs = append(recs, stream.Record{Key: []byte(fmt.Sprint("user:u", i, "/ai_training")), Value: []byte(strconv.Itoa(i))})
	}
	pos, err := ow.Append(ctx, recs...)
	require.NoError(t, err)
	require.Len(t, pos, len(recs))

	// The same key goes where kafka.Writer (murmur2) would put it.
	before, err := stream.EndOffsets(ctx, s.Kafka, s.Names.Changes)
	require.NoError(t, err)
	w := stream.NewWriter(s.Kafka, zaptest.NewLogger(t))
	defer w.Close()
	require.NoError(t, w.WriteMessages(ctx, kafka.Message{Topic: s.Names.Changes, Key: recs[3].Key, Value: []byte("again")}))
	after, err := stream.EndOffsets(ctx, s.Kafka, s.Names.Changes)
	require.NoError(t, err)
	require.Equal(t, before[pos[3].Partition]+1, after[pos[3].Partition], "kafka.Writer put the key elsewhere")

	for i, p := range pos {
		r := stream.NewPartitionReader(s.Kafka, s.Names.Changes, p.Partition, 100*time.Millisecond)
		require.NoError(t, r.SetOffset(p.Offset))
		m, err := r.FetchMessage(ctx)
		r.Close()
		require.NoError(t, err)
		require.Equal(t, p.Offset, m.Offset)
		require.Equal(t, recs[i].Value, m.Value, "record %d at %s", i, p)
	}
}

// failingFetcher fails its first n fetches, then serves msgs once each.
type failingFetcher struct {
	mu        sync.Mutex
	fails     int
	msgs      []kafka.Message
	committed []kafka.Message
}

func (f *failingFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return kafka.Message{}, errors.New("dial tcp 127.0.0.1:19092: connect: connection refused")
	}
	if len(f.msgs) == 0 {
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		return kafka.Message{}, ctx.Err()
	}
	m := f.msgs[0]
	f.msgs = f.msgs[1:]
	return m, nil
}

func (f *failingFetcher) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committed = append(f.committed, msgs...)
	return nil
}

type sliceWriter struct{ out []kafka.Message }

func (w *sliceWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.out = append(w.out, msgs...)
	return nil
}

func TestLoopOutlivesFetchErrors(t *testing.T) {
	f := &failingFetcher{fails: 5, msgs: []kafka.Message{{Offset: 0, Value: []byte("a")}, {Offset: 1, Value: []byte("b")}}}
	w := &sliceWriter{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	loop := &stream.Loop{Name: "t", Reader: f, Writer: w, Backoff: stream.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, Linger: time.Millisecond,
		Handler: func(_ context.Context, b []kafka.Message) ([]kafka.Message, error) { return b, nil }}
	done := make(chan error, 1)
	go func() { done <- loop.Run(ctx) }()
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.committed) > 0 && f.committed[len(f.committed)-1].Offset == 1
	}, 4*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done, "fetch errors are retried, not returned")
	require.Len(t, w.out, 2)
}

func TestReadRangeReadsWhatWasWrittenBetweenOffsets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := testenv.Start(t)
	topic := s.Prefix + "range"
	_, err := topics.Ensure(ctx, s.Kafka, []topics.Spec{{Name: topic, Partitions: 2, ReplicationFactor: 1}})
	require.NoError(t, err)
	w := stream.NewWriter(s.Kafka, zaptest.NewLogger(t))
	defer w.Close()
	write := func(from, n int) {
		var msgs []kafka.Message
		for i := from; i < from+n; i++ {
			msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(fmt.Sprint("k", i)), Value: []byte(strconv.Itoa(i))})
		}
		require.NoError(t, w.WriteMessages(ctx, msgs...))
	}
	read := func(from, to map[int]int64) []string {
		var got []string
		require.NoError(t, stream.ReadRange(ctx, s.Kafka, topic, from, to, func(m kafka.Message) { got = append(got, string(m.Value)) }))
		sort.Strings(got)
		return got
	}
	write(0, 6)
	mid, err := stream.EndOffsets(ctx, s.Kafka, topic)
	require.NoError(t, err)
	write(6, 4)
	end, err := stream.EndOffsets(ctx, s.Kafka, topic)
	require.NoError(t, err)
	require.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, read(nil, end))
	require.Equal(t, []string{"6", "7", "8", "9"}, read(mid, end))
	require.Empty(t, read(end, end))
}
