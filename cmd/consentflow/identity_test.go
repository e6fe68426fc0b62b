package main

// Issue 13, "tried as a new user would": each test drives the producer, the
// consent-filter (and the anonymizer) through their public HTTP APIs and
// Kafka topics, as a product team would, and checks what reaches the
// purpose's outputs. The file uses no Go API of the services beyond their
// Config and Run, so it also runs against older code (where these tests
// fail).

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/services/anonymizer"
	consentfilter "github.com/consentflow/consentflow/services/consent-filter"
	"github.com/consentflow/consentflow/services/producer"
)

const (
	ingestToken  = "ingest-token-0001"
	consentToken = "consent-token-001"
	importToken  = "import-token-0001"
	writeKey     = "server-write-key"
)

// chain is a producer, a consent-filter and (optionally) an anonymizer on
// the test environment, with what they wrote collected from the topics.
type chain struct {
	t                       *testing.T
	env                     *testenv.Env
	producerURL, consentURL string

	mu        sync.Mutex
	decisions map[string]schema.ConsentDecision
	curated   map[string]schema.CuratedEvent // by curated (keyed) event id: see curatedEventID
	erasures  []schema.Erasure
}

type chainOpts struct {
	producerTokens, consentTokens, writeKeys string
	anonymizer                               bool
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func startChain(t *testing.T, o chainOpts) *chain {
	t.Helper()
	env := testenv.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := &chain{t: t, env: env, decisions: map[string]schema.ConsentDecision{}, curated: map[string]schema.CuratedEvent{}}
	n := env.Names
	common := map[string]string{
		"TOPIC_CONSENT_CHANGES": n.Changes, "TOPIC_EVENTS_RAW": n.Raw, "TOPIC_EVENTS_CONSENTED": n.Consented,
		"TOPIC_EVENTS_CURATED": n.Curated, "TOPIC_CONSENT_DECISIONS": n.Decisions, "TOPIC_DATASET_ERASURES": n.Erasures,
		"TOPIC_EVENTS_DLQ": n.DLQ,
	}
	maps.Copy(common, config.Environ(&env.Kafka)) // with TLS and credentials on a secured stack
	maps.Copy(common, config.Environ(&env.Registry))
	with := func(extra map[string]string) map[string]string {
		// An empty OPS_ADDR means the default port, which another process may
		// hold; port 0 lets the kernel choose at bind (the test never calls the
		// ops server, and a port picked free beforehand can be taken meanwhile).
		m := map[string]string{"OPS_ADDR": "127.0.0.1:0"}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	if o.producerTokens == "" {
		o.producerTokens = "ingest:plain:" + ingestToken + "=events:write"
	}
	if o.consentTokens == "" {
		o.consentTokens = "api:plain:" + consentToken + "=consent:read|consent:write,migration:plain:" + importToken + "=consent:import"
	}
	if o.writeKeys == "" {
		o.writeKeys = "server:plain:" + writeKey
	}
	pAddr, cAddr := freeAddr(t), freeAddr(t)
	c.producerURL, c.consentURL = "http://"+pAddr, "http://"+cAddr
	var pcfg producer.Config
	require.NoError(t, config.LoadFrom(&pcfg, with(map[string]string{"PRODUCER_HTTP_ADDR": pAddr,
		"PRODUCER_TOKENS": o.producerTokens, "SEGMENT_WRITE_KEYS": o.writeKeys})))
	var fcfg consentfilter.Config
	fvars := with(map[string]string{"CONSENT_HTTP_ADDR": cAddr,
		"REDIS_NAMESPACE": strings.TrimSuffix(env.Prefix, "."), "CONSENT_TOKENS": o.consentTokens,
		"AUDIT_KEY_EPHEMERAL": "true", "FILTER_GROUP_ID": env.Prefix + "filter"})
	maps.Copy(fvars, config.Environ(&env.Redis))
	require.NoError(t, config.LoadFrom(&fcfg, fvars))
	var acfg anonymizer.Config
	if o.anonymizer {
		avars := with(map[string]string{"PSEUDONYM_KEYS": "k1:" + base64.StdEncoding.EncodeToString(pseudonymSecret),
			"ANONYMIZER_GROUP_ID": env.Prefix + "anon", "ANONYMIZER_ERASURE_GROUP_ID": env.Prefix + "anon-erasures",
			"REDIS_NAMESPACE": strings.TrimSuffix(env.Prefix, ".")})
		maps.Copy(avars, config.Environ(&env.Redis)) // the curated data keys
		require.NoError(t, config.LoadFrom(&acfg, avars))
	}
	var wg sync.WaitGroup
	run := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil && ctx.Err() == nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	log := zap.NewNop()
	run("producer", func() error { return producer.Run(ctx, pcfg, log, prometheus.NewRegistry()) })
	run("consent-filter", func() error { return consentfilter.Run(ctx, fcfg, log, prometheus.NewRegistry()) })
	if o.anonymizer {
		run("anonymizer", func() error { return anonymizer.Run(ctx, acfg, log, prometheus.NewRegistry()) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })

	serde, err := avro.NewSerdeFor(env.Registry)
	require.NoError(t, err)
	dec, err := avro.ConsentDecisions(ctx, serde, n.Decisions)
	require.NoError(t, err)
	c.consume(ctx, n.Decisions, func(m kafka.Message) {
		d, err := dec.Decode(ctx, m.Value)
		require.NoError(t, err)
		c.mu.Lock()
		c.decisions[d.EventID] = d
		c.mu.Unlock()
	})
	if o.anonymizer {
		cur, err := avro.CuratedEvents(ctx, serde, n.Curated)
		require.NoError(t, err)
		c.consume(ctx, n.Curated, func(m kafka.Message) {
			e, err := cur.Decode(ctx, m.Value)
			require.NoError(t, err)
			c.mu.Lock()
			c.curated[e.EventID] = e
			c.mu.Unlock()
		})
		era, err := avro.Erasures(ctx, serde, n.Erasures)
		require.NoError(t, err)
		c.consume(ctx, n.Erasures, func(m kafka.Message) {
			e, err := era.Decode(ctx, m.Value)
			require.NoError(t, err)
			c.mu.Lock()
			c.erasures = append(c.erasures, e)
			c.mu.Unlock()
		})
	}
	// Ready: the consent API answers reads (its store is complete) and the
	// producer takes an event.
	require.Eventually(t, func() bool {
		code, _ := c.call("GET", c.consentURL+"/v1/users/probe/consents?tenant_id=probe", consentToken, "")
		return code == 200
	}, 60*time.Second, 50*time.Millisecond, "consent API never ready")
	require.Eventually(t, func() bool {
		code, _ := c.call("POST", c.producerURL+"/v1/events", ingestToken, `{"event_type":"probe","tenant_id":"probe","user_id":"probe","jurisdiction":"DE"}`)
		return code == 202
	}, 60*time.Second, 50*time.Millisecond, "producer never ready")
	return c
}

func (c *chain) consume(ctx context.Context, topic string, fn func(kafka.Message)) {
	r := stream.NewReader(c.env.Kafka, stream.ReaderConfig{GroupID: c.env.Prefix + "check-" + topic, Topic: topic}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				return
			}
			fn(m)
		}
	}()
	c.t.Cleanup(func() { r.Close(); <-done })
}

// call sends a request; body JSON unless it starts with "ndjson:".
func (c *chain) call(method, u, token, body string, hdr ...string) (int, map[string]any) {
	ct := "application/json"
	if rest, ok := strings.CutPrefix(body, "ndjson:"); ok {
		body, ct = rest, "application/x-ndjson"
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(c.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, out
}

// consent puts a consent change through the given path (relative to the
// consent API) and requires 200.
func (c *chain) consent(path, body string) {
	c.t.Helper()
	code, out := c.call("PUT", c.consentURL+path, consentToken, body)
	require.Equal(c.t, 200, code, "PUT %s: %v", path, out)
}

// events posts events (objects without event_id) and returns their ids.
func (c *chain) events(evs ...map[string]any) []string {
	c.t.Helper()
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = uuid.NewString()
		e["event_id"] = ids[i]
	}
	b, _ := json.Marshal(map[string]any{"events": evs})
	code, out := c.call("POST", c.producerURL+"/v1/events", ingestToken, string(b))
	require.Equal(c.t, 202, code, "%v", out)
	return ids
}

// decided waits for the decisions of ids and returns their reasons.
func (c *chain) decided(ids ...string) []string {
	c.t.Helper()
	out := make([]string, len(ids))
	require.Eventually(c.t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, id := range ids {
			d, ok := c.decisions[id]
			if !ok {
				return false
			}
			out[i] = d.Reason
		}
		return true
	}, 90*time.Second, 10*time.Millisecond, "decisions of %v", ids)
	return out
}

func allowing(reason string) bool {
	return reason == "allowed_consent" || reason == "allowed_opt_out_regime"
}

func ev(tenant, user, jurisdiction string) map[string]any {
	return map[string]any{"event_type": "page_viewed", "tenant_id": tenant, "user_id": user, "jurisdiction": jurisdiction}
}

// waitFor lets the consent store catch up with a change just acknowledged
// (the filter would wait for it anyway; this keeps the tests' intent clear).
func (c *chain) settle() { time.Sleep(300 * time.Millisecond) }

// Bullet 1: user 7 of tenant A (DE, opt-in) granted, user 7 of tenant B denied
// afterwards: A's events pass, B's do not; and in the reverse order B's events
// do not pass on A's grant.
func TestIssue13SameUserIDInTwoTenants(t *testing.T) {
	c := startChain(t, chainOpts{})
	c.consent("/v1/users/7/consents/ai_training", `{"status":"granted","source":"test","tenant_id":"tenant-a"}`)
	c.consent("/v1/users/7/consents/ai_training", `{"status":"denied","source":"test","tenant_id":"tenant-b"}`)
	c.consent("/v1/users/8/consents/ai_training", `{"status":"denied","source":"test","tenant_id":"tenant-b"}`)
	c.consent("/v1/users/8/consents/ai_training", `{"status":"granted","source":"test","tenant_id":"tenant-a"}`)
	c.settle()
	ids := c.events(ev("tenant-a", "7", "DE"), ev("tenant-a", "7", "DE"), ev("tenant-a", "7", "DE"),
		ev("tenant-b", "7", "DE"), ev("tenant-b", "8", "DE"), ev("tenant-a", "8", "DE"))
	r := c.decided(ids...)
	for i := 0; i < 3; i++ {
		assert.Equal(t, "allowed_consent", r[i], "tenant A's user 7 granted")
	}
	assert.False(t, allowing(r[3]), "tenant B's user 7 denied: %s", r[3])
	assert.False(t, allowing(r[4]), "tenant B's user 8 denied, whatever tenant A's user 8 did: %s", r[4])
	assert.Equal(t, "allowed_consent", r[5])
}

// Bullet 2: a consent:write token bound to a tenant cannot deny another tenant,
// nor write another tenant's users; an ingest token or write key bound to a
// tenant cannot post another tenant's events. 403 with the reason.
func TestIssue13TenantBoundCredentials(t *testing.T) {
	c := startChain(t, chainOpts{
		producerTokens: "ingest:plain:" + ingestToken + "=events:write,acme-backend:plain:acme-ingest-01=events:write;tenant=acme",
		consentTokens:  "api:plain:" + consentToken + "=consent:read|consent:write,acme-ui:plain:acme-consent-1=consent:read|consent:write;tenant=acme",
		writeKeys:      "server:plain:" + writeKey + ",acme-site:plain:acme-key;tenant=acme",
	})
	for _, p := range []string{"/v1/tenants/globex/consents/ai_training", "/v1/tenants/globex/users/7/consents/ai_training"} {
		code, out := c.call("PUT", c.consentURL+p, "acme-consent-1", `{"status":"denied"}`)
		assert.Equal(t, 403, code, "%s: %v", p, out)
		assert.Contains(t, fmt.Sprint(out), "bound to tenant", p)
	}
	code, out := c.call("PUT", c.consentURL+"/v1/users/7/consents/ai_training", "acme-consent-1", `{"status":"denied","tenant_id":"globex"}`)
	assert.Equal(t, 403, code, "%v", out)
	code, out = c.call("GET", c.consentURL+"/v1/tenants/globex/users/7/consents", "acme-consent-1", "")
	assert.Equal(t, 403, code, "%v", out)
	code, _ = c.call("PUT", c.consentURL+"/v1/tenants/acme/users/7/consents/ai_training", "acme-consent-1", `{"status":"denied"}`)
	assert.Equal(t, 200, code, "its own tenant")

	code, out = c.call("POST", c.producerURL+"/v1/events", "acme-ingest-01", `{"event_type":"x","tenant_id":"globex","user_id":"7","jurisdiction":"US"}`)
	assert.Equal(t, 403, code, "%v", out)
	assert.Contains(t, fmt.Sprint(out), "bound to tenant")
	req, _ := http.NewRequest("POST", c.producerURL+"/v1/track", strings.NewReader(`{"event":"x","userId":"7","context":{"groupId":"globex"}}`))
	req.SetBasicAuth("acme-key", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 403, resp.StatusCode, "bound write key, another tenant")
}

// Bullet 3: every id ingest accepts is addressable by the consent API (a '/'
// in a user id), and ids are never normalised (invalid UTF-8 is refused where
// it enters, not turned into U+FFFD by one side only).
func TestIssue13IDsIngestAcceptsAreAddressable(t *testing.T) {
	c := startChain(t, chainOpts{})
	ids := c.events(ev("acme", "ops/7", "US"))
	assert.Equal(t, "allowed_opt_out_regime", c.decided(ids...)[0])
	// The tenant-less path of before, with the tenant in the body, and the
	// tenant-scoped path both address the id.
	c.consent("/v1/users/"+url.PathEscape("ops/7")+"/consents/ai_training", `{"status":"denied","tenant_id":"acme"}`)
	c.settle()
	ids = c.events(ev("acme", "ops/7", "US"))
	assert.Equal(t, "user_opt_out", c.decided(ids...)[0], "the user with '/' in their id could opt out")
	c.consent("/v1/tenants/acme/users/"+url.PathEscape("ops/8 100% Jürgen")+"/consents/ai_training", `{"status":"denied"}`)
	c.settle()
	ids = c.events(ev("acme", "ops/8 100% Jürgen", "US"))
	assert.Equal(t, "user_opt_out", c.decided(ids...)[0])

	code, out := c.call("POST", c.producerURL+"/v1/events", ingestToken, "{\"event_type\":\"x\",\"tenant_id\":\"acme\",\"user_id\":\"\xff\xfe\",\"jurisdiction\":\"US\"}")
	assert.Equal(t, 400, code, "invalid UTF-8 is refused at ingest: %v", out)
	assert.Contains(t, fmt.Sprint(out), "user_id")
	code, _ = c.call("PUT", c.consentURL+"/v1/tenants/acme/users/%FF%FE/consents/ai_training", consentToken, `{"status":"denied"}`)
	assert.Equal(t, 400, code, "and by the consent API")
}

// Bullet 4: an import cannot roll a withdrawal back: it needs its own scope,
// and a record older than the stored one is skipped and reported.
func TestIssue13ImportCannotRollBack(t *testing.T) {
	c := startChain(t, chainOpts{})
	c.consent("/v1/users/9/consents/ai_training", `{"status":"denied","tenant_id":"acme"}`)
	c.settle()
	line := `ndjson:{"subject_type":"user","subject_id":"9","tenant_id":"acme","purpose":"ai_training","status":"granted","effective_at":"1970-01-01T00:00:00Z","source":"old-system"}`
	code, out := c.call("POST", c.consentURL+"/v1/consents/import", consentToken, line)
	assert.Equal(t, 403, code, "consent:write cannot import: %v", out)
	code, out = c.call("POST", c.consentURL+"/v1/consents/import", importToken, line)
	require.Equal(t, 200, code, "%v", out)
	assert.EqualValues(t, 0, out["imported"])
	assert.Contains(t, fmt.Sprint(out["skipped"]), "not after the stored record")
	c.settle()
	ids := c.events(ev("acme", "9", "US"))
	assert.Equal(t, "user_opt_out", c.decided(ids...)[0], "events after the denial stay denied")
}

// Bullet 5: a browser write key cannot choose the regime: its events take the
// key's jurisdiction, or the policy's default regime, never the page's.
func TestIssue13BrowserKeysDoNotChooseTheRegime(t *testing.T) {
	c := startChain(t, chainOpts{writeKeys: "server:plain:" + writeKey + ",site:plain:public-key-1;tenant=acme;browser"})
	id := uuid.NewString()
	req, _ := http.NewRequest("POST", c.producerURL+"/v1/page",
		strings.NewReader(`{"messageId":"`+id+`","anonymousId":"visitor-1","context":{"jurisdiction":"US"}}`))
	req.SetBasicAuth("public-key-1", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "no_consent", c.decided(id)[0], "the page's US (opt-out) was not taken; the default regime is opt-in")
}

// Bullet 6: anonymous ids are linked to the person (identify, events carrying
// both ids); after the user withdraws, their logged-out events are denied and
// their pre-login anonymous rows are erased; a cookie banner's denial of an
// anonymous id applies once the person logs in.
func TestIssue13AnonymousIDsAreLinkedToThePerson(t *testing.T) {
	c := startChain(t, chainOpts{anonymizer: true})
	anon := func(a string) map[string]any {
		return map[string]any{"event_type": "page_viewed", "tenant_id": "acme", "anonymous_id": a, "jurisdiction": "US", "session_id": "s-1"}
	}
	pre := c.events(anon("cookie-1"), anon("cookie-1"))
	for _, r := range c.decided(pre...) {
		require.Equal(t, "allowed_opt_out_regime", r)
	}
	login := map[string]any{"event_type": "identify", "tenant_id": "acme", "user_id": "u-1", "anonymous_id": "cookie-1", "jurisdiction": "US", "session_id": "s-1"}
	in := c.events(login, ev("acme", "u-1", "US"))
	c.decided(in...)
	// The link is there once the consent API shows it.
	require.Eventually(t, func() bool {
		_, out := c.call("GET", c.consentURL+"/v1/tenants/acme/users/u-1/consents", consentToken, "")
		return strings.Contains(fmt.Sprint(out["linked"]), "cookie-1")
	}, 20*time.Second, 20*time.Millisecond, "link never visible")
	c.consent("/v1/tenants/acme/users/u-1/consents/ai_training", `{"status":"denied"}`)
	c.settle()
	out := c.events(anon("cookie-1"))
	assert.Equal(t, "linked_opt_out", c.decided(out...)[0], "logged-out events of the withdrawn user are not collected")

	// The pre-login rows are covered by an erasure naming their pseudonym,
	// with a version at or above the one they were decided on (the contract
	// the dataset sink applies: ARCHITECTURE.md, "Datasets").
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, id := range append(pre, in...) {
			row, ok := c.curated[curatedEventID("acme", id)]
			if !ok || !covered(row, c.erasures) {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "pre-login and logged-in rows not all covered by erasures")

	// Cookie banner: the anonymous id is denied, then the person logs in.
	c.consent("/v1/tenants/acme/anonymous/cookie-2/consents/ai_training", `{"status":"denied"}`)
	c.settle()
	ids := c.events(map[string]any{"event_type": "identify", "tenant_id": "acme", "user_id": "u-2", "anonymous_id": "cookie-2", "jurisdiction": "US"})
	c.decided(ids...)
	require.Eventually(t, func() bool {
		_, out := c.call("GET", c.consentURL+"/v1/tenants/acme/users/u-2/consents", consentToken, "")
		return strings.Contains(fmt.Sprint(out["linked"]), "cookie-2")
	}, 20*time.Second, 20*time.Millisecond)
	ids = c.events(ev("acme", "u-2", "US"))
	assert.False(t, allowing(c.decided(ids...)[0]), "the banner's denial applies to the logged-in person")
}

// pseudonymSecret is the anonymizer's key (id k1) in these chains.
var pseudonymSecret = []byte("0123456789abcdef0123456789abcdef")

// curatedEventID is the curated event_id of a raw event of tenant, from the
// derivation docs/ARCHITECTURE.md documents (Unlinkability), not from the
// anonymizer's code: "k1:" and the unpadded lower-case base32 of the first 16
// bytes of HMAC-SHA256 of "consentflow/pseudonym/v1" and the uvarint
// length-prefixed parts "event", purpose, event id, tenant.
func curatedEventID(tenant, id string) string {
	msg := []byte("consentflow/pseudonym/v1")
	for _, p := range []string{"event", "ai_training", id, tenant} {
		msg = binary.AppendUvarint(msg, uint64(len(p)))
		msg = append(msg, p...)
	}
	m := hmac.New(sha256.New, pseudonymSecret)
	m.Write(msg)
	return "k1:" + base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil)[:16])
}

// covered applies the dataset sink's coverage rule: an erasure naming the
// row's subject covers it unless the row was decided on a later state of the
// same partition.
func covered(row schema.CuratedEvent, erasures []schema.Erasure) bool {
	rv, rok := schema.ParseVersion(row.ConsentVersion)
	for _, e := range erasures {
		if e.Purpose != row.Purpose || e.Scope != schema.ScopeSubject {
			continue
		}
		names := false
		for _, p := range e.Pseudonyms {
			names = names || p == row.Subject
		}
		if !names {
			continue
		}
		ev, eok := schema.ParseVersion(e.ConsentVersion)
		if !rok || !eok || !rv.NewerThan(ev) {
			return true
		}
	}
	return false
}
