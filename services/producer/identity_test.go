package producer

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// Every id field follows pkg/identity's rule: rejected with its path, never
// normalised (invalid UTF-8 used to become U+FFFD, which no consent record
// could match).
func TestIdentifierRuleAtIngest(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	h := api.Handler()
	cases := map[string]string{
		"{\"event_type\":\"x\",\"tenant_id\":\"t\",\"user_id\":\"\xff\xfe\"}": "user_id: the replacement character (a sign of invalid UTF-8) U+FFFD at byte 0",
		`{"event_type":"x","tenant_id":"t","user_id":"a\ud800b"}`:             "user_id: the replacement character (a sign of invalid UTF-8) U+FFFD at byte 1",
		`{"event_type":"x","tenant_id":"t\u0000","user_id":"u"}`:              "tenant_id: control character U+0000 at byte 1",
		`{"event_type":"x","tenant_id":"t","anonymous_id":"a\u200bb"}`:        "anonymous_id: format character U+200B at byte 1",
		`{"event_type":"x","tenant_id":"t","user_id":"u","session_id":"   "}`: "session_id: required (empty or only white space)",
		`{"event_type":"x","tenant_id":"t","user_id":".."}`:                   `user_id: ".." is not allowed (URL path handling removes it)`,
	}
	for body, want := range cases {
		r := do(t, h, "POST", "/v1/events", body, bearer(testToken)...)
		require.Equal(t, http.StatusBadRequest, r.code, body)
		assert.Equal(t, []string{want}, problemStrings(t, r), body)
	}
	r := do(t, h, "POST", "/v1/track", "{\"event\":\"x\",\"userId\":\"ok\",\"anonymousId\":\"\xc3\",\"context\":{\"groupId\":\"t\"}}", basic(testWriteKey)...)
	require.Equal(t, http.StatusBadRequest, r.code)
	assert.Equal(t, []string{"anonymousId: the replacement character (a sign of invalid UTF-8) U+FFFD at byte 0"}, problemStrings(t, r))
	r = do(t, h, "POST", "/v1/alias", `{"userId":"u","previousId":"p\u0007","context":{"groupId":"t"}}`, basic(testWriteKey)...)
	require.Equal(t, http.StatusBadRequest, r.code)
	assert.Equal(t, []string{"previousId: control character U+0007 at byte 1"}, problemStrings(t, r))
	assert.Empty(t, pub.published())

	// What the rule allows passes exactly as sent: '/', '%', spaces, letters.
	r = do(t, h, "POST", "/v1/events", `{"event_type":"x","tenant_id":"a/b","user_id":" 100% Jürgen/ops ","session_id":"名前"}`, bearer(testToken)...)
	require.Equal(t, http.StatusAccepted, r.code, "%v", r.body)
	got := pub.published()
	require.Len(t, got, 1)
	assert.Equal(t, " 100% Jürgen/ops ", got[0].UserID)
	assert.Equal(t, "a/b", got[0].TenantID)
}

// A token bound to a tenant only ingests that tenant's events: 403 with the
// reason for another tenant, the tenant stamped when the event names none.
func TestTenantBoundIngestToken(t *testing.T) {
	cfg := testConfig()
	cfg.Tokens += ",acme-backend:plain:acme-token-1=events:write;tenant=acme"
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, cfg, pub)
	h := api.Handler()
	r := do(t, h, "POST", "/v1/events", `{"events":[{"event_type":"x","tenant_id":"acme","user_id":"7"},{"event_type":"x","tenant_id":"globex","user_id":"7"}]}`, bearer("acme-token-1")...)
	require.Equal(t, http.StatusForbidden, r.code)
	assert.Equal(t, []string{`events[1].tenant_id: credential acme-backend is bound to tenant "acme"; this event names "globex"`}, problemStrings(t, r))
	assert.Empty(t, pub.published(), "all or nothing")

	r = do(t, h, "POST", "/v1/events", `{"event_type":"x","user_id":"7"}`, bearer("acme-token-1")...)
	require.Equal(t, http.StatusAccepted, r.code, "%v", r.body)
	require.Len(t, pub.published(), 1)
	assert.Equal(t, "acme", pub.published()[0].TenantID)

	// An unbound token still needs the tenant in the event.
	r = do(t, h, "POST", "/v1/events", `{"event_type":"x","user_id":"7"}`, bearer(testToken)...)
	require.Equal(t, http.StatusBadRequest, r.code)
	assert.Equal(t, []string{"tenant_id: required"}, problemStrings(t, r))
}

// A browser key's events take tenant and jurisdiction from the key's
// configuration (or no jurisdiction: the policy's default regime), never from
// the page.
func TestBrowserWriteKey(t *testing.T) {
	cfg := testConfig()
	cfg.WriteKeys += ",site:plain:pub-key-de;tenant=acme;browser;jurisdiction=DE,site2:plain:pub-key-x;tenant=acme;browser"
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, cfg, pub)
	h := api.Handler()
	r := do(t, h, "POST", "/v1/page", `{"anonymousId":"c1","context":{"jurisdiction":"US-CA"}}`, basic("pub-key-de")...)
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	r = do(t, h, "POST", "/v1/page", `{"anonymousId":"c1","context":{"jurisdiction":"US"}}`, basic("pub-key-x")...)
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	got := pub.published()
	require.Len(t, got, 2)
	assert.Equal(t, "DE", got[0].Jurisdiction, "the key's jurisdiction, not the page's US-CA")
	assert.Equal(t, "", got[1].Jurisdiction, "no jurisdiction on the key: the policy's default regime")
	assert.Equal(t, "acme", got[0].TenantID)
	r = do(t, h, "POST", "/v1/page", `{"anonymousId":"c1","context":{"groupId":"globex"}}`, basic("pub-key-de")...)
	require.Equal(t, http.StatusForbidden, r.code)
}
