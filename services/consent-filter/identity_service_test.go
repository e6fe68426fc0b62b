package consentfilter_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
)

// changesLog collects consent.changes as they are written.
type changesLog struct {
	mu   sync.Mutex
	recs []struct {
		c       schema.ConsentChange
		version string
	}
}

func (h *harness) watchChanges(t *testing.T) *changesLog {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	serde, err := avro.NewSerdeFor(h.env.Registry)
	require.NoError(t, err)
	codec, err := avro.ConsentChanges(ctx, serde, h.env.Names.Changes)
	require.NoError(t, err)
	l := &changesLog{}
	h.consume(ctx, h.env.Names.Changes, func(m kafka.Message) {
		c, err := codec.Decode(ctx, m.Value)
		require.NoError(t, err)
		l.mu.Lock()
		l.recs = append(l.recs, struct {
			c       schema.ConsentChange
			version string
		}{c, schema.Version{Partition: m.Partition, Offset: m.Offset}.String()})
		l.mu.Unlock()
	})
	return l
}

func (l *changesLog) find(pred func(schema.ConsentChange) bool) (schema.ConsentChange, string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if pred(r.c) {
			return r.c, r.version, true
		}
	}
	return schema.ConsentChange{}, "", false
}

func (h *harness) waitLinked(t *testing.T, tenant, user, anon string) {
	t.Helper()
	require.Eventually(t, func() bool {
		code, body := h.call("GET", "/v1/tenants/"+url.PathEscape(tenant)+"/users/"+url.PathEscape(user)+"/consents", nil)
		if code != 200 {
			return false
		}
		for _, l := range body["linked"].([]any) {
			if m := l.(map[string]any); m["subject_type"] == "anonymous" && m["subject_id"] == anon {
				return true
			}
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "link %s/%s ↔ %s never showed", tenant, user, anon)
}

func anonEvent(anon, tenant, jurisdiction string) schema.InteractionEvent {
	e := event("", tenant, jurisdiction)
	e.AnonymousID = anon
	return e
}

// Identity stitching against the running filter: an identify event links the
// anonymous id to the user; after the user withdraws, their logged-out events
// are denied and the materializer asks to erase the anonymous id's rows; a
// cookie banner's denial of an anonymous id reaches the user once they log in.
func TestIdentityStitching(t *testing.T) {
	h := start(t)
	changes := h.watchChanges(t)

	identify := event("7", "acme", "US")
	identify.AnonymousID, identify.EventType = "cookie-1", "identify"
	h.send(identify)
	got := h.collect(1, 30*time.Second)
	require.Equal(t, "allowed_opt_out_regime", got[identify.EventID].Reason)
	h.waitLinked(t, "acme", "7", "cookie-1")
	require.Eventually(t, func() bool {
		link, _, ok := changes.find(func(c schema.ConsentChange) bool { return c.Status == schema.StatusLinked })
		return ok && link.TenantID == "acme"
	}, 20*time.Second, 20*time.Millisecond, "the filter recorded the link on consent.changes")

	h.set("users", "acme/7", "denied")
	loggedOut := anonEvent("cookie-1", "acme", "US")
	otherTenant := event("7", "globex", "US") // user 7 of another tenant is someone else
	h.send(loggedOut, otherTenant)
	got = h.collect(2, 30*time.Second)
	assert.Equal(t, "linked_opt_out", got[loggedOut.EventID].Reason, "logged-out events of a withdrawn user are denied")
	assert.Equal(t, "allowed_opt_out_regime", got[otherTenant.EventID].Reason)
	var denialVersion string
	require.Eventually(t, func() bool {
		var ok bool
		_, denialVersion, ok = changes.find(func(c schema.ConsentChange) bool {
			return c.Status == schema.StatusDenied && c.SubjectID == "7" && c.TenantID == "acme"
		})
		return ok
	}, 20*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		e, _, ok := changes.find(func(c schema.ConsentChange) bool {
			return c.Status == schema.StatusErase && c.SubjectType == schema.SubjectAnonymous && c.SubjectID == "cookie-1"
		})
		return ok && e.TriggerVersion == denialVersion && e.TenantID == "acme"
	}, 20*time.Second, 20*time.Millisecond, "an erasure request for the linked anonymous id, triggered by the denial")

	// Cookie banner: the anonymous id is denied before the person logs in.
	h.set("anonymous", "acme/cookie-2", "denied")
	login := event("8", "acme", "US")
	login.AnonymousID, login.EventType = "cookie-2", "identify"
	h.send(login)
	got = h.collect(1, 30*time.Second)
	assert.Equal(t, "linked_opt_out", got[login.EventID].Reason, "the event carrying both ids")
	h.waitLinked(t, "acme", "8", "cookie-2")
	later := event("8", "acme", "US")
	h.send(later)
	got = h.collect(1, 30*time.Second)
	assert.Equal(t, "linked_opt_out", got[later.EventID].Reason, "the banner's denial is not ignored once the person logs in")
	require.Eventually(t, func() bool {
		_, _, ok := changes.find(func(c schema.ConsentChange) bool {
			return c.Status == schema.StatusErase && c.SubjectType == schema.SubjectUser && c.SubjectID == "8"
		})
		return ok
	}, 20*time.Second, 20*time.Millisecond, "linking the user to a denied anonymous id erases the user's rows")
}

// Upgrading: records written before subjects had tenants (USER, no
// subject_scope, old keys) keep working after the new store rebuilds from
// consent.changes. With a tenant they are that tenant's user and anonymous
// id; without one, a denial applies to the id in every tenant until the
// tenant's subject makes a newer choice, and a grant (whose tenant is
// unknown) gives nothing.
func TestUpgradeFromTenantlessRecords(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	serde, err := avro.NewSerdeFor(h.env.Registry)
	require.NoError(t, err)
	codec, err := avro.ConsentChanges(ctx, serde, h.env.Names.Changes)
	require.NoError(t, err)
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	var msgs []kafka.Message
	for _, c := range []schema.ConsentChange{
		{SubjectType: schema.SubjectUser, SubjectID: "l1", TenantID: "acme", Purpose: "ai_training", Status: schema.StatusDenied, EffectiveAt: past},
		{SubjectType: schema.SubjectUser, SubjectID: "l2", Purpose: "ai_training", Status: schema.StatusDenied, EffectiveAt: past},
		{SubjectType: schema.SubjectUser, SubjectID: "l3", Purpose: "ai_training", Status: schema.StatusGranted, EffectiveAt: past},
		{SubjectType: schema.SubjectUser, SubjectID: "l4", Purpose: "ai_training", Status: schema.StatusDenied, EffectiveAt: past},
	} {
		b, err := codec.Encode(&c)
		require.NoError(t, err)
		msgs = append(msgs, kafka.Message{Topic: h.env.Names.Changes, Key: []byte("user:" + c.SubjectID + "/ai_training"), Value: b})
	}
	require.NoError(t, h.writer.WriteMessages(ctx, msgs...))
	h.set("users", "acme/l4", "granted") // a newer choice in acme

	evs := []schema.InteractionEvent{
		event("l1", "acme", "US"), event("l1", "globex", "US"), anonEvent("l1", "acme", "US"),
		event("l2", "acme", "US"), event("l2", "globex", "US"),
		event("l3", "acme", "DE"),
		event("l4", "acme", "DE"), event("l4", "globex", "US"),
	}
	h.send(evs...)
	got := h.collect(len(evs), 30*time.Second)
	want := []string{
		"user_opt_out", "allowed_opt_out_regime", "user_opt_out",
		"linked_opt_out", "linked_opt_out",
		"no_consent",
		"allowed_consent", "linked_opt_out",
	}
	for i, e := range evs {
		assert.Equal(t, want[i], got[e.EventID].Reason, "event %d (%s/%s%s)", i, e.TenantID, e.UserID, e.AnonymousID)
	}
}
