package filter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/avro/avrotest"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

// The filter reads only part of each event (Codec.Head). Over generated
// events — identify/alias/track, user and anonymous ids, previous ids,
// unicode, empty and invalid ids, every jurisdiction/GPC mix — what the
// decision is made from (subjects and links, validation, decision input)
// is the same whether the event was read that way or decoded in full by
// goavro (the path the filter took before), written out here.
func TestPartialReadDecidesAsFullDecode(t *testing.T) {
	ctx := context.Background()
	serde := avrotest.Serde(t)
	raw, err := avro.InteractionEvents(ctx, serde, "events.raw")
	require.NoError(t, err)

	r := rand.New(rand.NewPCG(16, 1))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	id := func() string {
		return pick("", "", "u1", "7", "user/7", "100%", "Jürgen", "名前", " ", "..", "a\u200bb", "\xff", fmt.Sprint(r.IntN(1000)))
	}
	modes := []identity.Modes{identity.DefaultModes(), {UserIDs: identity.Global, AnonymousIDs: identity.TenantScoped}, {UserIDs: identity.Global, AnonymousIDs: identity.Global}}
	for i := range 5000 {
		ev := schema.InteractionEvent{
			EventID: pick("", "e-"+fmt.Sprint(i)), EventType: pick("track", "identify", "alias", "page_viewed", "group"),
			TenantID: pick("", "acme", "t/1", "テナント"), UserID: id(), AnonymousID: id(), PreviousID: id(),
			SessionID: id(), Jurisdiction: pick("", "DE", "US-CA", "BR"), GPC: r.IntN(2) == 0,
			ReceivedAt: pick2(r, time.Time{}, time.UnixMilli(1_700_000_000_000+r.Int64N(1e9)).UTC()),
			Text:       "Maria Schmidt wrote " + id(), Properties: map[string]string{"page": id(), "plan": "pro"},
			ActorName: id(), ClientConsent: pick("", "granted", "denied"), Source: pick("", "api", "segment"),
		}
		// goavro's path, as the filter decoded before.
		native, _, err := serde.Decode(ctx, mustEncode(t, raw, &ev))
		require.NoError(t, err)
		full, err := schema.InteractionEventFromNative(native)
		require.NoError(t, err)
		part, err := raw.Head().Decode(ctx, mustEncode(t, raw, &ev))
		require.NoError(t, err)

		for _, m := range modes {
			fs, ferr := subjectsOf(m, &full)
			ps, perr := subjectsOf(m, &part)
			require.Equal(t, fmt.Sprint(ferr), fmt.Sprint(perr), "event %d", i)
			require.Equal(t, fs, ps, "event %d: subjects", i)
		}
		require.Equal(t, fmt.Sprint(validate(&full)), fmt.Sprint(validate(&part)), "event %d", i)
		in := func(e *schema.InteractionEvent) decision.Input {
			return decision.Input{ReceivedAt: e.ReceivedAt, Jurisdiction: e.Jurisdiction, GPC: e.GPC, Purpose: "ai_training"}
		}
		require.Equal(t, in(&full), in(&part), "event %d: decision input", i)
		require.Equal(t, [2]string{full.EventID, full.TenantID}, [2]string{part.EventID, part.TenantID}, "event %d", i)
	}
}

func pick2[T any](r *rand.Rand, a, b T) T {
	if r.IntN(5) == 0 {
		return a
	}
	return b
}

func mustEncode(t *testing.T, c *avro.Codec[schema.InteractionEvent], ev *schema.InteractionEvent) []byte {
	t.Helper()
	b, err := c.Encode(ev)
	require.NoError(t, err)
	return b
}
