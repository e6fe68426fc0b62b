package consentstore

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

// counter is a go-redis hook that records what reaches Redis.
type counter struct {
	mu         sync.Mutex
	pipelines  [][]string // command names per pipeline
	singles    []string
	onPipeline func(cmds []redis.Cmder)
}

func (h *counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.singles = append(h.singles, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.mu.Lock()
		h.pipelines = append(h.pipelines, names)
		cb := h.onPipeline
		h.mu.Unlock()
		err := next(ctx, cmds)
		if cb != nil {
			cb(cmds)
		}
		return err
	}
}

func (h *counter) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pipelines, h.singles = nil, nil
}

func (h *counter) snapshot() (pipelines [][]string, singles []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]string(nil), h.pipelines...), append([]string(nil), h.singles...)
}

type fixture struct {
	mr    *miniredis.Miniredis
	rdb   *redis.Client
	hook  *counter
	store *Store
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	hook := &counter{}
	rdb.AddHook(hook)
	s, err := New(rdb, opts)
	require.NoError(t, err)
	return &fixture{mr: mr, rdb: rdb, hook: hook, store: s}
}

// dump returns every hash in Redis (other keys by type), for whole-state
// comparisons.
func (f *fixture) dump(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, k := range f.mr.Keys() {
		if f.mr.Type(k) != "hash" {
			out[k] = map[string]string{"<type>": f.mr.Type(k)}
			continue
		}
		fields, err := f.mr.HKeys(k)
		require.NoError(t, err, k)
		m := map[string]string{}
		for _, fl := range fields {
			m[fl] = f.mr.HGet(k, fl)
		}
		out[k] = m
	}
	return out
}

// recordKeys lists the record keys (without metas), sorted.
func (f *fixture) recordKeys() []string {
	var out []string
	for _, k := range f.mr.Keys() {
		if strings.Contains(k, "}:c:") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func userChange(id, tenant string, st decision.Status, at time.Time, p int, off int64) Change {
	return Change{Subject: UserRef(id), TenantID: tenant, Purpose: "ai_training", Status: st, EffectiveAt: at, Partition: p, Offset: off}
}

func tenantChange(id string, st decision.Status, at time.Time, p int, off int64) Change {
	return Change{Subject: TenantRef(id), Purpose: "ai_training", Status: st, EffectiveAt: at, Partition: p, Offset: off}
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 3*time.Second, 5*time.Millisecond, msg)
}
