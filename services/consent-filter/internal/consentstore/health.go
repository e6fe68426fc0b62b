package consentstore

import (
	"context"
	"fmt"
)

// NotReadyReason says why the store cannot be trusted; values are stable
// for logs and metric labels.
type NotReadyReason string

const (
	// ReasonNoState: no generation in Redis (never built, flushed, restarted
	// without persistence).
	ReasonNoState NotReadyReason = "no_state"
	// ReasonBucketConfig: the generation was built with another bucket count.
	ReasonBucketConfig NotReadyReason = "bucket_config"
	// ReasonBucketLost: a bucket's meta is missing or from another
	// generation (partial loss on a cluster, or a rebuild starting).
	ReasonBucketLost NotReadyReason = "bucket_lost"
	// ReasonRebuilding: the generation has not yet caught up with the end
	// offsets recorded at its start.
	ReasonRebuilding NotReadyReason = "rebuilding"
	// ReasonLagging: a partition is more than the allowed lag behind the
	// topic's end.
	ReasonLagging NotReadyReason = "lagging"
)

// Health is a snapshot of the store's trustworthiness.
type Health struct {
	// Ready is true only when the generation is consistent and complete and
	// every partition's lag is within the bound.
	Ready bool
	// Reason is empty when Ready, else why not.
	Reason NotReadyReason
	// Generation is the current generation id, empty when none.
	Generation string
	// Complete is the generation's complete flag.
	Complete bool
	// Positions are the materializer's positions (min over buckets).
	Positions map[int]int64
	// Lag is, per partition of the given end offsets, end − position (≥ 0).
	Lag map[int]int64
	// MaxLag is the largest value in Lag.
	MaxLag int64
	// Legacy is true when the store holds legacy (tenant-less, pre-identity)
	// user records, which lookups must then consult for every id.
	Legacy bool
}

// Health reads the store's state (one pipelined round trip) and compares the
// positions with endOffsets, the current end offsets of consent.changes per
// partition, which the caller fetches from Kafka. A partition missing from
// the positions is at 0. maxLag is the number of changes a partition may be
// behind and still count as ready. An error means Redis could not be read:
// treat it as not ready.
func (s *Store) Health(ctx context.Context, endOffsets map[int]int64, maxLag int64) (Health, error) {
	st, err := s.readState(ctx)
	if err != nil {
		return Health{Reason: ReasonNoState}, fmt.Errorf("health: %w", err)
	}
	h := Health{Generation: st.gen, Complete: st.complete, Lag: map[int]int64{}, Legacy: st.legacy}
	if ok, reason := st.consistent(s.k.buckets); !ok {
		h.Reason = reason
		return h, nil
	}
	h.Positions = st.positions()
	for p, end := range endOffsets {
		lag := end - h.Positions[p]
		if lag < 0 {
			lag = 0
		}
		h.Lag[p] = lag
		if lag > h.MaxLag {
			h.MaxLag = lag
		}
	}
	switch {
	case !st.complete:
		h.Reason = ReasonRebuilding
	case h.MaxLag > maxLag:
		h.Reason = ReasonLagging
	default:
		h.Ready = true
	}
	return h, nil
}

// Ready reports whether the filter may decide: Health is Ready and Redis was
// reachable.
func (s *Store) Ready(ctx context.Context, endOffsets map[int]int64, maxLag int64) bool {
	h, err := s.Health(ctx, endOffsets, maxLag)
	return err == nil && h.Ready
}
