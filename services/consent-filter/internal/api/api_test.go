package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/avro/avrotest"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// fakeChanges records appended records and their decoded form.
type fakeChanges struct {
	mu    sync.Mutex
	codec *avro.Codec[schema.ConsentChange]
	recs  []stream.Record
	got   []schema.ConsentChange
}

func (f *fakeChanges) Append(ctx context.Context, recs ...stream.Record) ([]stream.Position, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]stream.Position, len(recs))
	for i, r := range recs {
		c, err := f.codec.Decode(ctx, r.Value)
		if err != nil {
			return nil, err
		}
		f.recs = append(f.recs, r)
		f.got = append(f.got, c)
		out[i] = stream.Position{Partition: 0, Offset: int64(len(f.recs) - 1)}
	}
	return out, nil
}

// fakeStore answers lookups from a map.
type fakeStore map[string]map[identity.Subject]consentstore.Record

func (s fakeStore) Lookup(_ context.Context, purpose string, refs []consentstore.SubjectRef) (map[consentstore.SubjectRef]consentstore.Record, error) {
	out := map[consentstore.SubjectRef]consentstore.Record{}
	for _, r := range refs {
		if rec, ok := s[purpose][r]; ok {
			out[r] = rec
		}
	}
	return out, nil
}

type fixture struct {
	h       http.Handler
	changes *fakeChanges
	store   fakeStore
	now     time.Time
}

const (
	tokAll    = "token-all-0001"
	tokAcme   = "token-acme-001"
	tokImport = "token-import-1"
)

func newFixture(t *testing.T, polYAML string) *fixture {
	t.Helper()
	codec, err := avro.ConsentChanges(context.Background(), avrotest.Serde(t), "consent.changes")
	require.NoError(t, err)
	pol := policy.Default()
	if polYAML != "" {
		pol, err = policy.Parse([]byte(polYAML))
		require.NoError(t, err)
	}
	toks, err := auth.ParseTokens("all:plain:" + tokAll + "=consent:read|consent:write," +
		"acme:plain:" + tokAcme + "=consent:read|consent:write|consent:import;tenant=acme," +
		"migration:plain:" + tokImport + "=consent:import")
	require.NoError(t, err)
	f := &fixture{changes: &fakeChanges{codec: codec}, store: fakeStore{}, now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	a := &API{Policy: pol, Tokens: toks, Changes: f.changes, Codec: codec, Store: f.store, Logger: zap.NewNop(),
		Now: func() time.Time { return f.now }}
	f.h = a.Handler()
	return f
}

func (f *fixture) do(t *testing.T, method, path, token, ct, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func (f *fixture) put(t *testing.T, path, token, body string) (int, map[string]any) {
	return f.do(t, "PUT", path, token, "application/json", body)
}

func problems(body map[string]any) string {
	b, _ := json.Marshal(body["problems"])
	return string(b)
}

// Ids are percent-encoded path segments: '/', '%', spaces and non-ASCII
// letters address exactly the id ingest accepted; ids the rule refuses get a
// 400 naming the segment; keys carry the tenant.
func TestPathsAddressEveryAcceptedID(t *testing.T) {
	f := newFixture(t, "")
	code, body := f.put(t, "/v1/tenants/a%2Fb/users/%20100%25%20J%C3%BCrgen%2Fops%20/consents/ai_training", tokAll, `{"status":"denied"}`)
	require.Equal(t, 200, code, "%v", body)
	c := f.changes.got[0]
	assert.Equal(t, " 100% Jürgen/ops ", c.SubjectID)
	assert.Equal(t, "a/b", c.TenantID)
	assert.Equal(t, schema.ScopeTenantIDs, c.SubjectScope)
	assert.Equal(t, "user:a%2Fb/%20100%25%20J%C3%BCrgen%2Fops%20/ai_training", string(f.changes.recs[0].Key))
	assert.Equal(t, "tenant:a%2Fb", string(f.changes.recs[0].Route), "routed with its tenant")

	for path, want := range map[string]string{
		"/v1/tenants/t/users/%FF%FE/consents/ai_training":     "path: user: not valid UTF-8",
		"/v1/tenants/t/users/a%00b/consents/ai_training":      "path: user: control character U+0000",
		"/v1/tenants/t/users/%EF%BF%BD/consents/ai_training":  "path: user: the replacement character",
		"/v1/tenants/t%E2%80%8B/users/u/consents/ai_training": "path: tenant: format character U+200B",
		"/v1/tenants/t/anonymous/%2E%2E/consents/ai_training": `path: anon: \"..\" is not allowed`,
	} {
		code, body := f.put(t, path, tokAll, `{"status":"denied"}`)
		assert.Equal(t, 400, code, path)
		assert.Contains(t, problems(body), want, path)
	}
}

// With tenant-scoped ids the tenant is required; the tenant-less path takes
// it from the body (clients of before) and refuses without it.
func TestTenantRequiredForTenantScopedIDs(t *testing.T) {
	f := newFixture(t, "")
	code, body := f.put(t, "/v1/users/7/consents/ai_training", tokAll, `{"status":"granted"}`)
	require.Equal(t, 400, code)
	assert.Contains(t, problems(body), "tenant_id: required: user ids are scoped to their tenant")
	code, body = f.put(t, "/v1/users/7/consents/ai_training", tokAll, `{"status":"granted","tenant_id":"acme"}`)
	require.Equal(t, 200, code, "%v", body)
	code, _ = f.put(t, "/v1/tenants/globex/users/7/consents/ai_training", tokAll, `{"status":"denied"}`)
	require.Equal(t, 200, code)
	require.Len(t, f.changes.recs, 2)
	assert.NotEqual(t, f.changes.recs[0].Key, f.changes.recs[1].Key, "user 7 of two tenants: two keys")
	code, _ = f.put(t, "/v1/tenants/globex/users/7/consents/ai_training", tokAll, `{"status":"denied","tenant_id":"acme"}`)
	assert.Equal(t, 400, code, "body and path disagree")
}

// With global user ids a user's record has no tenant in its key, and a
// tenant-bound token may not write it (it applies in every tenant).
func TestGlobalUserIDs(t *testing.T) {
	f := newFixture(t, "version: g1\npurposes: {ai_training: {}}\nidentity: {user_ids: global}\n")
	code, body := f.put(t, "/v1/users/7/consents/ai_training", tokAll, `{"status":"granted"}`)
	require.Equal(t, 200, code, "%v", body)
	assert.Equal(t, "user:/7/ai_training", string(f.changes.recs[0].Key))
	assert.Equal(t, "global", body["subject_scope"])
	code, body = f.put(t, "/v1/tenants/acme/users/7/consents/ai_training", tokAcme, `{"status":"granted"}`)
	require.Equal(t, 403, code)
	assert.Contains(t, problems(body), "cannot act for every tenant")
	// Anonymous ids stay tenant-scoped.
	code, _ = f.put(t, "/v1/tenants/acme/anonymous/c1/consents/ai_training", tokAcme, `{"status":"denied"}`)
	require.Equal(t, 200, code)
	assert.Equal(t, "anonymous:acme/c1/ai_training", string(f.changes.recs[1].Key))
}

// A token bound to a tenant reads and writes only that tenant and its users.
func TestTenantBoundConsentToken(t *testing.T) {
	f := newFixture(t, "")
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v1/tenants/globex/users/7/consents/ai_training", `{"status":"denied"}`},
		{"PUT", "/v1/tenants/globex/consents/ai_training", `{"status":"denied"}`},
		{"PUT", "/v1/users/7/consents/ai_training", `{"status":"denied","tenant_id":"globex"}`},
		{"PUT", "/v1/tenants/globex/anonymous/c1/consents/ai_training", `{"status":"denied"}`},
		{"PUT", "/v1/tenants/globex/users/7/anonymous/c1", ``},
		{"GET", "/v1/tenants/globex/users/7/consents", ``},
	} {
		code, body := f.do(t, c.method, c.path, tokAcme, "application/json", c.body)
		assert.Equal(t, 403, code, c.path)
		assert.Contains(t, problems(body), `bound to tenant \"acme\", not \"globex\"`, c.path)
	}
	assert.Empty(t, f.changes.recs, "nothing written for another tenant")
	code, _ := f.put(t, "/v1/tenants/acme/users/7/consents/ai_training", tokAcme, `{"status":"denied"}`)
	assert.Equal(t, 200, code)
	code, _ = f.put(t, "/v1/tenants/acme/consents/ai_training", tokAcme, `{"status":"denied"}`)
	assert.Equal(t, 200, code)
}

// Links: the API records them; GET shows the linked subjects' consents.
func TestLinksAndGet(t *testing.T) {
	f := newFixture(t, "")
	code, body := f.put(t, "/v1/tenants/acme/users/7/anonymous/cookie%2F1", tokAll, "")
	require.Equal(t, 200, code, "%v", body)
	c := f.changes.got[0]
	assert.Equal(t, schema.StatusLinked, c.Status)
	l, err := identity.LinkOf(&c)
	require.NoError(t, err)
	u := identity.Subject{Kind: identity.User, Tenant: "acme", ID: "7"}
	a := identity.Subject{Kind: identity.Anonymous, Tenant: "acme", ID: "cookie/1"}
	assert.Equal(t, identity.NewLink(u, a), l)
	assert.Equal(t, "tenant:acme", string(f.changes.recs[0].Route))

	f.store["ai_training"] = map[identity.Subject]consentstore.Record{
		u: {Status: decision.Granted, EffectiveAt: f.now, Partition: 1, Offset: 4, Links: []identity.Subject{a}},
		a: {Status: decision.Denied, EffectiveAt: f.now, Partition: 1, Offset: 5},
	}
	code, body = f.do(t, "GET", "/v1/tenants/acme/users/7/consents?jurisdiction=DE", tokAll, "", "")
	require.Equal(t, 200, code, "%v", body)
	assert.Equal(t, "granted", body["purposes"].(map[string]any)["ai_training"].(map[string]any)["status"])
	linked := body["linked"].([]any)
	require.Len(t, linked, 1)
	l0 := linked[0].(map[string]any)
	assert.Equal(t, "anonymous", l0["subject_type"])
	assert.Equal(t, "cookie/1", l0["subject_id"])
	assert.Equal(t, "denied", l0["purposes"].(map[string]any)["ai_training"].(map[string]any)["status"])
	code, body = f.do(t, "GET", "/v1/tenants/globex/users/7/consents", tokAll, "", "")
	require.Equal(t, 200, code)
	assert.Equal(t, "none", body["purposes"].(map[string]any)["ai_training"].(map[string]any)["status"], "globex's user 7 is someone else")
}

// Import needs its own scope, and never rolls a subject back: a record that is
// not newer than the stored one (or an earlier line's) is skipped and
// reported; the written ones are marked imported.
func TestImportNeverRollsBack(t *testing.T) {
	f := newFixture(t, "")
	u := identity.Subject{Kind: identity.User, Tenant: "acme", ID: "7"}
	f.store["ai_training"] = map[identity.Subject]consentstore.Record{u: {Status: decision.Denied, EffectiveAt: f.now.Add(-time.Hour), Partition: 0, Offset: 9}}
	ndjson := `{"subject_type":"user","subject_id":"7","tenant_id":"acme","purpose":"ai_training","status":"granted","effective_at":"1970-01-01T00:00:00Z"}
{"subject_type":"user","subject_id":"8","tenant_id":"acme","purpose":"ai_training","status":"granted","effective_at":"2025-01-01T00:00:00Z"}
{"subject_type":"user","subject_id":"8","tenant_id":"acme","purpose":"ai_training","status":"denied","effective_at":"2024-01-01T00:00:00Z"}
{"subject_type":"anonymous","subject_id":"c1","tenant_id":"acme","purpose":"ai_training","status":"denied"}`

	code, _ := f.do(t, "POST", "/v1/consents/import", tokAll, "application/x-ndjson", ndjson)
	assert.Equal(t, 403, code, "consent:write is not enough to import")

	code, body := f.do(t, "POST", "/v1/consents/import", tokImport, "application/x-ndjson", ndjson)
	require.Equal(t, 200, code, "%v", body)
	assert.EqualValues(t, 2, body["imported"])
	skipped := body["skipped"].([]any)
	require.Len(t, skipped, 2)
	assert.EqualValues(t, 1, skipped[0].(map[string]any)["line"])
	assert.Contains(t, skipped[0].(map[string]any)["reason"], "not after the stored record's")
	assert.EqualValues(t, 3, skipped[1].(map[string]any)["line"])
	assert.Contains(t, skipped[1].(map[string]any)["reason"], "an earlier line's")
	require.Len(t, f.changes.got, 2)
	for _, c := range f.changes.got {
		assert.True(t, c.Imported)
		assert.NotEqual(t, "7", c.SubjectID)
	}

	code, body = f.do(t, "POST", "/v1/consents/import", tokAcme, "application/x-ndjson",
		`{"subject_type":"user","subject_id":"9","tenant_id":"globex","purpose":"ai_training","status":"granted"}`)
	assert.Equal(t, 403, code, "a bound token imports only its tenant")
	assert.Contains(t, problems(body), "line 1")
	code, body = f.do(t, "POST", "/v1/consents/import", tokImport, "application/x-ndjson",
		`{"subject_type":"user","subject_id":"9","purpose":"ai_training","status":"granted"}`)
	assert.Equal(t, 400, code)
	assert.Contains(t, problems(body), "line 1: tenant_id: required")
}

// A body is one JSON object: data after it (a second object, a stray number)
// is a 400 naming the body, and nothing is appended — the fuzzer found
// `{"stAtus":"denied"}0` recorded as a denial.
func TestBodyIsOneJSONValue(t *testing.T) {
	f := newFixture(t, "")
	for _, body := range []string{`{"status":"denied"}0`, `{"status":"granted"}{"status":"denied"}`, `{"status":"denied"} x`} {
		code, out := f.put(t, "/v1/tenants/acme/users/7/consents/ai_training", tokAll, body)
		assert.Equal(t, 400, code, body)
		assert.Contains(t, problems(out), "after the JSON value", body)
		code, out = f.put(t, "/v1/tenants/acme/consents/ai_training", tokAll, body)
		assert.Equal(t, 400, code, body)
		assert.Contains(t, problems(out), "after the JSON value", body)
	}
	code, out := f.do(t, "POST", "/v1/consents/import", tokImport, "application/x-ndjson",
		`{"subject_type":"user","subject_id":"9","tenant_id":"acme","purpose":"ai_training","status":"granted"} 1`)
	assert.Equal(t, 400, code)
	assert.Contains(t, problems(out), "line 1: unexpected data after the JSON value")
	code, _ = f.put(t, "/v1/tenants/acme/users/7/consents/ai_training", tokAll, "{\"status\":\"denied\"}\n")
	assert.Equal(t, 200, code, "trailing white space is fine")
	assert.Len(t, f.changes.got, 1)
}

// A body means one thing to every JSON parser: a member name in another case
// (which Go's encoding/json would fold onto "status") and a repeated member
// (first-wins and last-wins parsers disagree) are 400s naming the member, and
// nothing is appended.
func TestBodyMembersAreExactAndUnique(t *testing.T) {
	f := newFixture(t, "")
	for body, want := range map[string]string{
		`{"Status":"denied"}`:                    "body: /Status: unknown object member name",
		`{"STATUS":"denied"}`:                    "body: /STATUS: unknown object member name",
		`{"status":"granted","status":"denied"}`: "body: /status: duplicate object member name",
		`{"status":"denied","Source":"x"}`:       "body: /Source: unknown object member name",
	} {
		code, out := f.put(t, "/v1/tenants/acme/users/7/consents/ai_training", tokAll, body)
		assert.Equal(t, 400, code, body)
		assert.Contains(t, problems(out), want, body)
	}
	code, out := f.do(t, "POST", "/v1/consents/import", tokImport, "application/x-ndjson",
		`{"subject_type":"user","subject_id":"9","tenant_id":"acme","purpose":"ai_training","status":"granted","status":"denied"}`)
	assert.Equal(t, 400, code)
	assert.Contains(t, problems(out), "line 1: /status: duplicate object member name")
	assert.Empty(t, f.changes.got)
}

// An import refused for bad lines answers with a bounded list, like the
// producer's refusals: the first 20 problems, each cut to about 256 bytes
// (its head and its tail kept), and "more_problems" counting the rest. A
// hostile body of bad lines, or one with an enormous member name, once got
// every problem (up to 101 of them, each as long as the name) back: an
// answer as large as the body.
func TestImportRefusalIsBounded(t *testing.T) {
	f := newFixture(t, "")
	good := `{"subject_type":"user","subject_id":"9","tenant_id":"acme","purpose":"ai_training","status":"granted"}`
	name := strings.Repeat("n", 2000) + "TAIL"
	var b strings.Builder
	const bad = 3000 // every third line is bad: one problem each
	for i := range 3 * bad {
		if i%3 == 1 {
			fmt.Fprintf(&b, `{"%s":%d}`+"\n", name, i)
		} else {
			b.WriteString(good + "\n")
		}
	}
	huge := `{"` + strings.Repeat("x", 600<<10) + `TAIL":1}`
	for _, tc := range []struct {
		name, body string
		problems   int
		first      string
	}{
		{"many bad lines", b.String(), bad, "line 2: "},
		{"one enormous name", good + "\n" + huge + "\n", 1, "line 2: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/v1/consents/import", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+tokImport)
			req.Header.Set("Content-Type", "application/x-ndjson")
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			require.Equal(t, 400, rec.Code, "%.300s", rec.Body.String())
			assert.Less(t, rec.Body.Len(), 16<<10, "answer to a %d-byte body", len(tc.body))
			var ans struct {
				Problems []string `json:"problems"`
				More     int      `json:"more_problems"`
			}
			t.Logf("%d-byte body: %d-byte answer", len(tc.body), rec.Body.Len())
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))
			require.Len(t, ans.Problems, min(tc.problems, 20))
			assert.Equal(t, tc.problems-len(ans.Problems), ans.More, "every problem is counted")
			assert.True(t, strings.HasPrefix(ans.Problems[0], tc.first), ans.Problems[0])
			for _, p := range ans.Problems {
				assert.LessOrEqual(t, len(p), 256+len("…"), "%.80s", p)
				assert.Contains(t, p, "…", "the middle is left out")
				assert.Contains(t, p, "unknown object member name", "the message's tail is kept")
				assert.Contains(t, p, "TAIL", "the member's tail is kept")
			}
			assert.Empty(t, f.changes.got, "nothing is appended")
		})
	}
}
