package producer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testSiteOrigin  = "https://app.example.com"
	testBrowserKey  = "pub-key-web"
	testOtherOrigin = "https://other.example.com"
)

// sdkTestConfig adds browser keys with origins to testConfig: a Segment
// write key for testSiteOrigin, another for testOtherOrigin, Amplitude keys
// and Mixpanel tokens.
func sdkTestConfig() Config {
	cfg := testConfig()
	cfg.MaxBodyBytes = 64 << 10
	cfg.WriteKeys += ",web:plain:" + testBrowserKey + ";tenant=acme;browser;jurisdiction=DE;origins=" + testSiteOrigin +
		",other-web:plain:pub-key-other;tenant=globex;browser;origins=" + testOtherOrigin
	cfg.AmplitudeKeys = "amp:plain:amp-key-1,amp-acme:plain:amp-key-acme;tenant=acme,amp-web:plain:amp-key-web;tenant=acme;browser;origins=" + testSiteOrigin
	cfg.MixpanelTokens = "mp:plain:mp-token-1,mp-acme:plain:mp-token-acme;tenant=acme,mp-web:plain:mp-token-web;tenant=acme;browser;origins=" + testSiteOrigin
	return cfg
}

// send posts body (gzipped when gz) to h with the headers given as
// alternating name, value; no Content-Type unless given.
func send(t testing.TB, h http.Handler, method, target string, body []byte, gz bool, hdr ...string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		require.NoError(t, zw.Close())
		body = buf.Bytes()
	}
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec, m
}

// The Segment-compatible routes take a JSON body whatever the declared type
// and encoding: RudderStack's Node SDK declares gzip JSON as a form,
// analytics-next declares text/plain, a beacon may declare nothing.
func TestSegmentAnyContentType(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	body := []byte(`{"batch":[{"type":"track","event":"x","userId":"u1","context":{"groupId":"t1"}}]}`)
	n := 0
	for _, ct := range []string{"application/json", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "", "application/octet-stream"} {
		for _, gz := range []bool{false, true} {
			hdr := basic(testWriteKey)
			if ct != "" {
				hdr = append(hdr, "Content-Type", ct)
			}
			rec, m := send(t, h, "POST", "/v1/batch", body, gz, hdr...)
			require.Equal(t, http.StatusOK, rec.Code, "%q gzip=%v: %s", ct, gz, rec.Body)
			assert.Equal(t, true, m["success"])
			n++
		}
	}
	assert.Len(t, pub.published(), n)

	// /v1/events stays strict.
	rec, _ := send(t, h, "POST", "/v1/events", []byte(`{"event_type":"x","tenant_id":"t","user_id":"u"}`), false, append(bearer(testToken), "Content-Type", "text/plain")...)
	assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
}

// Hostile bodies: a gzip bomb is refused once MaxBodyBytes is inflated, never
// inflated further; a body that claims gzip and is not gets a 400 naming it;
// a body that is not JSON gets a 400 saying so.
func TestSegmentHostileBodies(t *testing.T) {
	pub := &fakePublisher{}
	cfg := sdkTestConfig()
	api, _ := newTestAPI(t, cfg, pub)
	h := api.Handler()

	// 64 MiB of spaces then a message: about 64 KiB compressed, over 1000× the limit inflated.
	bomb := append(bytes.Repeat([]byte(" "), 64<<20), []byte(`{"event":"x","userId":"u","context":{"groupId":"t"}}`)...)
	rec, m := send(t, h, "POST", "/v1/track", bomb, true, basic(testWriteKey)...)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Contains(t, m["message"], "after gzip decoding")

	rec, m = send(t, h, "POST", "/v1/track", []byte(`{"event":"x"}`), false, append(basic(testWriteKey), "Content-Encoding", "gzip")...)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, m["message"], "not valid gzip")

	// A truncated gzip stream.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"event":"x","userId":"u","context":{"groupId":"t"}}`))
	_ = zw.Close()
	rec, m = send(t, h, "POST", "/v1/track", buf.Bytes()[:buf.Len()-6], false, append(basic(testWriteKey), "Content-Encoding", "gzip")...)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, m["message"], "not valid gzip")

	rec, m = send(t, h, "POST", "/v1/track", []byte("<html>hi</html>"), false, append(basic(testWriteKey), "Content-Type", "text/html")...)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, m["message"], "the body must be JSON, whatever the Content-Type; this request declared Content-Type text/html")

	rec, _ = send(t, h, "POST", "/v1/track", []byte(`{}`), false, append(basic(testWriteKey), "Content-Encoding", "br")...)
	assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
	assert.Empty(t, pub.published())
}

// Error bodies carry "code" and "message": the Segment and RudderStack
// Python SDKs read them, and rudder-sdk-python retries a 4xx whose body lacks
// them as if the network had failed.
func TestSegmentErrorBodiesForPythonSDKs(t *testing.T) {
	api, _ := newTestAPI(t, sdkTestConfig(), &fakePublisher{})
	h := api.Handler()
	for name, c := range map[string]struct {
		body string
		key  string
		code int
	}{
		"invalid":      {`{"batch":[{"type":"track","userId":"u"}]}`, testWriteKey, 400},
		"unauthorized": {`{"batch":[]}`, "nope", 401},
		"forbidden":    {`{"batch":[{"type":"track","event":"x","userId":"u","context":{"groupId":"other"}}]}`, testBoundKey, 403},
		"too large":    {`{"batch":[` + repeat(`{"type":"track","event":"x","userId":"u","context":{"groupId":"t"}}`, 6) + `]}`, testWriteKey, 413},
	} {
		rec, m := send(t, h, "POST", "/v1/batch", []byte(c.body), true, basic(c.key)...)
		require.Equal(t, c.code, rec.Code, name)
		assert.NotEmpty(t, m["code"], name)
		assert.NotEmpty(t, m["message"], name)
	}
}

// analytics.js (analytics-next) posts to one-letter paths with the write key
// in the body; RudderStack's beacons post to /beacon/v1/batch with the key in
// the query, since navigator.sendBeacon cannot set headers.
func TestSegmentShortPathsAndBeacons(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	for short, typ := range map[string]string{"t": "track", "p": "page", "s": "screen", "i": "identify", "g": "group", "a": "alias"} {
		body := `{"type":"` + typ + `","event":"e","name":"n","userId":"u-` + short + `","previousId":"p","groupId":"g","writeKey":"` + testWriteKey + `","context":{"groupId":"t1"}}`
		rec, _ := send(t, h, "POST", "/v1/"+short, []byte(body), false, "Content-Type", "text/plain")
		require.Equal(t, http.StatusOK, rec.Code, "/v1/%s: %s", short, rec.Body)
	}
	rec, _ := send(t, h, "POST", "/v1/b", []byte(`{"writeKey":"`+testWriteKey+`","batch":[{"type":"track","event":"e","userId":"u-b","context":{"groupId":"t1"}}]}`), false)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	rec, _ = send(t, h, "POST", "/beacon/v1/batch?writeKey="+testBrowserKey,
		[]byte(`{"batch":[{"type":"page","anonymousId":"a-beacon","properties":{"name":"Home"}}],"sentAt":"2025-01-01T00:00:00Z"}`), false,
		"Content-Type", "text/plain;charset=UTF-8", "Origin", testSiteOrigin)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	rec, _ = send(t, h, "POST", "/beacon/v1/batch?writeKey=unknown", []byte(`{"batch":[{"type":"page","anonymousId":"a"}]}`), false)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)

	got := pub.published()
	require.Len(t, got, 8)
	byUser := map[string]string{}
	for _, ev := range got {
		byUser[ev.Subject()] = ev.EventType
	}
	assert.Equal(t, map[string]string{"u-t": "e", "u-p": "page_viewed", "u-s": "screen_viewed", "u-i": "identify", "u-g": "group",
		"u-a": "alias", "u-b": "e", "a-beacon": "page_viewed"}, byUser)
	beacon := got[7]
	assert.Equal(t, "acme", beacon.TenantID, "a browser key's tenant")
	assert.Equal(t, "DE", beacon.Jurisdiction, "a browser key's jurisdiction")
}

// CORS: a preflight from an origin some browser key lists is answered with
// what the SDKs ask for; from any other origin it is refused. A request from
// a page may only use a browser key that lists the page's origin: otherwise
// 403 and nothing is ingested, with Access-Control-Allow-Origin when the
// origin is configured at all so that the SDK reads a 4xx (which it drops)
// rather than a network error (which it retries).
func TestCORS(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	h := api.Handler()
	preflight := func(path, origin, headers string) *httptest.ResponseRecorder {
		rec, _ := send(t, h, "OPTIONS", path, nil, false, "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", headers)
		return rec
	}
	for _, path := range []string{"/v1/t", "/v1/track", "/v1/batch", "/beacon/v1/batch", "/2/httpapi", "/batch", "/track", "/engage"} {
		rec := preflight(path, testSiteOrigin, "anonymousid,authorization,content-type,sentat")
		require.Equal(t, http.StatusNoContent, rec.Code, path)
		assert.Equal(t, testSiteOrigin, rec.Header().Get("Access-Control-Allow-Origin"), path)
		assert.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST", path)
		assert.Equal(t, "anonymousid,authorization,content-type,sentat", rec.Header().Get("Access-Control-Allow-Headers"), path)
		assert.NotEmpty(t, rec.Header().Get("Access-Control-Max-Age"), path)
		assert.Contains(t, rec.Header().Values("Vary"), "Origin", path)
	}
	rec := preflight("/v1/track", "https://evil.example", "authorization")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	rec = preflight("/v1/track", testSiteOrigin, "authorization\r\nx-evil: 1")
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Headers"), "only a plain list of names is echoed")
	rec = preflight("/v1/events", testSiteOrigin, "authorization")
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "the native API is for servers")

	track := `{"event":"clicked","anonymousId":"c1","context":{"groupId":"acme"}}`
	// The page's own browser key: accepted, readable by the page.
	rec, _ = send(t, h, "POST", "/v1/track", []byte(track), false, append(basic(testBrowserKey), "Origin", testSiteOrigin, "Content-Type", "text/plain")...)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	assert.Equal(t, testSiteOrigin, rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Retry-After", rec.Header().Get("Access-Control-Expose-Headers"))
	// Another site's key from this page: refused, and the page can read why.
	rec, m := send(t, h, "POST", "/v1/track", []byte(track), false, append(basic("pub-key-other"), "Origin", testSiteOrigin, "Content-Type", "text/plain")...)
	require.Equal(t, http.StatusForbidden, rec.Code)
	assert.Equal(t, testSiteOrigin, rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Contains(t, m["message"], "is not among the origins of write key other-web")
	// A server key in a web page: refused.
	rec, m = send(t, h, "POST", "/v1/track", []byte(track), false, append(basic(testWriteKey), "Origin", testSiteOrigin, "Content-Type", "text/plain")...)
	require.Equal(t, http.StatusForbidden, rec.Code)
	assert.Contains(t, m["message"], "write key web is not a browser key")
	// An origin no key lists: refused, and no CORS headers (the browser sees a network error).
	rec, _ = send(t, h, "POST", "/v1/track", []byte(track), false, append(basic(testBrowserKey), "Origin", "https://evil.example")...)
	require.Equal(t, http.StatusForbidden, rec.Code)
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	// A browser key from a server (no Origin, e.g. a mobile app): fine.
	rec, _ = send(t, h, "POST", "/v1/track", []byte(track), false, basic(testBrowserKey)...)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)

	got := pub.published()
	require.Len(t, got, 2, "refused requests ingest nothing")
	for _, ev := range got {
		assert.Equal(t, "acme", ev.TenantID)
		assert.Equal(t, "DE", ev.Jurisdiction)
	}
}

// RudderStack's messages: identify's traits only in context.traits, the
// client clock in originalTimestamp.
func TestRudderStackMessageShapes(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, sdkTestConfig(), pub)
	body := `{"batch":[{"type":"identify","userId":"u1","anonymousId":"a1","originalTimestamp":"2025-03-01T10:00:00.5Z",
	  "context":{"traits":{"name":"R User","email":"r@example.com","plan":"team"},"groupId":"t1"}}]}`
	rec, _ := send(t, api.Handler(), "POST", "/v1/batch", []byte(body), true, append(basic(testWriteKey), "Content-Type", formType)...)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	ev := pub.published()[0]
	assert.Equal(t, map[string]string{"name": "R User", "email": "r@example.com", "plan": "team"}, ev.Properties)
	assert.Equal(t, "r@example.com", ev.ActorEmail)
	assert.Equal(t, time.Date(2025, 3, 1, 10, 0, 0, 500e6, time.UTC), ev.OccurredAt)
}
