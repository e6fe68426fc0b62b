package anonymizer

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
)

// TestWithdrawalReachesEventsCurated is issue 20's last criterion, against real
// Kafka and Redis under `make test-live` (embedded ones otherwise): the
// anonymizer curates two users' events, one of them withdraws, and a consumer
// group that starts reading events.curated after the withdrawal — with read
// access to the data keys, as any curated consumer has — cannot read that
// user's earlier text, while the other user's text reads as before.
func TestWithdrawalReachesEventsCurated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := testenv.Start(t)
	cfg := DefaultConfig()
	cfg.Ephemeral = false
	cfg.Keys = Secret("k1:" + base64.StdEncoding.EncodeToString(testSecret(4)))
	cfg.Config, cfg.RegistryConfig, cfg.Topics, cfg.Redis = env.Kafka, env.Registry, env.Names, env.Redis
	cfg.RedisNamespace = env.Prefix + "cf"
	cfg.GroupID, cfg.ErasureGroupID = env.Prefix+"anonymizer", env.Prefix+"anonymizer-erasures"
	cfg.OpsAddr = ""
	cfg.PropertiesAllowlist = []string{"project"}
	require.NoError(t, cfg.Validate())

	serde, err := avro.NewSerdeFor(env.Registry)
	require.NoError(t, err)
	raw, err := avro.InteractionEvents(ctx, serde, env.Names.Consented)
	require.NoError(t, err)
	changes, err := avro.ConsentChanges(ctx, serde, env.Names.Changes)
	require.NoError(t, err)
	curatedCodec, err := avro.CuratedEvents(ctx, serde, env.Names.Curated)
	require.NoError(t, err)
	w := stream.NewWriter(env.Kafka, nil)
	defer w.Close()

	// Each user's text names a secret word only that user's records carry.
	words := map[string]string{"usr_ada_1": "Zephyrine", "usr_bob_2": "Quillon"}
	var in []kafka.Message
	for i := range 3 {
		for user, word := range words {
			e := schema.InteractionEvent{EventID: fmt.Sprintf("ev-%s-%d", user, i), EventType: "comment_added", TenantID: "org_acme",
				UserID: user, ReceivedAt: time.Now().UTC(), Text: fmt.Sprintf("draft %d of the %s rollout plan", i, word),
				Properties: map[string]string{"project": word + "-board"}}
			b, err := raw.Encode(&e)
			require.NoError(t, err)
			in = append(in, kafka.Message{Topic: env.Names.Consented, Key: []byte(user), Value: b,
				Headers: []kafka.Header{{Key: schema.HeaderConsentVersion, Value: []byte("0:0")}, {Key: schema.HeaderPurpose, Value: []byte("ai_training")}}})
		}
	}
	require.NoError(t, w.WriteMessages(ctx, in...))

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, cfg, zap.NewNop(), prometheus.NewRegistry()) }()
	defer func() {
		stop()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	}()

	rdb, err := env.Redis.NewClient(redisconn.Options{})
	require.NoError(t, err)
	defer rdb.Close()
	// A curated consumer's reader: read access to the keys, no cache.
	reader, err := shred.NewStore(rdb, shred.Options{Namespace: cfg.RedisNamespace, CacheTTL: -1})
	require.NoError(t, err)
	consume := func(group string) (texts map[string][]string, outcomes map[string][]shred.Outcome) {
		t.Helper()
		r := stream.NewReader(env.Kafka, stream.ReaderConfig{GroupID: env.Prefix + group, Topic: env.Names.Curated}, nil)
		defer r.Close()
		var evs []*schema.CuratedEvent
		for len(evs) < len(in) {
			m, err := r.FetchMessage(ctx)
			require.NoError(t, err, "read events.curated as %s: %d of %d", group, len(evs), len(in))
			for _, word := range words {
				require.NotContains(t, string(m.Value), word, "clear text on events.curated")
			}
			c, err := curatedCodec.Decode(ctx, m.Value)
			require.NoError(t, err)
			evs = append(evs, &c)
		}
		os, errs, err := reader.Open(ctx, evs)
		require.NoError(t, err)
		texts, outcomes = map[string][]string{}, map[string][]shred.Outcome{}
		for i, c := range evs {
			require.NoError(t, errs[i])
			var word string
			for _, w := range words {
				if strings.Contains(c.Text, w) || strings.Contains(c.Properties["project"], w) {
					word = w
				}
			}
			texts[c.Subject] = append(texts[c.Subject], c.Text+"|"+c.Properties["project"]+"|"+word)
			outcomes[c.Subject] = append(outcomes[c.Subject], os[i])
		}
		return texts, outcomes
	}

	// Before the withdrawal: both users' text reads.
	texts, outcomes := consume("before-withdrawal")
	require.Len(t, outcomes, 2)
	for subject, os := range outcomes {
		require.Equal(t, []shred.Outcome{shred.Opened, shred.Opened, shred.Opened}, os, "subject %s", subject)
		for _, s := range texts[subject] {
			require.Regexp(t, `^draft \d of the .+ rollout plan\|(Zephyrine|Quillon)-board\|(Zephyrine|Quillon)$`, s)
		}
	}

	// Ada withdraws; the anonymizer's erasure stage shreds her keys and writes the erasure.
	withdraw := schema.ConsentChange{SubjectType: schema.SubjectUser, SubjectID: "usr_ada_1", Purpose: "ai_training",
		Status: schema.StatusDenied, EffectiveAt: time.Now().UTC().Truncate(time.Millisecond)}
	b, err := changes.Encode(&withdraw)
	require.NoError(t, err)
	require.NoError(t, w.WriteMessages(ctx, kafka.Message{Topic: env.Names.Changes, Key: []byte("user:usr_ada_1/ai_training"), Value: b}))
	readN(t, ctx, env, env.Names.Erasures, 1)

	// A consumer group that starts after the withdrawal reads every record of
	// the topic, and Ada's content is gone from all of them; Bob's is intact.
	texts, outcomes = consume("after-withdrawal")
	require.Len(t, outcomes, 2)
	var ada, bob int
	for subject, os := range outcomes {
		joined := strings.Join(texts[subject], "\n")
		switch {
		case strings.Contains(joined, "Quillon"):
			bob++
			require.Equal(t, []shred.Outcome{shred.Opened, shred.Opened, shred.Opened}, os)
		default:
			ada++
			require.Equal(t, []shred.Outcome{shred.Erased, shred.Erased, shred.Erased}, os, "Ada's records after her withdrawal: %q", texts[subject])
			require.NotContains(t, joined, "Zephyrine")
			require.NotContains(t, joined, "draft")
		}
	}
	require.Equal(t, 1, ada)
	require.Equal(t, 1, bob)
}
