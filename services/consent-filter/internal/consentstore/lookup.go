package consentstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Lookup returns the records of purpose for refs (any subjects, in any mix;
// duplicates are fine) in one pipelined round trip of independent
// single-key commands, so it works on Redis Cluster. Subjects with neither a
// consent record nor links are absent from the map; a subject with links but
// no consent record is present with Has() false.
//
// In the same pipeline it reads cf:meta and, after the records, the
// generation of every bucket it touched; unless all belong to the current,
// complete generation it returns an error wrapping ErrNotReady and no
// records, so a flush between health checks cannot make records vanish
// unnoticed.
func (s *Store) Lookup(ctx context.Context, purpose string, refs []SubjectRef) (map[SubjectRef]Record, error) {
	return s.lookup(ctx, purpose, refs, true)
}

// Peek is Lookup without the generation checks: what Redis holds now, for
// the materializer, which reads its own generation while it rebuilds.
func (s *Store) Peek(ctx context.Context, purpose string, refs []SubjectRef) (map[SubjectRef]Record, error) {
	return s.lookup(ctx, purpose, refs, false)
}

// LinkPurpose is the purpose links are stored under ("" when not stored).
func (s *Store) LinkPurpose() string { return s.linkPurpose }

func (s *Store) lookup(ctx context.Context, purpose string, refs []SubjectRef, gated bool) (map[SubjectRef]Record, error) {
	if err := validatePurpose(purpose); err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	type item struct {
		ref SubjectRef
		cmd *redis.SliceCmd
	}
	items := make([]item, 0, len(refs))
	seen := make(map[SubjectRef]struct{}, len(refs))
	bucketSeen := map[int]struct{}{}
	var buckets []int
	keys := make([]string, 0, len(refs))
	for _, r := range refs {
		if _, dup := seen[r]; dup {
			continue
		}
		if err := validateRef(r); err != nil {
			return nil, fmt.Errorf("lookup: %w", err)
		}
		seen[r] = struct{}{}
		key, b := s.k.record(purpose, r)
		keys = append(keys, key)
		items = append(items, item{ref: r})
		if _, ok := bucketSeen[b]; !ok {
			bucketSeen[b] = struct{}{}
			buckets = append(buckets, b)
		}
	}
	if len(items) == 0 {
		return map[SubjectRef]Record{}, nil
	}

	var metaCmd *redis.SliceCmd
	genCmds := make([]*redis.StringCmd, len(buckets))
	_, _ = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i := range items {
			items[i].cmd = pipe.HMGet(ctx, keys[i], recordFields...)
		}
		// After the records: same slot as each record, so same node and
		// connection, so read after it.
		for i, b := range buckets {
			genCmds[i] = pipe.HGet(ctx, s.k.bucketMeta(b), fieldGen)
		}
		metaCmd = pipe.HMGet(ctx, s.k.meta(), fieldGen, fieldComplete, fieldBuckets)
		return nil
	})
	// Check every command: the pipeline's own error is only the first one,
	// and a missing bucket gen (redis.Nil) must not hide a network error.
	for _, it := range items {
		if err := it.cmd.Err(); err != nil {
			return nil, fmt.Errorf("lookup %d subjects: %w", len(items), err)
		}
	}
	for _, c := range genCmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("lookup %d subjects: %w", len(items), err)
		}
	}
	if err := metaCmd.Err(); err != nil {
		return nil, fmt.Errorf("lookup %d subjects: %w", len(items), err)
	}

	if gated {
		if err := s.checkGeneration(metaCmd.Val(), genCmds, buckets); err != nil {
			return nil, err
		}
	}

	out := make(map[SubjectRef]Record, len(items))
	for _, it := range items {
		rec, ok, err := parseRecord(it.cmd.Val())
		if err != nil {
			return nil, fmt.Errorf("lookup %s: %w", it.ref, err)
		}
		if ok {
			out[it.ref] = rec
		}
	}
	return out, nil
}

// checkGeneration fails with ErrNotReady unless cf:meta holds a complete
// generation of this store's bucket count and every touched bucket belongs
// to it.
func (s *Store) checkGeneration(meta []any, genCmds []*redis.StringCmd, buckets []int) error {
	gen, _ := meta[0].(string)
	complete, _ := meta[1].(string)
	nb, _ := meta[2].(string)
	switch {
	case gen == "":
		return fmt.Errorf("lookup: %w: %s", ErrNotReady, ReasonNoState)
	case nb != strconv.Itoa(s.k.buckets):
		return fmt.Errorf("lookup: %w: %s", ErrNotReady, ReasonBucketConfig)
	case complete != "1":
		return fmt.Errorf("lookup: %w: %s", ErrNotReady, ReasonRebuilding)
	}
	for i, c := range genCmds {
		if c.Val() != gen {
			return fmt.Errorf("lookup: %w: %s (bucket %d)", ErrNotReady, ReasonBucketLost, buckets[i])
		}
	}
	return nil
}
