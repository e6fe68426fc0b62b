package consentstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/identity"
)

// Writer is the materializer's handle: it applies consent.changes to Redis
// within one generation. Open it with Store.OpenWriter; after
// ErrGenerationLost or ErrPositionGap, open a new one and seek the consumer
// to its Positions. Methods are serialized internally; use one Writer per
// namespace at a time.
type Writer struct {
	s *Store

	mu       sync.Mutex
	gen      string
	fresh    bool
	complete bool
	legacy   bool
	ends     map[int]int64
	pos      map[int]int64
	now      func() time.Time
}

// OpenWriter resumes the current generation if Redis holds a consistent one,
// or starts a new one (a rebuild) otherwise. endOffsets are the current end
// offsets of consent.changes per partition; they become the rebuild target
// of a new generation (ignored when resuming, which keeps the target
// recorded at its start). When a generation starts, cf:meta is written with
// complete=0 before any bucket, so filters pause first, and a reset is
// published to caches.
func (s *Store) OpenWriter(ctx context.Context, endOffsets map[int]int64) (*Writer, error) {
	st, err := s.readState(ctx)
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w := &Writer{s: s, now: time.Now}
	if ok, _ := st.consistent(s.k.buckets); ok {
		w.gen, w.complete, w.ends, w.pos, w.legacy = st.gen, st.complete, st.ends, st.positions(), st.legacy
	} else if err := w.begin(ctx, endOffsets); err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	if err := w.maybeComplete(ctx); err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	return w, nil
}

func (w *Writer) begin(ctx context.Context, endOffsets map[int]int64) error {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("new generation id: %w", err)
	}
	w.gen = hex.EncodeToString(raw[:])
	w.fresh, w.complete = true, false
	w.ends = maps.Clone(endOffsets)
	if w.ends == nil {
		w.ends = map[int]int64{}
	}
	w.pos = map[int]int64{}
	k := w.s.k

	fields := []any{fieldGen, w.gen, fieldComplete, "0", fieldBuckets, strconv.Itoa(k.buckets),
		fieldStartedMS, strconv.FormatInt(w.now().UnixMilli(), 10)}
	for p, off := range w.ends {
		fields = append(fields, endPrefix+strconv.Itoa(p), strconv.FormatInt(off, 10))
	}
	// Step 1: cf:meta (filters see complete=0 from here on).
	if _, err := w.s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, k.meta())
		pipe.HSet(ctx, k.meta(), fields...)
		return nil
	}); err != nil {
		return fmt.Errorf("start generation %s: write %s: %w", w.gen, k.meta(), err)
	}
	// Step 2: bucket metas, each replaced atomically (single key).
	if _, err := w.s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for b := 0; b < k.buckets; b++ {
			pipe.Del(ctx, k.bucketMeta(b))
			pipe.HSet(ctx, k.bucketMeta(b), fieldGen, w.gen)
		}
		pipe.Publish(ctx, k.reset(), w.gen)
		return nil
	}); err != nil {
		return fmt.Errorf("start generation %s: write bucket metas: %w", w.gen, err)
	}
	return nil
}

// Generation returns the writer's generation id.
func (w *Writer) Generation() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gen
}

// Rebuilding reports whether OpenWriter started a new generation, i.e. the
// consumer must start at the beginning of every partition.
func (w *Writer) Rebuilding() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fresh
}

// Complete reports whether the generation has caught up with the end
// offsets recorded at its start.
func (w *Writer) Complete() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.complete
}

// Positions returns where the consumer must resume: the next offset per
// partition; a partition not in the map starts at its beginning.
func (w *Writer) Positions() map[int]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.pos)
}

// Apply applies changes (in consumption order) and advances each partition's
// position to the offset after its last change, atomically per bucket.
// Per key the newest version wins, so replays and duplicates are harmless.
// On error nothing is assumed written and the writer's positions do not
// move: retry the same batch, or reopen on ErrGenerationLost/ErrPositionGap.
func (w *Writer) Apply(ctx context.Context, changes []Change) error {
	return w.ApplyTo(ctx, changes, nil)
}

// ApplyTo is Apply with explicit next offsets per partition, for batches
// whose last records were skipped (tombstones, other purposes, records sent
// to a DLQ): the position of partition p becomes max(next[p], last applied
// offset of p + 1). A batch with no changes only advances positions.
func (w *Writer) ApplyTo(ctx context.Context, changes []Change, next map[int]int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()

	target := maps.Clone(next)
	if target == nil {
		target = map[int]int64{}
	}
	legacy := false
	for i, c := range changes {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("apply: change %d (%s at %d:%d): %w: %w", i, c.Ref(), c.Partition, c.Offset, ErrInvalidChange, err)
		}
		legacy = legacy || (c.Link == nil && c.Subject.Kind == identity.Legacy)
		if c.Offset+1 > target[c.Partition] {
			target[c.Partition] = c.Offset + 1
		}
	}
	for p, off := range target {
		if off < 0 || p < 0 {
			return fmt.Errorf("apply: position %d:%d: %w: negative", p, off, ErrInvalidChange)
		}
		if off <= w.pos[p] {
			delete(target, p) // nothing new for p; positions never move back
		}
	}
	if len(changes) == 0 && len(target) == 0 {
		return nil
	}

	k := w.s.k
	if legacy && !w.legacy {
		// The flag goes first: a legacy record is never in Redis while the
		// filter does not know to look legacy records up.
		if err := w.s.rdb.HSet(ctx, k.meta(), fieldLegacy, "1").Err(); err != nil {
			return fmt.Errorf("apply: mark legacy records: %w", err)
		}
		w.legacy = true
	}
	// Common ARGV prefix: gen, channel prefix, partitions.
	head := []any{w.gen, k.invalidatePrefix(), len(target)}
	for p, off := range target {
		head = append(head, p, w.pos[p], off)
	}
	calls := make([]scriptCall, k.buckets)
	for b := range calls {
		calls[b] = scriptCall{script: w.s.scripts.apply, keys: []string{k.bucketMeta(b)}, args: append([]any(nil), head...)}
	}
	for _, c := range changes {
		if c.Link != nil {
			if w.s.linkPurpose == "" {
				continue
			}
			for _, side := range [][2]SubjectRef{{c.Link.A, c.Link.B}, {c.Link.B, c.Link.A}} {
				key, b := k.record(w.s.linkPurpose, side[0])
				calls[b].keys = append(calls[b].keys, key)
				calls[b].args = append(calls[b].args, "l", w.s.linkPurpose, side[0].Code(), "", 0, c.Partition, c.Offset, side[1].Code(), "0")
			}
			continue
		}
		key, b := k.record(c.Purpose, c.Ref())
		tenant := c.TenantID
		if c.Subject.Kind == identity.Tenant {
			tenant = ""
		}
		imported := "0"
		if c.Imported {
			imported = "1"
		}
		calls[b].keys = append(calls[b].keys, key)
		calls[b].args = append(calls[b].args, "c", c.Purpose, c.Ref().Code(), string(c.Status),
			c.EffectiveAt.UnixMilli(), c.Partition, c.Offset, tenant, imported)
	}
	if _, err := w.s.runScripts(ctx, calls); err != nil {
		return fmt.Errorf("apply %d changes (generation %s): %w", len(changes), w.gen, err)
	}
	for p, off := range target {
		w.pos[p] = off
	}
	if err := w.maybeComplete(ctx); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

// maybeComplete sets complete=1 once every partition reached its recorded
// end offset. Caller holds w.mu (or owns w exclusively).
func (w *Writer) maybeComplete(ctx context.Context) error {
	if w.complete {
		return nil
	}
	for p, end := range w.ends {
		if w.pos[p] < end {
			return nil
		}
	}
	k := w.s.k
	if _, err := w.s.runScripts(ctx, []scriptCall{{
		script: w.s.scripts.complete,
		keys:   []string{k.meta()},
		args:   []any{w.gen, w.now().UnixMilli()},
	}}); err != nil {
		return fmt.Errorf("mark generation %s complete: %w", w.gen, err)
	}
	w.complete = true
	return nil
}

// Verify checks, without writing, that Redis still holds this writer's
// generation in every bucket; it returns an error wrapping
// ErrGenerationLost when not (flush, partial loss, a newer writer), so an
// idle materializer notices loss before its next change arrives.
func (w *Writer) Verify(ctx context.Context) error {
	st, err := w.s.readState(ctx)
	if err != nil {
		return fmt.Errorf("verify writer: %w", err)
	}
	w.mu.Lock()
	gen := w.gen
	w.mu.Unlock()
	if ok, reason := st.consistent(w.s.k.buckets); !ok || st.gen != gen {
		if reason == "" {
			reason = "superseded"
		}
		return fmt.Errorf("verify writer: %w: generation %s: %s", ErrGenerationLost, gen, reason)
	}
	return nil
}
