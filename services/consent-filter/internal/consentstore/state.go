package consentstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// state is a snapshot of cf:meta and all bucket metas.
type state struct {
	present  bool // cf:meta exists
	gen      string
	complete bool
	legacy   bool
	buckets  int
	ends     map[int]int64
	// bucketGen[b] is "" when bucket b's meta is missing.
	bucketGen []string
	bucketPos []map[int]int64
}

// consistent reports whether cf:meta and every bucket agree on one
// generation with this store's bucket count; otherwise reason says why.
func (st state) consistent(want int) (bool, NotReadyReason) {
	if !st.present || st.gen == "" {
		return false, ReasonNoState
	}
	if st.buckets != want {
		return false, ReasonBucketConfig
	}
	for _, g := range st.bucketGen {
		if g != st.gen {
			return false, ReasonBucketLost
		}
	}
	return true, ""
}

// positions is the minimum next offset per partition over all buckets; a
// bucket without a partition's field counts as 0.
func (st state) positions() map[int]int64 {
	out := map[int]int64{}
	for _, pos := range st.bucketPos {
		for p := range pos {
			out[p] = 0
		}
	}
	for p := range out {
		first := true
		for _, pos := range st.bucketPos {
			v := pos[p] // absent → 0
			if first || v < out[p] {
				out[p], first = v, false
			}
		}
	}
	return out
}

func (s *Store) readState(ctx context.Context) (state, error) {
	n := s.k.buckets
	var metaCmd *redis.MapStringStringCmd
	bucketCmds := make([]*redis.MapStringStringCmd, n)
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		metaCmd = pipe.HGetAll(ctx, s.k.meta())
		for b := 0; b < n; b++ {
			bucketCmds[b] = pipe.HGetAll(ctx, s.k.bucketMeta(b))
		}
		return nil
	})
	if err != nil {
		return state{}, fmt.Errorf("read consent store state: %w", err)
	}
	st := state{ends: map[int]int64{}, bucketGen: make([]string, n), bucketPos: make([]map[int]int64, n)}
	meta := metaCmd.Val()
	if len(meta) > 0 {
		st.present = true
		st.gen = meta[fieldGen]
		st.complete = meta[fieldComplete] == "1"
		st.legacy = meta[fieldLegacy] == "1"
		st.buckets, _ = strconv.Atoi(meta[fieldBuckets])
		for f, v := range meta {
			if p, ok := strings.CutPrefix(f, endPrefix); ok {
				pi, err1 := strconv.Atoi(p)
				off, err2 := strconv.ParseInt(v, 10, 64)
				if err1 != nil || err2 != nil {
					return state{}, fmt.Errorf("read consent store state: corrupt %s field %s=%q", s.k.meta(), f, v)
				}
				st.ends[pi] = off
			}
		}
	}
	for b, cmd := range bucketCmds {
		m := cmd.Val()
		st.bucketGen[b] = m[fieldGen]
		pos := map[int]int64{}
		for f, v := range m {
			if p, ok := strings.CutPrefix(f, posPrefix); ok {
				pi, err1 := strconv.Atoi(p)
				off, err2 := strconv.ParseInt(v, 10, 64)
				if err1 != nil || err2 != nil {
					return state{}, fmt.Errorf("read consent store state: corrupt %s field %s=%q", s.k.bucketMeta(b), f, v)
				}
				pos[pi] = off
			}
		}
		st.bucketPos[b] = pos
	}
	return st, nil
}

// Positions returns the materializer's positions on consent.changes: per
// partition, the next offset up to which every change is applied (the
// minimum over buckets). ok is false when there is no usable generation
// (never built, flushed, a bucket lost, bucket count changed): the
// materializer must rebuild from the beginning of the topic (OpenWriter
// does). Partitions absent from the map are at their beginning.
func (s *Store) Positions(ctx context.Context) (positions map[int]int64, ok bool, err error) {
	st, err := s.readState(ctx)
	if err != nil {
		return nil, false, err
	}
	if good, _ := st.consistent(s.k.buckets); !good {
		return nil, false, nil
	}
	return st.positions(), true, nil
}
