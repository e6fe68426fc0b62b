package stream_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/stream"
)

// interleaved returns n records of each of parts partitions, round robin, as a
// consumer-group reader hands them out.
func interleaved(parts, n int) []kafka.Message {
	var out []kafka.Message
	for o := range n {
		for p := range parts {
			out = append(out, input(p, o, 1)...)
		}
	}
	return out
}

// checkCommitsCoverWrites fails when a commit in the journal covers a record
// whose output had not been written before it.
func checkCommitsCoverWrites(t *testing.T, j *journal) {
	t.Helper()
	written := map[string]bool{}
	for _, e := range j.all() {
		var p int
		var next int64
		switch {
		case e == "write failed":
		case len(e) > 6 && e[:6] == "wrote ":
			var topic, v string
			_, err := fmt.Sscanf(e, "wrote %s %s", &topic, &v)
			require.NoError(t, err, e)
			written[v] = true
		default:
			_, err := fmt.Sscanf(e, "commit %d:%d", &p, &next)
			require.NoError(t, err, e)
			for o := int64(0); o < next; o++ {
				require.True(t, written[fmt.Sprintf("%d:%d", p, o)], "%d:%d committed before its output was written", p, o)
			}
		}
	}
}

// TestPipelinedLoopHandlesTheNextBatchWhileTheWriteWaits: with Pipeline the
// handler gets batch 2 while batch 1's write is still waiting for its acks
// (what the pipeline is for); batch 1 is committed only after that write.
func TestPipelinedLoopHandlesTheNextBatchWhileTheWriteWaits(t *testing.T) {
	j := &journal{}
	secondHandled := make(chan struct{})
	var once sync.Once
	overlapped := false
	r, w := journaled(j, func(ms []kafka.Message) error {
		if string(ms[0].Value) == "0:0" && !overlapped {
			select {
			case <-secondHandled:
				overlapped = true
			case <-time.After(2 * time.Second):
			}
		}
		return nil
	}, input(0, 0, 4)...)
	calls := 0
	h := func(ctx context.Context, b []kafka.Message) ([]kafka.Message, error) {
		calls++
		if calls == 2 {
			once.Do(func() { close(secondHandled) })
		}
		return copyTo("out")(ctx, b)
	}
	stop := runLoop(t, &stream.Loop{Name: "t", Reader: r, Writer: w, Handler: h, MaxBatch: 2, Pipeline: 1})
	waitUntil(t, "everything committed", func() bool { return r.Committed(0) == 4 })
	require.NoError(t, stop())
	require.True(t, overlapped, "batch 2 was not handled while batch 1's write waited")
	checkCommitsCoverWrites(t, j)
}

// TestPipelinedLoopKeepsOrderAndCommitsAfterWrites: three partitions, small
// batches, a writer that fails every third attempt and acknowledges slowly:
// outputs of each partition are written in offset order, each exactly once, and
// every commit covers only written records.
func TestPipelinedLoopKeepsOrderAndCommitsAfterWrites(t *testing.T) {
	for _, depth := range []int{1, 3} {
		t.Run(fmt.Sprint("pipeline=", depth), func(t *testing.T) {
			j := &journal{}
			attempts := 0
			r, w := journaled(j, func([]kafka.Message) error {
				attempts++
				time.Sleep(time.Millisecond)
				if attempts%3 == 0 {
					return errors.New("not enough replicas")
				}
				return nil
			}, interleaved(3, 20)...)
			stop := runLoop(t, &stream.Loop{Name: "t", Reader: r, Writer: w, Handler: copyTo("out"), MaxBatch: 4, Pipeline: depth})
			waitUntil(t, "everything committed", func() bool {
				return r.Committed(0) == 20 && r.Committed(1) == 20 && r.Committed(2) == 20
			})
			require.NoError(t, stop())
			checkCommitsCoverWrites(t, j)
			next := map[int]int{}
			for _, m := range w.Written() {
				var p, o int
				_, err := fmt.Sscanf(string(m.Value), "%d:%d", &p, &o)
				require.NoError(t, err)
				require.Equal(t, next[p], o, "partition %d out of order", p)
				next[p]++
			}
			require.Len(t, w.Written(), 60, "every output exactly once")
		})
	}
}

// TestPipelinedLoopWriteFailureCommitsNothingAfterIt: a write holding record
// 1:3 never succeeds (partition 1's leader is gone; the writes after it would). The loop gives up
// after the drain timeout: partition 1 is not committed past its last written
// record, no record of either partition is committed unwritten, and the batches
// handled behind the failing one are not written either — every record is
// written or left to be redelivered.
func TestPipelinedLoopWriteFailureCommitsNothingAfterIt(t *testing.T) {
	j := &journal{}
	in := interleaved(2, 8)
	r, w := journaled(j, func(ms []kafka.Message) error {
		for _, m := range ms {
			var p, o int
			fmt.Sscanf(string(m.Value), "%d:%d", &p, &o)
			if p == 1 && o == 3 {
				return errors.New("leader not available")
			}
		}
		return nil
	}, in...)
	stop := runLoop(t, &stream.Loop{Name: "t", Reader: r, Writer: w, Handler: copyTo("out"), MaxBatch: 2, Pipeline: 2,
		DrainTimeout: 50 * time.Millisecond})
	waitUntil(t, "partition 1 written through 2", func() bool { return r.Committed(1) == 3 })
	time.Sleep(30 * time.Millisecond)
	require.NoError(t, stop())
	checkCommitsCoverWrites(t, j)
	require.EqualValues(t, 3, r.Committed(1), "partition 1 committed past the failing write")
	written := map[string]bool{}
	for _, m := range w.Written() {
		written[string(m.Value)] = true
	}
	require.Len(t, written, 6, "only the batches before the failing one are written (0:0–0:2, 1:0–1:2)")
	for _, m := range in {
		require.True(t, written[string(m.Value)] || m.Offset >= r.Committed(m.Partition),
			"%s neither written nor left for redelivery", m.Value)
	}
}

// TestPipelinedLoopStopsOnAPermanentFailureAfterWritingWhatWasHandled: the
// handler fails for good on batch 2; batch 1, handled before, is written and
// committed, and Run returns the failure.
func TestPipelinedLoopStopsOnAPermanentFailureAfterWritingWhatWasHandled(t *testing.T) {
	j := &journal{}
	r, w := journaled(j, nil, input(0, 0, 4)...)
	boom := errors.New("disk full")
	calls := 0
	l := &stream.Loop{Name: "t", Reader: r, Writer: w, Backoff: stream.Backoff{Min: time.Millisecond, Max: time.Millisecond},
		Linger: time.Millisecond, MaxBatch: 2, Pipeline: 1,
		Handler: func(ctx context.Context, b []kafka.Message) ([]kafka.Message, error) {
			calls++
			if calls == 2 {
				return nil, boom
			}
			return copyTo("out")(ctx, b)
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.Run(ctx)
	require.ErrorIs(t, err, boom)
	require.NoError(t, ctx.Err(), "returned by itself")
	require.Len(t, w.Written(), 2)
	require.EqualValues(t, 2, r.Committed(0), "batch 1 committed, batch 2 not")
	checkCommitsCoverWrites(t, j)
}
