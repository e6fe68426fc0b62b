package producer

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Amplitude's HTTP API v2 body, mapped field by field.
func TestAmplitudeMapping(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	insert := uuid.NewString()
	body := `{"api_key":"amp-key-1","options":{"min_id_length":1},"events":[
	  {"event_type":"Issue Created","user_id":"u1","device_id":"d1","time":1735732800123,"insert_id":"` + insert + `",
	   "session_id":1735732000000,"language":"de-DE","ip":"203.0.113.7","user_agent":"ua/2","platform":"Web",
	   "event_properties":{"tenant_id":"t1","issue":"ABC-1","points":3,"text":"mail me at a@example.com","jurisdiction":"DE"},
	   "user_properties":{"name":"Ada Lovelace","email":"ada@example.com"}},
	  {"event_type":"$identify","user_id":"u1","device_id":"d1","insert_id":"not-a-uuid-1","session_id":-1,"ip":"$remote",
	   "user_properties":{"$set":{"plan":"pro","tenant_id":"t1","email":"ada@example.com"},"$setOnce":{"plan":"free","first_seen":"2025"},"$add":{"logins":1}}},
	  {"event_type":"$groupidentify","device_id":"d2","groups":{"company":"acme"},"group_properties":{"$set":{"seats":10}},"event_properties":{"tenant_id":"t1"}},
	  {"event_type":"[Amplitude] Page Viewed","device_id":"d2","event_properties":{"tenant_id":"t1","page_path":"/home"}},
	  {"event_type":"checkout","user_id":"u3","price":9.5,"quantity":2,"productId":"p-1","event_properties":{"tenant_id":"t1"}}
	]}`
	rec, m := send(t, h, "POST", "/2/httpapi", []byte(body), false, "Content-Type", "application/json")
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	assert.EqualValues(t, 200, m["code"])
	assert.EqualValues(t, 5, m["events_ingested"])
	assert.EqualValues(t, len(body), m["payload_size_bytes"])
	assert.NotZero(t, m["server_upload_time"])
	got := pub.published()
	require.Len(t, got, 5)

	tr := got[0]
	assert.Equal(t, "amplitude", tr.Source)
	assert.Equal(t, insert, tr.EventID, "a UUID insert_id is the event id")
	assert.Equal(t, "Issue Created", tr.EventType)
	assert.Equal(t, "t1", tr.TenantID)
	assert.Equal(t, [2]string{"u1", "d1"}, [2]string{tr.UserID, tr.AnonymousID}, "device_id is the anonymous id; both link them")
	assert.Equal(t, time.UnixMilli(1735732800123).UTC(), tr.OccurredAt)
	assert.Equal(t, "1735732000000", tr.SessionID)
	assert.Equal(t, "de-DE", tr.Locale)
	assert.Equal(t, "203.0.113.7", tr.IP)
	assert.Equal(t, "ua/2", tr.UserAgent)
	assert.Equal(t, "DE", tr.Jurisdiction)
	assert.Equal(t, "mail me at a@example.com", tr.Text)
	assert.Equal(t, map[string]string{"tenant_id": "t1", "issue": "ABC-1", "points": "3"}, tr.Properties)
	assert.Equal(t, [2]string{"Ada Lovelace", "ada@example.com"}, [2]string{tr.ActorName, tr.ActorEmail})

	id := got[1]
	assert.Equal(t, "identify", id.EventType)
	assert.Equal(t, uuid.NewSHA1(amplitudeNamespace, []byte("t1\x00not-a-uuid-1")).String(), id.EventID, "stable, per tenant")
	assert.Equal(t, map[string]string{"plan": "pro", "tenant_id": "t1", "email": "ada@example.com", "first_seen": "2025",
		"$add": `{"logins":1}`, "amplitude_insert_id": "not-a-uuid-1"}, id.Properties, "$set wins over $setOnce")
	assert.Equal(t, "t1", id.TenantID, "user_properties' tenant_id")
	assert.Empty(t, id.SessionID, "-1 is no session")
	assert.Empty(t, id.IP, "$remote is no address")
	assert.Equal(t, "ada@example.com", id.ActorEmail)

	g := got[2]
	assert.Equal(t, "group", g.EventType)
	assert.Equal(t, "d2", g.AnonymousID)
	assert.Equal(t, map[string]string{"tenant_id": "t1", "seats": "10", "groups": `{"company":"acme"}`}, g.Properties)
	assert.Equal(t, "page_viewed", got[3].EventType)
	assert.Equal(t, map[string]string{"tenant_id": "t1", "price": "9.5", "quantity": "2", "productId": "p-1"}, got[4].Properties)

	// /batch is the same API.
	rec, _ = send(t, h, "POST", "/batch", []byte(`{"api_key":"amp-key-acme","events":[{"event_type":"x","user_id":"u9"}]}`), true)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	assert.Equal(t, "acme", pub.published()[5].TenantID, "a key bound to a tenant supplies it")
}

// The answers Amplitude's SDKs act on: they drop the events listed under
// events_with_invalid_fields / events_with_missing_fields and send the
// others again; they drop the batch on "Invalid API key" or a
// missing_field; they halve it on 413; they retry 5xx.
func TestAmplitudeAnswers(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	post := func(body string, hdr ...string) (int, map[string]any, http.Header) {
		rec, m := send(t, h, "POST", "/2/httpapi", []byte(body), false, hdr...)
		return rec.Code, m, rec.Header()
	}
	code, m, _ := post(`{"events":[{"event_type":"x","user_id":"u","event_properties":{"tenant_id":"t"}}]}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, "api_key", m["missing_field"])

	code, m, _ = post(`{"api_key":"wrong","events":[{"event_type":"x","user_id":"u"}]}`)
	assert.Equal(t, 400, code)
	assert.Regexp(t, `^Invalid API key: `, m["error"], "what both SDKs look for")
	assert.EqualValues(t, 400, m["code"], "the SDKs take the status from the body's code")

	code, m, _ = post(`{"api_key":"amp-key-1","events":[
	  {"user_id":"u","event_properties":{"tenant_id":"t"}},
	  {"event_type":"x","user_id":"a\u0000b","event_properties":{"tenant_id":"t"}},
	  {"event_type":"x","event_properties":{"tenant_id":"t"}},
	  {"event_type":"x","user_id":"u","time":"yesterday","event_properties":{"tenant_id":"t"}},
	  {"event_type":"x","user_id":"u"}]}`)
	require.Equal(t, 400, code)
	assert.Equal(t, map[string]any{"event_type": []any{0.0}, "user_id": []any{2.0}, "event_properties": []any{4.0}}, m["events_with_missing_fields"])
	assert.Equal(t, map[string]any{"user_id": []any{1.0}, "time": []any{3.0}}, m["events_with_invalid_fields"])
	assert.NotEmpty(t, m["problems"])

	code, m, _ = post(`{"api_key":"amp-key-acme","events":[{"event_type":"x","user_id":"u","event_properties":{"tenant_id":"acme"}},{"event_type":"x","user_id":"u","event_properties":{"tenant_id":"globex"}}]}`)
	require.Equal(t, 403, code, "a key bound to acme sends globex's event")
	assert.Equal(t, map[string]any{"event_properties": []any{1.0}}, m["events_with_invalid_fields"])

	code, m, _ = post(`{"api_key":"amp-key-web","events":[{"event_type":"x","device_id":"d"}]}`, "Origin", testOtherOrigin)
	require.Equal(t, 403, code)
	assert.Regexp(t, `^Invalid API key: origin "https://other.example.com" is not among`, m["error"], "the SDKs drop the batch")

	six := `{"api_key":"amp-key-1","events":[` + repeat(`{"event_type":"x","user_id":"u","event_properties":{"tenant_id":"t"}}`, 6) + `]}`
	code, m, _ = post(six)
	assert.Equal(t, 413, code)
	assert.EqualValues(t, 413, m["code"])

	code, m, _ = post(`not json`, "Content-Type", "text/plain")
	assert.Equal(t, 400, code)
	assert.Contains(t, m["error"], "invalid JSON")
	assert.Empty(t, pub.published(), "nothing of a refused request")

	down, _ := newTestAPI(t, sdkTestConfig(), &fakePublisher{err: ErrUnavailable})
	rec, m := send(t, down.Handler(), "POST", "/2/httpapi", []byte(`{"api_key":"amp-key-1","events":[{"event_type":"x","user_id":"u","event_properties":{"tenant_id":"t"}}]}`), false)
	assert.Equal(t, 503, rec.Code)
	assert.EqualValues(t, 503, m["code"], "a 5xx code: the SDKs retry")
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))
}
