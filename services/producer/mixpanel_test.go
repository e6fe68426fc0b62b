package producer

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func form(kv ...string) []byte {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return []byte(v.Encode())
}

const formType = "application/x-www-form-urlencoded"

// Mixpanel's identity model, special events and profile updates, mapped.
func TestMixpanelMapping(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	events := `[
	  {"event":"Issue Created","properties":{"token":"mp-token-1","distinct_id":"u1","time":1735732800.25,"$insert_id":"ins-1",
	     "tenant_id":"t1","issue":"ABC-1","ip":"198.51.100.4","text":"call +44 20 7946 0958","jurisdiction":"US-CA","mp_lib":"python"}},
	  {"event":"$mp_web_page_view","properties":{"token":"mp-token-1","distinct_id":"$device:d1","$device_id":"d1","time":1735732800123,"tenant_id":"t1","current_url_path":"/home"}},
	  {"event":"Logged In","properties":{"token":"mp-token-1","distinct_id":"u1","$device_id":"d1","$user_id":"u1","tenant_id":"t1"}},
	  {"event":"$identify","properties":{"token":"mp-token-1","distinct_id":"u1","$identified_id":"u1","$anon_id":"d9","tenant_id":"t1"}},
	  {"event":"$create_alias","properties":{"token":"mp-token-acme","distinct_id":"anon-7","alias":"u7"}}
	]`
	rec, m := send(t, h, "POST", "/track", form("data", events, "verbose", "1", "ip", "0"), false, "Content-Type", formType)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	assert.Equal(t, map[string]any{"status": 1.0, "error": nil}, m, "the Python SDK's verbose answer")
	got := pub.published()
	require.Len(t, got, 5)

	tr := got[0]
	assert.Equal(t, "mixpanel", tr.Source)
	assert.Equal(t, "Issue Created", tr.EventType)
	assert.Equal(t, [2]string{"u1", ""}, [2]string{tr.UserID, tr.AnonymousID}, "distinct_id is the user id")
	assert.Equal(t, time.UnixMilli(1735732800250).UTC(), tr.OccurredAt, "fractional seconds")
	assert.Equal(t, uuid.NewSHA1(mixpanelNamespace, []byte("t1\x00ins-1")).String(), tr.EventID)
	assert.Equal(t, "198.51.100.4", tr.IP)
	assert.Equal(t, "call +44 20 7946 0958", tr.Text)
	assert.Equal(t, "US-CA", tr.Jurisdiction)
	assert.Equal(t, map[string]string{"tenant_id": "t1", "issue": "ABC-1", "mp_lib": "python", "mixpanel_insert_id": "ins-1"}, tr.Properties,
		"no token, no raw ids, nothing that has its own field")

	pv := got[1]
	assert.Equal(t, "page_viewed", pv.EventType)
	assert.Equal(t, [2]string{"", "d1"}, [2]string{pv.UserID, pv.AnonymousID}, "$device: distinct ids are anonymous")
	assert.Equal(t, time.UnixMilli(1735732800123).UTC(), pv.OccurredAt, "milliseconds")
	assert.Equal(t, [2]string{"u1", "d1"}, [2]string{got[2].UserID, got[2].AnonymousID}, "$user_id with $device_id links them")
	ident := got[3]
	assert.Equal(t, "identify", ident.EventType)
	assert.Equal(t, [2]string{"u1", "d9"}, [2]string{ident.UserID, ident.AnonymousID}, "$identify links $anon_id to $identified_id")
	al := got[4]
	assert.Equal(t, "alias", al.EventType)
	assert.Equal(t, [3]string{"u7", "", "anon-7"}, [3]string{al.UserID, al.AnonymousID, al.PreviousID}, "alias(u7, anon-7)")
	assert.Equal(t, "acme", al.TenantID, "the token's tenant")

	// The Node SDK: GET with base64 data, and the terse answer.
	one := base64.StdEncoding.EncodeToString([]byte(`{"event":"x","properties":{"token":"mp-token-acme","distinct_id":"u2","$insert_id":"` + uuid.Nil.String() + `1"}}`))
	rec, _ = send(t, h, "GET", "/track?ip=0&verbose=0&data="+url.QueryEscape(one), nil, false)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	assert.Equal(t, "1", rec.Body.String())
	// Its single import() is a GET too (with api_key, Mixpanel's credential, not checked here).
	imp := base64.StdEncoding.EncodeToString([]byte(`{"event":"Imported","properties":{"token":"mp-token-acme","distinct_id":"u2","time":1735732800}}`))
	rec, _ = send(t, h, "GET", "/import?ip=0&verbose=0&api_key=k&data="+url.QueryEscape(imp), nil, false)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	assert.Equal(t, "1", rec.Body.String())
	imported := pub.published()
	assert.Equal(t, [2]string{"Imported", "u2"}, [2]string{imported[len(imported)-1].EventType, imported[len(imported)-1].UserID})

	// /engage: profile updates are identify events.
	engage := base64.StdEncoding.EncodeToString([]byte(`[{"$token":"mp-token-1","$distinct_id":"u1","$time":1735732800000,"$ip":"198.51.100.4",
	   "$set":{"$first_name":"Ada","$last_name":"Lovelace","$email":"ada@example.com","tenant_id":"t1","plan":"pro"},"$set_once":{"first_seen":"2025"}},
	  {"$token":"mp-token-acme","$distinct_id":"u2","$union":{"company":["acme"]}}]`))
	rec, _ = send(t, h, "POST", "/engage?ip=0&verbose=0", form("data", engage), false, "Content-Type", formType)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	got = pub.published()
	require.Len(t, got, 9)
	p1, p2 := got[7], got[8]
	assert.Equal(t, "identify", p1.EventType)
	assert.Equal(t, "u1", p1.UserID)
	assert.Equal(t, "t1", p1.TenantID, "$set.tenant_id")
	assert.Equal(t, time.UnixMilli(1735732800000).UTC(), p1.OccurredAt)
	assert.Equal(t, [2]string{"Ada Lovelace", "ada@example.com"}, [2]string{p1.ActorName, p1.ActorEmail})
	assert.Equal(t, map[string]string{"$first_name": "Ada", "$last_name": "Lovelace", "$email": "ada@example.com", "tenant_id": "t1", "plan": "pro", "first_seen": "2025"}, p1.Properties)
	assert.Equal(t, map[string]string{"$union": `{"company":["acme"]}`}, p2.Properties)
	assert.Equal(t, "acme", p2.TenantID)

	// /import with a JSON body, the newer answer; $merge links two ids.
	rec, m = send(t, h, "POST", "/import?strict=1", []byte(`[{"event":"$merge","properties":{"token":"mp-token-1","$distinct_ids":["u1","old-id"],"tenant_id":"t1","time":1735732800}}]`), false,
		"Content-Type", "application/json", "Authorization", "Basic c2VjcmV0Og==")
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	assert.Equal(t, map[string]any{"code": 200.0, "num_records_imported": 1.0, "status": "OK"}, m)
	mg := pub.published()[9]
	assert.Equal(t, [3]string{"alias", "u1", "old-id"}, [3]string{mg.EventType, mg.UserID, mg.PreviousID})
}

// The answers Mixpanel's SDKs act on: the Node SDK reports any body but "1"
// (or status != 1 when verbose), the Python SDK raises on status != 1.
func TestMixpanelAnswers(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	track := func(data string, hdr ...string) (int, map[string]any) {
		rec, m := send(t, h, "POST", "/track", form("data", data, "verbose", "1"), false, append([]string{"Content-Type", formType}, hdr...)...)
		return rec.Code, m
	}
	code, m := track(`{"event":"x","properties":{"token":"nope","distinct_id":"u"}}`)
	assert.Equal(t, 401, code)
	assert.Equal(t, 0.0, m["status"])
	assert.Contains(t, m["error"], "data[0].properties.token: unknown project token")
	code, m = track(`{"event":"x","properties":{"distinct_id":"u"}}`)
	assert.Equal(t, 401, code)
	assert.Contains(t, m["error"], "required: the project token")

	code, m = track(`{"event":"x","properties":{"token":"mp-token-1","distinct_id":"u"}}`)
	assert.Equal(t, 400, code)
	assert.Contains(t, m["error"], "data[0].properties.tenant_id: required")
	code, m = track(`[{"event":"x","properties":{"token":"mp-token-acme","distinct_id":"u","tenant_id":"globex"}}]`)
	assert.Equal(t, 403, code)
	assert.Contains(t, m["error"], `credential mp-acme is bound to tenant "acme"`)
	code, m = track(`{"event":"x","properties":{"token":"mp-token-web","distinct_id":"u"}}`, "Origin", testOtherOrigin)
	assert.Equal(t, 403, code)
	assert.Contains(t, m["error"], "is not among the origins of Mixpanel token mp-web")
	code, m = track(`garbage`)
	assert.Equal(t, 400, code)
	assert.Contains(t, m["error"], "data must be JSON, or base64 of JSON")

	// Non-verbose refusals explain themselves too (anything but "1" is an error to the Node SDK).
	rec, _ := send(t, h, "GET", "/track?data="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(`{"event":"x","properties":{"token":"nope","distinct_id":"u"}}`))), nil, false)
	assert.Equal(t, 401, rec.Code)
	assert.NotEqual(t, "1", rec.Body.String())

	// /import is for servers; the newer answer lists failed records.
	rec, m = send(t, h, "POST", "/import", []byte(`[{"event":"x","properties":{"token":"mp-token-web","distinct_id":"u"}}]`), false, "Content-Type", "application/json")
	assert.Equal(t, 403, rec.Code)
	assert.Contains(t, m["error"], "is a browser token: /import is for servers")
	rec, m = send(t, h, "POST", "/import", []byte(`[{"event":"x","properties":{"token":"mp-token-1","distinct_id":"u","tenant_id":"t"}},{"properties":{"token":"mp-token-1","distinct_id":"u","tenant_id":"t"}}]`), false, "Content-Type", "application/json")
	assert.Equal(t, 400, rec.Code)
	assert.Equal(t, []any{map[string]any{"index": 1.0, "field": "event", "message": "required"}}, m["failed_records"])
	assert.Equal(t, 0.0, m["num_records_imported"])

	// Group profiles name no person: refused with the reason.
	rec, m = send(t, h, "POST", "/groups", form("data", `{"$token":"mp-token-1","$group_key":"company","$group_id":"acme","$set":{"seats":3}}`, "verbose", "1"), false, "Content-Type", formType)
	assert.Equal(t, 400, rec.Code)
	assert.Contains(t, m["error"], "describe a group, not a person")
	assert.Empty(t, pub.published())

	down, _ := newTestAPI(t, sdkTestConfig(), &fakePublisher{err: ErrUnavailable})
	rec, m = send(t, down.Handler(), "POST", "/track", form("data", `{"event":"x","properties":{"token":"mp-token-acme","distinct_id":"u"}}`, "verbose", "1"), false, "Content-Type", formType)
	assert.Equal(t, 503, rec.Code)
	assert.Equal(t, 0.0, m["status"])
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))
}
