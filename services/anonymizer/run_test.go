package anonymizer

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func testSecret(seed byte) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = seed*31 + byte(i)*7
	}
	return b
}

// readN consumes n records of topic from the beginning, under a fresh group.
func readN(t *testing.T, ctx context.Context, env *testenv.Env, topic string, n int) []kafka.Message {
	t.Helper()
	r := stream.NewReader(env.Kafka, stream.ReaderConfig{GroupID: env.Prefix + "check-" + topic, Topic: topic}, nil)
	defer r.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		require.NoError(t, err, "read %s: got %d of %d", topic, len(out), n)
		out = append(out, m)
	}
	return out
}

// TestRunEndToEnd runs the service against the embedded Kafka and registry: events
// become curated records keyed by pseudonym, an undecodable record goes to the
// DLQ, DENIED changes become erasures, offsets are committed, shutdown is clean,
// and the key material never reaches the logs.
func TestRunEndToEnd(t *testing.T) {
	ctx := context.Background()
	env := testenv.Start(t)
	k2, k1 := base64.StdEncoding.EncodeToString(testSecret(2)), base64.RawURLEncoding.EncodeToString(testSecret(1))

	cfg := DefaultConfig()
	cfg.Ephemeral = false
	cfg.Keys = Secret("k2:" + k2 + ",k1:" + k1)
	cfg.Config, cfg.RegistryConfig, cfg.Topics, cfg.Redis = env.Kafka, env.Registry, env.Names, env.Redis
	cfg.RedisNamespace = env.Prefix + "cf"
	cfg.GroupID, cfg.ErasureGroupID = env.Prefix+"anonymizer", env.Prefix+"anonymizer-erasures"
	cfg.OpsAddr = "127.0.0.1:0"
	cfg.PropertiesAllowlist = []string{"plan"}
	require.NoError(t, cfg.Validate())

	// Inputs: two events, one undecodable record, three consent changes.
	serde, err := avro.NewSerdeFor(env.Registry)
	require.NoError(t, err)
	raw, err := avro.InteractionEvents(ctx, serde, env.Names.Consented)
	require.NoError(t, err)
	changes, err := avro.ConsentChanges(ctx, serde, env.Names.Changes)
	require.NoError(t, err)
	w := stream.NewWriter(env.Kafka, nil)
	defer w.Close()
	var in []kafka.Message
	for i, user := range []string{"usr_alpha1", "usr_beta22"} {
		e := schema.InteractionEvent{EventID: fmt.Sprintf("ev-%d", i), EventType: "comment_added", TenantID: "org_acme",
			UserID: user, ReceivedAt: time.Date(2024, 5, 17, 13, 47, 0, 0, time.UTC), IP: "198.51.100.23",
			Text: "mail me at jane.doe@example.com", Properties: map[string]string{"plan": "pro", "email": "jane.doe@example.com"}}
		b, err := raw.Encode(&e)
		require.NoError(t, err)
		in = append(in, kafka.Message{Topic: env.Names.Consented, Key: []byte(user), Value: b,
			Headers: []kafka.Header{{Key: "consent-version", Value: []byte("0:0")}, {Key: "policy-version", Value: []byte("p9")}, {Key: "purpose", Value: []byte("ai_training")}}})
	}
	in = append(in, kafka.Message{Topic: env.Names.Consented, Key: []byte("usr_bad"), Value: []byte("not avro")})
	for _, c := range []schema.ConsentChange{
		{SubjectType: schema.SubjectUser, SubjectID: "usr_alpha1", Purpose: "ai_training", Status: schema.StatusDenied, EffectiveAt: time.UnixMilli(1_715_950_000_000).UTC()},
		{SubjectType: schema.SubjectUser, SubjectID: "usr_beta22", Purpose: "ai_training", Status: schema.StatusGranted, EffectiveAt: time.UnixMilli(1_715_950_000_000).UTC()},
		{SubjectType: schema.SubjectTenant, SubjectID: "org_other", Purpose: "ai_training", Status: schema.StatusDenied, EffectiveAt: time.UnixMilli(1_715_950_000_000).UTC()},
	} {
		b, err := changes.Encode(&c)
		require.NoError(t, err)
		in = append(in, kafka.Message{Topic: env.Names.Changes, Key: []byte("user:" + c.SubjectID + "/" + c.Purpose), Value: b})
	}
	require.NoError(t, w.WriteMessages(ctx, in...))

	core, logs := observer.New(zapcore.DebugLevel)
	reg := prometheus.NewRegistry()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, cfg, zap.New(core), reg) }()

	kr, err := keyring.ParseList(string(cfg.Keys))
	require.NoError(t, err)

	curated := readN(t, ctx, env, env.Names.Curated, 2)
	curatedCodec, err := avro.CuratedEvents(ctx, serde, env.Names.Curated)
	require.NoError(t, err)
	subjects := map[string]bool{}
	var sealed []*schema.CuratedEvent
	for _, m := range curated {
		c, err := curatedCodec.Decode(ctx, m.Value)
		require.NoError(t, err)
		require.Equal(t, c.Subject, string(m.Key))
		require.True(t, strings.HasPrefix(c.Subject, "k2:"))
		require.NotEmpty(t, c.Sealed, "the content is sealed")
		require.Empty(t, c.Text)
		require.Empty(t, c.Properties)
		require.Equal(t, "0:0", c.ConsentVersion) // decided before the DENIED below (at or after 0:0)
		require.Equal(t, "p9", c.PolicyVersion)
		require.Equal(t, "198.51.100.0/24", c.IPPrefix)
		subjects[c.Subject] = true
		sealed = append(sealed, &c)
	}
	alpha := kr.Pseudonym(keyring.User, "ai_training", "usr_alpha1")
	require.Equal(t, map[string]bool{alpha: true, kr.Pseudonym(keyring.User, "ai_training", "usr_beta22"): true}, subjects)

	dlq := readN(t, ctx, env, env.Names.DLQ, 1)
	require.Equal(t, []byte("not avro"), dlq[0].Value)
	require.Equal(t, "anonymizer", string(stream.Header(dlq[0], stream.HeaderStage)))

	erasureMsgs := readN(t, ctx, env, env.Names.Erasures, 2)
	erasureCodec, err := avro.Erasures(ctx, serde, env.Names.Erasures)
	require.NoError(t, err)
	scopes := map[string][]string{}
	for _, m := range erasureMsgs {
		e, err := erasureCodec.Decode(ctx, m.Value)
		require.NoError(t, err)
		require.Equal(t, e.Pseudonyms[0], string(m.Key))
		scopes[e.Scope] = e.Pseudonyms
	}
	require.Equal(t, map[string][]string{
		schema.ScopeSubject: kr.Pseudonyms(keyring.User, "ai_training", "usr_alpha1"),
		schema.ScopeTenant:  kr.Pseudonyms(keyring.Tenant, "ai_training", "org_other"),
	}, scopes)

	// A reader with the key store opens usr_beta22's record; usr_alpha1 withdrew,
	// so its record (sealed before or withheld after the erasure) is unreadable.
	rdb, err := env.Redis.NewClient(redisconn.Options{})
	require.NoError(t, err)
	defer rdb.Close()
	reader, err := shred.NewStore(rdb, shred.Options{Namespace: cfg.RedisNamespace, Purpose: "ai_training", CacheTTL: -1})
	require.NoError(t, err)
	outcomes, errs, err := reader.Open(ctx, sealed)
	require.NoError(t, err)
	for i, c := range sealed {
		require.NoError(t, errs[i])
		if c.Subject == alpha {
			require.Equal(t, shred.Erased, outcomes[i])
			require.Empty(t, c.Text)
			continue
		}
		require.Equal(t, shred.Opened, outcomes[i])
		require.Equal(t, "mail me at <EMAIL_ADDRESS>", c.Text)
		require.Equal(t, map[string]string{"plan": "pro"}, c.Properties)
		require.Equal(t, "comment_added", c.EventType)
	}

	// Everything consumed is committed (outputs were acknowledged first).
	require.Eventually(t, func() bool {
		a, err1 := stream.GroupLag(ctx, env.Kafka, cfg.GroupID, env.Names.Consented)
		b, err2 := stream.GroupLag(ctx, env.Kafka, cfg.ErasureGroupID, env.Names.Changes)
		return err1 == nil && err2 == nil && a == 0 && b == 0
	}, 15*time.Second, 100*time.Millisecond)

	stop()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}

	require.Equal(t, 3.0, testutil.ToFloat64(metricByName(t, reg, "consentflow_anonymizer_events_in_total")))
	var all strings.Builder
	for _, e := range logs.All() {
		all.WriteString(e.Message)
		for k, v := range e.ContextMap() {
			fmt.Fprintf(&all, " %s=%v", k, v)
		}
		all.WriteByte('\n')
	}
	out := all.String()
	require.Contains(t, out, "pseudonym keyring loaded")
	require.Contains(t, out, "k2")
	for _, s := range []string{k2, k1, k2[:16], k1[:16], string(testSecret(1)), fmt.Sprintf("%x", testSecret(2))} {
		require.NotContains(t, out, s, "key material in logs")
	}
	for _, s := range []string{"jane.doe", "usr_alpha1", "usr_beta22", "org_acme", "198.51.100.23"} {
		require.NotContains(t, out, s, "raw data in logs")
	}
}

func metricByName(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: "x"}, func() float64 {
				return mf.GetMetric()[0].GetCounter().GetValue()
			})
		}
	}
	t.Fatalf("metric %s not registered", name)
	return nil
}
