package consentfilter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
	"github.com/consentflow/consentflow/services/consent-filter/internal/filter"
)

const token = "test-writer-token"

// harness runs one consent-filter against the test environment, with Redis
// reached through a proxy the test can cut.
type harness struct {
	t       *testing.T
	env     *testenv.Env
	apiURL  string
	proxy   *proxy
	rdb     redis.UniversalClient
	raw     *avro.Codec[schema.InteractionEvent]
	dec     *avro.Codec[schema.ConsentDecision]
	writer  *kafka.Writer
	ns      string
	stop    func()
	decided chan schema.ConsentDecision
	allowed chan schema.InteractionEvent
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func start(t *testing.T) *harness { return startWith(t, nil) }

// startWith is start with extra settings of the consent-filter.
func startWith(t *testing.T, extra map[string]string) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	env := testenv.Start(t)
	px := newProxy(t, env.Redis.Addr)
	h := &harness{t: t, env: env, proxy: px, ns: strings.TrimSuffix(env.Prefix, "."),
		decided: make(chan schema.ConsentDecision, 10000), allowed: make(chan schema.InteractionEvent, 10000)}
	h.rdb = env.RedisClient(t, redisconn.Options{})

	apiAddr := freeAddr(t)
	h.apiURL = "http://" + apiAddr
	var cfg consentfilter.Config
	viaProxy := env.Redis
	viaProxy.Addr = px.Addr()
	vars := map[string]string{
		"REDIS_NAMESPACE": h.ns, "CONSENT_HTTP_ADDR": apiAddr,
		"OPS_ADDR":       freeAddr(t), // an empty value would mean the default port, maybe taken on a shared machine
		"CONSENT_TOKENS": "t:plain:" + token + "=consent:read|consent:write|consent:import", "AUDIT_KEY_EPHEMERAL": "true",
		"FILTER_GROUP_ID":       env.Prefix + "filter",
		"TOPIC_CONSENT_CHANGES": env.Names.Changes, "TOPIC_EVENTS_RAW": env.Names.Raw, "TOPIC_EVENTS_CONSENTED": env.Names.Consented,
		"TOPIC_CONSENT_DECISIONS": env.Names.Decisions, "TOPIC_EVENTS_DLQ": env.Names.DLQ,
	}
	maps.Copy(vars, config.Environ(&env.Kafka))
	maps.Copy(vars, config.Environ(&env.Registry))
	maps.Copy(vars, config.Environ(&viaProxy))
	maps.Copy(vars, extra)
	require.NoError(t, config.LoadFrom(&cfg, vars))
	logger := zaptest.NewLogger(t)
	done := make(chan error, 1)
	var stop func()
	go func() { done <- consentfilter.Run(ctx, cfg, logger, prometheus.NewRegistry()) }()
	var stopped sync.Once
	h.stop = func() { stopped.Do(stop) }
	stop = func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("consent-filter did not stop within 30s")
		}
	}
	t.Cleanup(h.stop)

	serde, err := avro.NewSerdeFor(env.Registry)
	require.NoError(t, err)
	h.raw, err = avro.InteractionEvents(ctx, serde, env.Names.Raw)
	require.NoError(t, err)
	h.dec, err = avro.ConsentDecisions(ctx, serde, env.Names.Decisions)
	require.NoError(t, err)
	h.writer = stream.NewWriter(env.Kafka, logger)
	t.Cleanup(func() { h.writer.Close() })

	h.consume(ctx, env.Names.Decisions, func(m kafka.Message) {
		d, err := h.dec.Decode(ctx, m.Value)
		require.NoError(t, err)
		h.decided <- d
	})
	h.consume(ctx, env.Names.Consented, func(m kafka.Message) {
		e, err := h.raw.Decode(ctx, m.Value)
		require.NoError(t, err)
		require.NotEmpty(t, stream.Header(m, "policy-version"))
		h.allowed <- e
	})
	h.waitReady()
	return h
}

func (h *harness) consume(ctx context.Context, topic string, fn func(kafka.Message)) {
	r := stream.NewReader(h.env.Kafka, stream.ReaderConfig{GroupID: h.env.Prefix + "check-" + topic, Topic: topic}, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				return
			}
			fn(m)
		}
	}()
	h.t.Cleanup(func() { r.Close(); wg.Wait() })
}

// waitReady waits until the consent API answers a read (the store is complete).
func (h *harness) waitReady() {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, _ := h.call("GET", "/v1/tenants/probe/users/probe/consents", nil)
		if code == 200 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatal("consent store never became ready")
}

func (h *harness) call(method, path string, body any) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.apiURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// set records a consent and returns the version the API answered:
// set("tenants", tenant, status) or set("users", tenant+"/"+user, status).
func (h *harness) set(kind, id, status string) string {
	h.t.Helper()
	path := fmt.Sprintf("/v1/tenants/%s/consents/ai_training", id)
	if tenant, user, ok := strings.Cut(id, "/"); ok {
		path = fmt.Sprintf("/v1/tenants/%s/%s/%s/consents/ai_training", tenant, kind, user)
	}
	code, body := h.call("PUT", path, map[string]string{"status": status, "source": "test"})
	require.Equal(h.t, 200, code, "%v", body)
	require.NotEmpty(h.t, body["version"])
	v, _ := body["version"].(string)
	return v
}

func (h *harness) send(evs ...schema.InteractionEvent) {
	h.t.Helper()
	msgs := make([]kafka.Message, len(evs))
	for i := range evs {
		b, err := h.raw.Encode(&evs[i])
		require.NoError(h.t, err)
		msgs[i] = kafka.Message{Topic: h.env.Names.Raw, Key: []byte(evs[i].Subject()), Value: b}
	}
	require.NoError(h.t, h.writer.WriteMessages(context.Background(), msgs...))
}

func event(user, tenant, jurisdiction string) schema.InteractionEvent {
	return schema.InteractionEvent{EventID: uuid.NewString(), EventType: "page_viewed", TenantID: tenant, UserID: user,
		ReceivedAt: time.Now().UTC().Truncate(time.Millisecond), Jurisdiction: jurisdiction, Source: "api"}
}

// collect waits for n decisions.
func (h *harness) collect(n int, within time.Duration) map[string]schema.ConsentDecision {
	h.t.Helper()
	out := map[string]schema.ConsentDecision{}
	deadline := time.After(within)
	for len(out) < n {
		select {
		case d := <-h.decided:
			out[d.EventID] = d
		case <-deadline:
			h.t.Fatalf("got %d of %d decisions", len(out), n)
		}
	}
	return out
}

func TestDecisionsEndToEndIncludingTenantOptOut(t *testing.T) {
	h := start(t)
	h.set("users", "globex/alice", "granted")    // DE, opt_in, granted → allow
	h.set("users", "globex/bob", "denied")       // US opt_out but denied → deny
	acme := h.set("tenants", "acme", "denied")   // all acme users denied
	h.set("users", "acme/carol-acme", "granted") // tenant opt-out overrides the user's grant

	evs := []schema.InteractionEvent{
		event("alice", "globex", "DE"),
		event("bob", "globex", "US"),
		event("dave", "globex", "US"),     // no record, opt_out → allow
		event("erin", "globex", "FR"),     // no record, opt_in → deny
		event("carol-acme", "acme", "DE"), // tenant opt-out
		event("frank-acme", "acme", "US"), // tenant opt-out
		event("gpc-user", "globex", "US-CA"),
	}
	evs[6].GPC = true
	h.send(evs...)
	got := h.collect(len(evs), 30*time.Second)
	want := map[string]string{
		evs[0].EventID: "allowed_consent", evs[1].EventID: "user_opt_out", evs[2].EventID: "allowed_opt_out_regime",
		evs[3].EventID: "no_consent", evs[4].EventID: "tenant_opt_out", evs[5].EventID: "tenant_opt_out", evs[6].EventID: "gpc",
	}
	for id, reason := range want {
		require.Equal(t, reason, got[id].Reason, id)
		require.NotContains(t, got[id].SubjectRef, "alice")
		// the audit trail keeps the hour only (AUDIT_TIME_GRANULARITY)
		for _, ts := range []time.Time{got[id].ReceivedAt, got[id].DecidedAt} {
			require.Zero(t, ts.UnixMilli()%time.Hour.Milliseconds(), "%s: %s is not coarsened", id, ts)
		}
		require.Equal(t, filter.Coarsen(evs[0].ReceivedAt, time.Hour), got[id].ReceivedAt)
	}
	// The audit record names the state it used: the tenant's change (acme) or
	// none (globex), and the change the decision rested on.
	require.Equal(t, acme, got[evs[4].EventID].TenantConsentVersion)
	require.Equal(t, acme, got[evs[4].EventID].ConsentVersion, "rule 1 rests on the tenant's change")
	require.Equal(t, acme, got[evs[5].EventID].TenantConsentVersion)
	require.Empty(t, got[evs[0].EventID].TenantConsentVersion, "globex has no tenant record")
	require.Empty(t, got[evs[2].EventID].ConsentVersion, "rule 4 rests on the regime alone")
	allowed := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for len(allowed) < 2 {
		select {
		case e := <-h.allowed:
			allowed[e.EventID] = true
		case <-timeout:
			t.Fatalf("allowed events: %v", allowed)
		}
	}
	require.True(t, allowed[evs[0].EventID] && allowed[evs[2].EventID])
	select {
	case e := <-h.allowed:
		t.Fatalf("unexpected allowed event %s", e.EventID)
	case <-time.After(500 * time.Millisecond):
	}
}

// TestRedisFlushedMidStream: not one event of an opted-out user passes while
// Redis is rebuilt, and the stream resumes by itself.
func TestRedisFlushedMidStream(t *testing.T) {
	h := start(t)
	const users = 20
	for i := 0; i < users; i++ {
		h.set("users", fmt.Sprint("t/out-", i), "denied")
	}
	sendRound := func(round int) []schema.InteractionEvent {
		var evs []schema.InteractionEvent
		for i := 0; i < users; i++ {
			evs = append(evs, event(fmt.Sprint("out-", i), "t", "US"), event(fmt.Sprint("in-", round, "-", i), "t", "US"))
		}
		h.send(evs...)
		return evs
	}
	first := sendRound(0)
	h.collect(len(first), 30*time.Second)

	require.NoError(t, h.rdb.FlushDB(context.Background()).Err())
	second := sendRound(1)
	got := h.collect(len(second), 60*time.Second)
	for _, e := range second {
		d := got[e.EventID]
		if strings.HasPrefix(e.UserID, "out-") {
			require.Equal(t, "user_opt_out", d.Reason, "opted-out user passed after flush")
		} else {
			require.Equal(t, "allowed_opt_out_regime", d.Reason)
		}
	}
}

// TestRedisDownPausesWithoutOutputOrCommit: while Redis is unreachable nothing is
// decided, written or committed; when it is back the events are decided.
func TestRedisDownPausesWithoutOutputOrCommit(t *testing.T) {
	h := start(t)
	h.set("users", "t/quiet", "denied")
	h.send(event("warmup", "t", "US"))
	h.collect(1, 30*time.Second)

	h.proxy.Cut()
	evs := []schema.InteractionEvent{event("quiet", "t", "US"), event("loud", "t", "US")}
	h.send(evs...)
	select {
	case d := <-h.decided:
		t.Fatalf("decision %s while Redis was down", d.Reason)
	case <-time.After(3 * time.Second):
	}
	lag, err := stream.GroupLag(context.Background(), h.env.Kafka, h.env.Prefix+"filter", h.env.Names.Raw)
	require.NoError(t, err)
	require.EqualValues(t, 2, lag, "nothing committed while paused")

	h.proxy.Restore()
	got := h.collect(2, 30*time.Second)
	require.Equal(t, "user_opt_out", got[evs[0].EventID].Reason)
	require.Equal(t, "allowed_opt_out_regime", got[evs[1].EventID].Reason)
}

func TestConsentAPIContract(t *testing.T) {
	h := start(t)
	code, _ := h.call("PUT", "/v1/users/u1/consents/ai_training", map[string]string{"status": "maybe"})
	require.Equal(t, 400, code)
	code, _ = h.call("PUT", "/v1/users/u1/consents/not_a_purpose", map[string]string{"status": "granted"})
	require.Equal(t, 400, code)
	code, body := h.call("PUT", "/v1/users/u1/consents/ai_training", map[string]string{"status": "granted", "source": "settings", "tenant_id": "acme"})
	require.Equal(t, 200, code)
	require.Equal(t, "granted", body["status"])
	require.Regexp(t, `^\d+:\d+$`, body["version"])

	req, _ := http.NewRequest("GET", h.apiURL+"/v1/users/u1/consents", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)

	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = h.call("GET", "/v1/users/u1/consents?jurisdiction=DE&tenant_id=acme", nil)
		require.Equal(t, 200, code)
		p := body["purposes"].(map[string]any)["ai_training"].(map[string]any)
		if p["status"] == "granted" {
			require.Equal(t, "opt_in", body["regime"])
			require.Equal(t, "acme", body["tenant_id"])
			break
		}
		require.True(t, time.Now().Before(deadline), "grant never visible: %v", body)
		time.Sleep(20 * time.Millisecond)
	}

	ndjson := `{"subject_type":"user","subject_id":"m1","tenant_id":"acme","purpose":"ai_training","status":"denied","source":"migration","effective_at":"2024-01-02T03:04:05Z"}
{"subject_type":"tenant","subject_id":"t9","purpose":"ai_training","status":"granted","source":"migration"}`
	req, _ = http.NewRequest("POST", h.apiURL+"/v1/consents/import", strings.NewReader(ndjson))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var imp map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&imp))
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%v", imp)
	require.EqualValues(t, 2, imp["imported"])

	bad := `{"subject_type":"user","subject_id":"m1","tenant_id":"acme","purpose":"ai_training","status":"denied"}
{"subject_type":"robot","subject_id":"x","purpose":"ai_training","status":"denied"}`
	req, _ = http.NewRequest("POST", h.apiURL+"/v1/consents/import", strings.NewReader(bad))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 400, resp.StatusCode)
	require.Contains(t, string(b), "line 2: subject_type")
}
