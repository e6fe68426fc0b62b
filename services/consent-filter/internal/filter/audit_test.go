package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/stretchr/testify/require"
)

// The audit reference keys the subject per purpose: the audit trails of two
// purposes share no subject reference, while one purpose's decisions of a
// subject share one (the audit can still be followed per subject).
func TestSubjectRefIsPerPurpose(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	alice := identity.Subject{Kind: identity.User, Tenant: "acme", ID: "alice"}
	a, b := SubjectRef(key, "ai_training", alice), SubjectRef(key, "analytics", alice)
	require.NotEqual(t, a, b)
	require.Equal(t, a, SubjectRef(key, "ai_training", alice))
	require.Regexp(t, `^a3:[0-9a-f]{32}$`, a)
	// length prefixes: moving bytes between parts changes the reference
	require.NotEqual(t, SubjectRef(key, "p", identity.Subject{Kind: identity.User, Tenant: "ac", ID: "mealice"}),
		SubjectRef(key, "p", identity.Subject{Kind: identity.User, Tenant: "acme", ID: "alice"}))
	require.NotEqual(t, SubjectRef(key, "xp", identity.Subject{Kind: identity.User, Tenant: "t", ID: "a"}),
		SubjectRef(key, "p", identity.Subject{Kind: identity.User, Tenant: "t", ID: "ax"}))
}

func TestCoarsen(t *testing.T) {
	at := time.Date(2025, 3, 4, 13, 47, 12, 345e6, time.FixedZone("X", 3600))
	require.Equal(t, time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC), Coarsen(at, time.Hour))
	require.Equal(t, time.Date(2025, 3, 4, 12, 45, 0, 0, time.UTC), Coarsen(at, 15*time.Minute))
	require.Equal(t, Coarsen(at, time.Hour), Coarsen(at, 0), "zero means an hour")
}

// TestSubjectRefKnownAnswers pins the documented derivation with values
// computed outside this code (Python's hmac over the length-prefixed message),
// for single calls and for one batch's reused HMAC state, in both orders.
func TestSubjectRefKnownAnswers(t *testing.T) {
	key := []byte("audit-key-0123456789abcdef012345")
	cases := []struct {
		s    identity.Subject
		want string
	}{
		{identity.Subject{Kind: identity.User, Tenant: "acme", ID: "alice"}, "a3:489943cc3f664fb7df92f37774aeebe0"},
		{identity.Subject{Kind: identity.User, Tenant: "acme", ID: "bob"}, "a3:509c3ea54435ad6ccb2bf015dae90b5e"},
		{identity.Subject{Kind: identity.Anonymous, ID: strings.Repeat("x", 200)}, "a3:59cb608f0a2debddff78f1e413884357"},
	}
	batch := newRefs(key, "ai_training")
	reversed := newRefs(key, "ai_training")
	for i, c := range cases {
		require.Equal(t, c.want, SubjectRef(key, "ai_training", c.s))
		require.Equal(t, c.want, batch.of(c.s).s)
		require.Equal(t, c.want, string(batch.of(c.s).b), "the key bytes")
		require.Equal(t, c.want, batch.of(c.s).s, "second time, from the batch's memo")
		r := cases[len(cases)-1-i]
		require.Equal(t, r.want, reversed.of(r.s).s)
	}
}
