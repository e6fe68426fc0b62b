package filter

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
)

// laggingState is fixedState whose materializer is lagging for the first
// `lagging` health reads (lagging < 0: always), then caught up; failAt, when
// above 0, is the health read Redis does not answer.
type laggingState struct {
	*fixedState
	lagging int32
	failAt  int32
	reads   atomic.Int32
}

func (s *laggingState) Health(ctx context.Context, ends map[int]int64, maxLag int64) (consentstore.Health, error) {
	n := s.reads.Add(1)
	if n == s.failAt {
		return consentstore.Health{}, errors.New("redis away")
	}
	if s.lagging < 0 || n <= s.lagging {
		return consentstore.Health{Reason: consentstore.ReasonLagging, Complete: true, Positions: map[int]int64{0: 1}, MaxLag: 10}, nil
	}
	return s.fixedState.Health(ctx, ends, maxLag)
}

func lagFixture(t *testing.T, lagging, failAt int32, wait time.Duration) (*Filter, *laggingState) {
	f, _ := handleFixture(t, 20)
	st := &laggingState{fixedState: f.State.(*fixedState), lagging: lagging, failAt: failAt}
	f.State, f.LagWait = st, wait
	return f, st
}

// TestLaggingStoreThatCatchesUpWithinTheWaitPasses: a materializer a few
// health reads behind the batch's target catches up while the batch waits
// (FILTER_LAG_WAIT, here far longer than the reads take): the batch is decided
// against the caught-up state, not held.
func TestLaggingStoreThatCatchesUpWithinTheWaitPasses(t *testing.T) {
	f, st := lagFixture(t, 3, 0, time.Hour)
	out, err := f.Handle(context.Background(), handleBatch(t, f.Raw, 30, 20))
	require.NoError(t, err)
	require.NotEmpty(t, out)
	require.Equal(t, int32(4), st.reads.Load(), "three lagging reads, then the caught-up one")
	require.Equal(t, 0.0, testutil.ToFloat64(f.Metrics.PauseReasons.WithLabelValues("lagging")))
	require.Equal(t, 1.0, testutil.ToFloat64(f.Metrics.LagWaits.WithLabelValues("caught_up")))
	require.Equal(t, 0.0, testutil.ToFloat64(f.Metrics.Paused))
}

// TestLaggingStoreThatDoesNotCatchUpHoldsTheBatch: fail closed — a
// materializer still behind when the wait runs out holds the batch (ErrPaused,
// no output, paused, reason lagging); Redis failing during the wait holds it
// too; with no wait the batch is held at the first lagging read.
func TestLaggingStoreThatDoesNotCatchUpHoldsTheBatch(t *testing.T) {
	_, raw := handleFixture(t, 20)
	batch := handleBatch(t, raw, 30, 20)

	f, st := lagFixture(t, -1, 0, 5*time.Millisecond)
	out, err := f.Handle(context.Background(), batch)
	require.ErrorIs(t, err, ErrPaused)
	require.Empty(t, out, "nothing passes while consent cannot be checked")
	require.Greater(t, st.reads.Load(), int32(1), "held without waiting")
	require.Equal(t, 1.0, testutil.ToFloat64(f.Metrics.PauseReasons.WithLabelValues("lagging")))
	require.Equal(t, 1.0, testutil.ToFloat64(f.Metrics.LagWaits.WithLabelValues("held")))
	require.Equal(t, 1.0, testutil.ToFloat64(f.Metrics.Paused))

	f, st = lagFixture(t, -1, 2, time.Hour)
	out, err = f.Handle(context.Background(), batch)
	require.ErrorIs(t, err, ErrPaused)
	require.Empty(t, out)
	require.Equal(t, int32(2), st.reads.Load())
	require.Equal(t, 1.0, testutil.ToFloat64(f.Metrics.PauseReasons.WithLabelValues("redis_unavailable")))

	f, st = lagFixture(t, 1, 0, 0)
	out, err = f.Handle(context.Background(), batch)
	require.ErrorIs(t, err, ErrPaused)
	require.Empty(t, out)
	require.Equal(t, int32(1), st.reads.Load(), "FILTER_LAG_WAIT=0 holds the batch at once")
	require.Equal(t, 1.0, testutil.ToFloat64(f.Metrics.PauseReasons.WithLabelValues("lagging")))
}
