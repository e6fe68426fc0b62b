package producer

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func basic(key string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))}
}

func TestSegmentBatchMapping(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	msgID := uuid.NewString()
	body := `{"batch":[
	  {"type":"track","event":"Issue Created","userId":"u1","messageId":"` + msgID + `",
	   "timestamp":"2025-03-01T10:00:00.123456+00:00",
	   "properties":{"tenant_id":"t1","issue":"ABC-1","text":"call me at +44 20 7946 0958","points":3,"labels":["a","b"]},
	   "context":{"ip":"203.0.113.9","locale":"de-DE","userAgent":"ua/1","consent":{"categoryPreferences":{"ai":true}},
	              "traits":{"name":"Ada Lovelace","email":"ada@example.com","username":"ada"},"jurisdiction":"DE"}},
	  {"type":"page","name":"Home","anonymousId":"anon-1","messageId":"ajs-next-123","timestamp":"2025-03-01T10:00:00"},
	  {"type":"identify","userId":"u2","traits":{"tenant_id":"t2","email":"b@example.com","plan":"pro"}},
	  {"type":"group","userId":"u3","groupId":"t3"},
	  {"type":"alias","userId":"u4","previousId":"anon-9","context":{"groupId":"t4"}}
	],"context":{"groupId":"t9","gpc":true},"sentAt":"2025-03-01T10:00:01Z"}`
	r := do(t, api.Handler(), "POST", "/v1/batch", body, basic(testWriteKey)...)
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	assert.Equal(t, true, r.body["success"])
	got := pub.published()
	require.Len(t, got, 5)

	tr := got[0]
	assert.Equal(t, msgID, tr.EventID)
	assert.Equal(t, "Issue Created", tr.EventType)
	assert.Equal(t, "t9", tr.TenantID, "context.groupId (batch-level) wins over properties.tenant_id")
	assert.Equal(t, "u1", tr.UserID)
	assert.Equal(t, time.Date(2025, 3, 1, 10, 0, 0, 123000000, time.UTC), tr.OccurredAt)
	assert.Equal(t, "203.0.113.9", tr.IP)
	assert.Equal(t, "de-DE", tr.Locale)
	assert.Equal(t, "ua/1", tr.UserAgent)
	assert.Equal(t, "DE", tr.Jurisdiction)
	assert.True(t, tr.GPC)
	assert.JSONEq(t, `{"categoryPreferences":{"ai":true}}`, tr.ClientConsent, "kept as data")
	assert.Equal(t, "call me at +44 20 7946 0958", tr.Text, "properties.text is the free text")
	assert.Equal(t, map[string]string{"tenant_id": "t1", "issue": "ABC-1", "points": "3", "labels": `["a","b"]`}, tr.Properties)
	assert.Equal(t, [3]string{"Ada Lovelace", "ada@example.com", "ada"}, [3]string{tr.ActorName, tr.ActorEmail, tr.ActorHandle})
	assert.Equal(t, "segment", tr.Source)
	assert.False(t, tr.ReceivedAt.IsZero())

	pg := got[1]
	assert.Equal(t, "page_viewed", pg.EventType)
	assert.Equal(t, "anon-1", pg.AnonymousID)
	assert.Equal(t, uuid.NewSHA1(segmentNamespace, []byte("ajs-next-123")).String(), pg.EventID, "stable id for a non-UUID messageId")
	assert.Equal(t, "ajs-next-123", pg.Properties["segment_message_id"])
	assert.Equal(t, "Home", pg.Properties["name"])
	assert.Equal(t, time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), pg.OccurredAt, "zone-less timestamps are UTC")

	assert.Equal(t, "identify", got[2].EventType)
	assert.Equal(t, "t9", got[2].TenantID)
	assert.Equal(t, "b@example.com", got[2].ActorEmail)
	assert.NotEmpty(t, got[2].EventID, "stamped")
	assert.Equal(t, "group", got[3].EventType)
	assert.Equal(t, "alias", got[4].EventType)
	assert.Equal(t, "t4", got[4].TenantID)
	assert.Equal(t, "anon-9", got[4].PreviousID, "alias links previousId to userId")
	assert.NotContains(t, got[4].Properties, "previous_id", "a raw id never goes into properties")
}

func TestSegmentSingleCallsAndTenantSources(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	h := api.Handler()
	r := do(t, h, "POST", "/v1/track", `{"event":"search_performed","userId":"u1","properties":{"tenant_id":"t1"}}`, basic(testWriteKey)...)
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	r = do(t, h, "POST", "/v1/identify", `{"userId":"u1","traits":{"tenant_id":"t1"}}`, basic(testWriteKey)...)
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	r = do(t, h, "POST", "/v1/page", `{"userId":"u1","writeKey":"`+testWriteKey+`","context":{"groupId":"t1"}}`)
	require.Equal(t, http.StatusOK, r.code, "write key in the body: %v", r.body)
	r = do(t, h, "POST", "/v1/group", `{"userId":"u1","groupId":"g1"}`, basic(testWriteKey)...)
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)

	r = do(t, h, "POST", "/v1/track", `{"event":"x","userId":"u1"}`, basic(testBoundKey)...)
	require.Equal(t, http.StatusOK, r.code, "bound write key supplies the tenant")
	got := pub.published()
	require.Len(t, got, 5)
	assert.Equal(t, []string{"t1", "t1", "t1", "g1", "t-bound"},
		[]string{got[0].TenantID, got[1].TenantID, got[2].TenantID, got[3].TenantID, got[4].TenantID})

	r = do(t, h, "POST", "/v1/track", `{"event":"x","userId":"u1","context":{"groupId":"other"}}`, basic(testBoundKey)...)
	require.Equal(t, http.StatusForbidden, r.code, "a bound key may only send its tenant's events")
	assert.Equal(t, []string{`context.groupId: credential acme is bound to tenant "t-bound"; this event names "other"`}, problemStrings(t, r))
}

func TestSegmentStatusCodes(t *testing.T) {
	api, _ := newTestAPI(t, testConfig(), &fakePublisher{})
	h := api.Handler()
	r := do(t, h, "POST", "/v1/track", `{"event":"x","userId":"u"}`)
	assert.Equal(t, http.StatusUnauthorized, r.code, "no write key")
	r = do(t, h, "POST", "/v1/track", `{"event":"x","userId":"u"}`, basic("wrong")...)
	assert.Equal(t, http.StatusUnauthorized, r.code, "unknown write key")
	assert.Contains(t, r.header.Get("WWW-Authenticate"), "Basic")
	r = do(t, h, "POST", "/v1/track", `event=x&userId=u`, append(basic(testWriteKey), "Content-Type", "application/x-www-form-urlencoded")...)
	assert.Equal(t, http.StatusBadRequest, r.code, "any declared type, but the body must be JSON")
	assert.Equal(t, []string{"body: invalid JSON: invalid character 'e' looking for beginning of value (the body must be JSON, whatever the Content-Type; this request declared Content-Type application/x-www-form-urlencoded)"}, problemStrings(t, r))

	r = do(t, h, "POST", "/v1/batch", `{"batch":[{"type":"track","userId":"u"},{"type":"boom"},{"type":"page","properties":{"tenant_id":"t"}}]}`, basic(testWriteKey)...)
	require.Equal(t, http.StatusBadRequest, r.code)
	assert.Equal(t, []string{
		"batch[0].event: required",
		"batch[0].context.groupId: required (or properties.tenant_id, or a write key bound to a tenant)",
		"batch[1].type: must be one of track, page, screen, identify, group, alias",
		"batch[2].userId: required (or anonymousId)",
	}, problemStrings(t, r))

	six := `{"batch":[` + repeat(`{"type":"track","event":"x","userId":"u","context":{"groupId":"t"}}`, 6) + `]}`
	r = do(t, h, "POST", "/v1/batch", six, basic(testWriteKey)...)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.code)
}

func TestSegment503(t *testing.T) {
	api, _ := newTestAPI(t, testConfig(), &fakePublisher{err: ErrUnavailable})
	r := do(t, api.Handler(), "POST", "/v1/track", `{"event":"x","userId":"u","context":{"groupId":"t"}}`, basic(testWriteKey)...)
	assert.Equal(t, http.StatusServiceUnavailable, r.code)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Nil(t, r.body["success"])
}

func repeat(s string, n int) string {
	out := s
	for i := 1; i < n; i++ {
		out += "," + s
	}
	return out
}

// RudderStack's JavaScript SDK sends context.sessionId as a number (epoch
// milliseconds); Segment's SDKs as a string. Both are a session id; anything
// else is a 400 naming the field.
func TestSegmentSessionID(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	h := api.Handler()
	for _, c := range []struct{ sent, want string }{{`1764484800123`, "1764484800123"}, {`"s-1"`, "s-1"}, {`-1`, ""}} {
		r := do(t, h, "POST", "/v1/track", `{"event":"x","userId":"u1","context":{"groupId":"t1","sessionId":`+c.sent+`}}`, basic(testWriteKey)...)
		require.Equal(t, http.StatusOK, r.code, "%s: %v", c.sent, r.body)
	}
	got := pub.published()
	require.Len(t, got, 3)
	assert.Equal(t, []string{"1764484800123", "s-1", ""}, []string{got[0].SessionID, got[1].SessionID, got[2].SessionID})

	r := do(t, h, "POST", "/v1/track", `{"event":"x","userId":"u1","context":{"groupId":"t1","sessionId":{"id":1}}}`, basic(testWriteKey)...)
	require.Equal(t, http.StatusBadRequest, r.code)
	assert.Equal(t, []string{"context.sessionId: must be an integer or a string"}, problemStrings(t, r))
}
