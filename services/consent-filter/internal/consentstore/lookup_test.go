package consentstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

func TestLookupBatchIsOnePipeline(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	var batch []Change
	var refs []SubjectRef
	for i := range 300 {
		tenant := fmt.Sprintf("t%d", i%10)
		if i%2 == 0 {
			batch = append(batch, userChange(fmt.Sprintf("u%d", i), tenant, decision.Granted, t0, i%4, int64(i)))
		}
		// A fetched batch: every event's user and its tenant, with repeats.
		refs = append(refs, UserRef(fmt.Sprintf("u%d", i)), TenantRef(tenant))
	}
	batch = append(batch, tenantChange("t3", decision.Denied, t0, 0, 1000))
	require.NoError(t, w.Apply(ctx, batch))

	f.hook.reset()
	got, err := f.store.Lookup(ctx, "ai_training", refs)
	require.NoError(t, err)
	pipes, singles := f.hook.snapshot()
	require.Len(t, pipes, 1, "one round trip")
	assert.Empty(t, singles)
	for _, name := range pipes[0] {
		assert.Contains(t, []string{"hmget", "hget"}, name, "only single-key commands")
	}
	// 300 users + 10 tenants deduplicated, plus ≤16 bucket gens and cf:meta.
	assert.LessOrEqual(t, len(pipes[0]), 310+16+1)
	assert.Len(t, got, 151)
	assert.Equal(t, decision.Denied, got[TenantRef("t3")].Status)
	assert.Equal(t, "t4", got[UserRef("u4")].TenantID)
	assert.NotContains(t, got, UserRef("u1"))
}

func TestLookupRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	_, err := f.store.Lookup(ctx, "a:b", []SubjectRef{UserRef("x")})
	assert.Error(t, err)
	_, err = f.store.Lookup(ctx, "p", []SubjectRef{{Kind: "x", ID: "y"}})
	assert.Error(t, err)
	got, err := f.store.Lookup(ctx, "p", nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestLookupRedisDown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	w, err := f.store.OpenWriter(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, w.Apply(ctx, []Change{userChange("a", "", decision.Denied, t0, 0, 0)}))
	f.mr.Close()
	_, err = f.store.Lookup(ctx, "ai_training", []SubjectRef{UserRef("a")})
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNotReady)
}

func TestSubjectHelpers(t *testing.T) {
	assert.Equal(t, "user:/a:b", UserRef("a:b").String())
	assert.Equal(t, "user:acme/a%2Fb", TenantUserRef("acme", "a/b").String())
	assert.Equal(t, "anonymous:acme/c", AnonymousRef("acme", "c").String())
	assert.Equal(t, "tenant:acme", TenantRef("acme").String())
}
