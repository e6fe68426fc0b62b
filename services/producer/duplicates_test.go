package producer

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A member name repeated in any object of a request body is a 400 naming the
// member's path, on every ingest surface, and nothing is published: a
// first-wins reader in front of the producer would otherwise see another user,
// tenant or consent than the producer records.

func TestEventsDuplicateMemberIs400(t *testing.T) {
	deepPath := "client_consent" + strings.Repeat("[0]", 400) + ".ai"
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	h := api.Handler()
	const ev = `"event_type":"x","tenant_id":"t"`
	for body, want := range map[string][]string{
		`{` + ev + `,"user_id":"a","user_id":"b"}`:                                         {"user_id: duplicate member"},
		`{"events":[{` + ev + `,"user_id":"a"},{` + ev + `,"user_id":"a","user_id":"b"}]}`: {"events[1].user_id: duplicate member"},
		`{"events":[{` + ev + `,"user_id":"a"}],"events":[{` + ev + `,"user_id":"b"}]}`:    {"events: duplicate member"},
		`{"events":[{` + ev + `,"user_id":"a","tenant_id":"t2"}]}`:                         {"events[0].tenant_id: duplicate member"},
		`{"events":[{` + ev + `,"user_id":"a","properties":{"k":"1","k":"2"}}]}`:           {"events[0].properties.k: duplicate member"},
		`{"events":[{` + ev + `,"user_id":"a","properties":{"k":"1","k":null}}]}`:          {"events[0].properties.k: duplicate member"},
		`{"events":[{` + ev + `,"user_id":"a","location":"DE","location":"FR"}]}`:          {"events[0].location: duplicate member"},
		`{` + ev + `,"user_id":"a","client_consent":{"ai":true,"ai":false}}`:               {"client_consent.ai: duplicate member"},
		`{` + ev + `,"user_id":"a","client_consent":[{"x":{"ai":true,"a\u0069":false}}]}`:  {"client_consent[0].x.ai: duplicate member"},
		// Every repeat is named, in the order of the body.
		`{"events":[{` + ev + `,"user_id":"a","properties":{"k":"1","k":"2"}},{` + ev + `,"user_id":"a","user_id":"b"}]}`: {
			"events[0].properties.k: duplicate member", "events[1].user_id: duplicate member"},
		// Names are compared decoded, and a repeat is named once.
		`{` + ev + `,"user_id":"a","user\u005fid":"b","user_id":"c"}`: {"user_id: duplicate member"},
		// Deeper than fastjson parses: encoding/json's reading finds it too.
		// (The answer leaves out the middle of a path over refusals.MaxText bytes.)
		`{` + ev + `,"user_id":"a","client_consent":` + strings.Repeat("[", 400) + `{"ai":1,"ai":2}` + strings.Repeat("]", 400) + `}`: {
			deepPath[:128] + "…" + deepPath[len(deepPath)-128:] + ": duplicate member"},
	} {
		r := do(t, h, "POST", "/v1/events", body, "Authorization", "Bearer "+testToken)
		require.Equal(t, http.StatusBadRequest, r.code, "%.120s: %v", body, r.body)
		assert.Equal(t, want, problemStrings(t, r), "%.120s", body)
		_, err := decodeEventsFull([]byte(body), 5, nil)
		assert.Error(t, err, "the full decoder alone refuses it too")
	}
	assert.Empty(t, pub.published())
}

func TestSegmentDuplicateMemberIs400(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	h := api.Handler()
	const msg = `"type":"track","event":"e","context":{"groupId":"g"}`
	for path, cases := range map[string]map[string][]string{
		"/v1/batch": {
			`{"batch":[{` + msg + `,"userId":"a","userId":"b"}]}`:                            {"batch[0].userId: duplicate member"},
			`{"batch":[{` + msg + `,"userId":"a"}],"context":{"groupId":"g","groupId":"h"}}`: {"context.groupId: duplicate member"},
			`{"batch":[{"type":"track","event":"e","userId":"a","context":{"groupId":"g","groupId":"h"}}]}`: {
				"batch[0].context.groupId: duplicate member"},
			`{"batch":[{` + msg + `,"userId":"a","properties":{"tenant_id":"t","tenant_id":"u"}}]}`: {
				"batch[0].properties.tenant_id: duplicate member"},
			`{"batch":[{"type":"track","event":"e","userId":"a","context":{"groupId":"g","location":{"country":"DE","country":"FR"}}}]}`: {
				"batch[0].context.location.country: duplicate member"},
			`{"batch":[{` + msg + `,"userId":"a"}],"batch":[{` + msg + `,"userId":"b"}]}`: {"batch: duplicate member"},
		},
		"/v1/track": {
			`{"event":"e","userId":"a","anonymousId":"x","anonymousId":"y","context":{"groupId":"g"}}`: {"anonymousId: duplicate member"},
			`{"event":"e","userId":"a","context":{"groupId":"g","consent":{"categoryPreferences":{"ai":true,"ai":false}}}}`: {
				"context.consent.categoryPreferences.ai: duplicate member"},
		},
	} {
		for body, want := range cases {
			r := do(t, h, "POST", path, body, basic(testWriteKey)...)
			require.Equal(t, http.StatusBadRequest, r.code, "%s %s: %v", path, body, r.body)
			assert.Equal(t, want, problemStrings(t, r), "%s %s", path, body)
		}
	}
	assert.Empty(t, pub.published())
}

func TestAmplitudeDuplicateMemberIs400(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	const ev = `"event_type":"x","event_properties":{"tenant_id":"t"}`
	for body, want := range map[string]string{
		`{"api_key":"amp-key-1","events":[{` + ev + `,"user_id":"a","user_id":"b"}]}`:                                              "events[0].user_id: duplicate member",
		`{"api_key":"amp-key-1","events":[{"event_type":"x","user_id":"a","event_properties":{"tenant_id":"t","tenant_id":"u"}}]}`: "events[0].event_properties.tenant_id: duplicate member",
		`{"api_key":"amp-key-1","events":[{` + ev + `,"user_id":"a","user_properties":{"$set":{"email":"a@x","email":"b@x"}}}]}`:   `events[0].user_properties["$set"].email: duplicate member`,
		`{"api_key":"amp-key-1","api_key":"amp-key-acme","events":[{` + ev + `,"user_id":"a"}]}`:                                   "api_key: duplicate member",
		// The key is never first-wins: a repeat is refused with its path
		// whichever one is known, and so is a name equal but for case.
		`{"api_key":"unknown-key","api_key":"amp-key-1","events":[{` + ev + `,"user_id":"a"}]}`: "api_key: duplicate member",
		`{"api_key":"amp-key-1","API_KEY":"unknown-key","events":[{` + ev + `,"user_id":"a"}]}`: "api_key: duplicate member (api_key differs from API_KEY only in letter case)",
		`{"Api_Key":"unknown-key","api_key":"amp-key-1","events":[{` + ev + `,"user_id":"a"}]}`: "api_key: duplicate member (api_key differs from Api_Key only in letter case)",
	} {
		rec, m := send(t, h, "POST", "/2/httpapi", []byte(body), false)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %v", body, m)
		assert.Contains(t, m["error"], want, body)
		assert.Contains(t, fmt.Sprint(m["problems"]), "path:"+strings.SplitN(want, ":", 2)[0]+"]", body)
	}
	assert.Empty(t, pub.published())
}

func TestMixpanelDuplicateMemberIs400(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	for data, want := range map[string]string{
		`[{"event":"e","properties":{"token":"mp-token-1","tenant_id":"t","distinct_id":"a","distinct_id":"b"}}]`:                                                                               "data[0].properties.distinct_id: duplicate member",
		`{"event":"e","properties":{"token":"mp-token-1","tenant_id":"t","distinct_id":"a"},"properties":{"token":"mp-token-1"}}`:                                                               "data[0].properties: duplicate member",
		`[{"event":"e","properties":{"token":"mp-token-1","tenant_id":"t","distinct_id":"a"}},{"event":"e","event":"f","properties":{"token":"mp-token-1","tenant_id":"t","distinct_id":"a"}}]`: "data[1].event: duplicate member",
	} {
		rec, m := send(t, h, "POST", "/track", form("data", data, "verbose", "1"), false, "Content-Type", formType)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %v", data, m)
		assert.Contains(t, m["error"], want, data)
	}
	rec, m := send(t, h, "POST", "/engage", form("data", `{"$token":"mp-token-1","$distinct_id":"a","$set":{"tenant_id":"t","tenant_id":"u"}}`, "verbose", "1"), false, "Content-Type", formType)
	require.Equal(t, http.StatusBadRequest, rec.Code, "%v", m)
	assert.Contains(t, m["error"], `data[0]["$set"].tenant_id: duplicate member`)
	assert.Empty(t, pub.published())
}

// The write key in a Segment body is the member named exactly writeKey (as
// Segment documents it and analytics.js sends it). Names equal to it but for
// letter case are refused as duplicates, with or without basic auth: a reader
// that matches names case-insensitively (Go's encoding/json into a struct)
// would authenticate with another member than the producer. A lone case
// variant is an unknown member: it authenticates no one.
func TestSegmentBodyWriteKeyIsExact(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	const msg = `"event":"e","userId":"u","context":{"groupId":"t1"}`
	for _, c := range []struct {
		body  string
		basic bool
		code  int
		want  []string
	}{
		{`{` + msg + `,"writeKey":"` + testWriteKey + `"}`, false, 200, nil},
		{`{` + msg + `,"write\u004bey":"` + testWriteKey + `"}`, false, 200, nil}, // names compared decoded
		{`{` + msg + `,"WriteKey":"` + testWriteKey + `"}`, false, 401, nil},
		{`{` + msg + `,"writekey":"` + testWriteKey + `"}`, false, 401, nil},
		{`{` + msg + `,"writeKey":"unknown","WriteKey":"` + testWriteKey + `"}`, false, 400,
			[]string{"writeKey: duplicate member (writeKey differs from WriteKey only in letter case)"}},
		{`{` + msg + `,"WriteKey":"` + testWriteKey + `","writeKey":"unknown"}`, false, 400,
			[]string{"writeKey: duplicate member (writeKey differs from WriteKey only in letter case)"}},
		{`{` + msg + `,"writeKey":"` + testWriteKey + `","write\u212aey":"unknown"}`, false, 400, // the Kelvin sign folds to k
			[]string{"[\"write\u212aey\"]: duplicate member (write\u212aey differs from writeKey only in letter case)"}},
		{`{` + msg + `,"writeKey":"` + testWriteKey + `","writeKey":"unknown","writeKey":"x"}`, false, 400,
			[]string{"writeKey: duplicate member"}},
		{`{` + msg + `,"writeKey":"` + testWriteKey + `","WRITEKEY":"unknown"}`, true, 400,
			[]string{"writeKey: duplicate member (writeKey differs from WRITEKEY only in letter case)"}},
		{`{"batch":[{"type":"track",` + msg + `}],"writeKey":"` + testWriteKey + `","WriteKey":"` + testWriteKey + `"}`, false, 400,
			[]string{"writeKey: duplicate member (writeKey differs from WriteKey only in letter case)"}},
	} {
		var hdr []string
		if c.basic {
			hdr = basic(testWriteKey)
		}
		path := "/v1/track"
		if strings.Contains(c.body, `"batch"`) {
			path = "/v1/batch"
		}
		r := do(t, h, "POST", path, c.body, hdr...)
		require.Equal(t, c.code, r.code, "%s: %v", c.body, r.body)
		if c.want != nil {
			assert.Equal(t, c.want, problemStrings(t, r), c.body)
		}
	}
	assert.Len(t, pub.published(), 2, "only the two bodies with writeKey alone")
}

// A form field or query parameter read as one value (Mixpanel's data, the
// Segment beacons' writeKey) that a request repeats is a 400 naming it, as a
// repeated JSON member is: url.Values.Get reads the first, other readers the
// last. So is Mixpanel data sent both in the query and in the form body, and
// a project token named twice but for letter case.
func TestRepeatedFormFieldIs400(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	ev := func(user string) string {
		return `{"event":"e","properties":{"token":"mp-token-1","tenant_id":"t","distinct_id":"` + user + `"}}`
	}
	twice := url.Values{"data": {ev("a"), ev("b")}, "verbose": {"1"}}.Encode()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		method, path, body, want string
	}{
		{"POST", "/track", twice, "data: duplicate form field (2 values; send one)"},
		{"POST", "/engage", url.Values{"data": {`{"$token":"mp-token-1","$distinct_id":"a","$set":{"tenant_id":"t"}}`, `{}`}}.Encode(), "data: duplicate form field"},
		{"GET", "/track?data=" + b64(ev("a")) + "&data=" + b64(ev("b")), "", "data: duplicate query parameter (2 values; send one)"},
		{"POST", "/import?data=" + b64(ev("b")), url.Values{"data": {ev("a")}}.Encode(), "data: given in both the query and the form body"},
		{"POST", "/track", url.Values{"data": {`{"event":"e","properties":{"token":"mp-token-1","Token":"nope","tenant_id":"t","distinct_id":"a"}}`}}.Encode(),
			"data[0].properties.token: duplicate member (token differs from Token only in letter case)"},
	} {
		rec, m := send(t, h, c.method, c.path, []byte(c.body), false, "Content-Type", formType)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s %s: %v", c.method, c.path, m)
		assert.Contains(t, m["error"], c.want, "%s %s", c.method, c.path)
	}
	beacon := `{"batch":[{"type":"page","anonymousId":"a","properties":{"name":"Home"}}]}`
	rec, m := send(t, h, "POST", "/beacon/v1/batch?writeKey="+testBrowserKey+"&writeKey=unknown", []byte(beacon), false,
		"Content-Type", "text/plain", "Origin", testSiteOrigin)
	require.Equal(t, http.StatusBadRequest, rec.Code, "%v", m)
	assert.Contains(t, m["message"], "writeKey: duplicate query parameter (2 values; send one)")
	assert.Empty(t, pub.published())
}
