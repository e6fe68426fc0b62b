package producer

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validEvent = `{"event_type":"comment_added","tenant_id":"t1","user_id":"u1","text":"hi"}`

var bearerOK = []string{"Authorization", "Bearer " + testToken}

func TestEventsAcceptedAfterPublishAndStamped(t *testing.T) {
	pub := &fakePublisher{}
	api, reg := newTestAPI(t, testConfig(), pub)
	fixed := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	api.now = func() time.Time { return fixed }
	clientID := "6F1C2A1E-9B7D-4E0A-8C3B-2D5E6F708192"
	body := `{"events":[` + validEvent + `,{"event_id":"` + clientID + `","event_type":"page_viewed","tenant_id":"t1","anonymous_id":"a1","jurisdiction":"US-CA","occurred_at":"2025-03-01T11:59:00Z","properties":{"page":"p1","n":3}}]}`

	r := do(t, api.Handler(), "POST", "/v1/events", body, append(bearerOK, "Sec-GPC", "1")...)
	require.Equal(t, http.StatusAccepted, r.code, "%v", r.body)
	require.EqualValues(t, 2, r.body["accepted"])
	ids := r.body["event_ids"].([]any)
	require.Len(t, ids, 2)
	assert.Equal(t, strings.ToLower(clientID), ids[1], "client id kept, canonical")
	assert.Equal(t, "2025-03-01T12:00:00.123Z", r.body["received_at"], "the stamped received_at, ms")

	got := pub.published()
	require.Len(t, got, 2)
	_, err := uuid.Parse(got[0].EventID)
	require.NoError(t, err, "server stamps an id")
	assert.Equal(t, ids[0], got[0].EventID)
	for _, ev := range got {
		assert.Equal(t, fixed.Truncate(time.Millisecond), ev.ReceivedAt, "server clock, ms")
		assert.True(t, ev.GPC, "Sec-GPC: 1 recorded")
		assert.Equal(t, "api", ev.Source)
	}
	assert.Equal(t, "US-CA", got[1].Jurisdiction)
	assert.Equal(t, time.Date(2025, 3, 1, 11, 59, 0, 0, time.UTC), got[1].OccurredAt, "client clock kept as data")
	assert.Equal(t, map[string]string{"page": "p1", "n": "3"}, got[1].Properties)
	assert.Equal(t, 2.0, testutil.ToFloat64(api.m.eventsAccepted.WithLabelValues("api")))
	assert.Equal(t, 1.0, testutil.ToFloat64(api.m.requests.WithLabelValues("/v1/events", "202")))
	n, err := testutil.GatherAndCount(reg, "consentflow_producer_publish_duration_seconds")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestEventsSingleObjectWithoutGPC(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	r := do(t, api.Handler(), "POST", "/v1/events", validEvent, bearerOK...)
	require.Equal(t, http.StatusAccepted, r.code)
	require.Len(t, pub.published(), 1)
	assert.False(t, pub.published()[0].GPC)
}

func TestEvents400ListsEveryProblemAndPublishesNothing(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	body := `{"events":[` + validEvent + `,
		{"event_id":"nope","tenant_id":"t1","user_id":"u1","event_type":"x","ip":"999.1.1.1"},
		{"event_type":"x","userId":"u1","received_at":"2025-01-01T00:00:00Z"},
		{"event_type":"x","tenant_id":"t","user_id":"u","jurisdiction":"Germany","occurred_at":"yesterday","properties":{"a":{"b":1}}},
		"string"]}`
	r := do(t, api.Handler(), "POST", "/v1/events", body, bearerOK...)
	require.Equal(t, http.StatusBadRequest, r.code)
	assert.Equal(t, []string{
		"events[1].event_id: must be a UUID",
		"events[1].ip: must be an IPv4 or IPv6 address",
		"events[2].received_at: set by the server; send occurred_at for the client's clock",
		"events[2].userId: unknown field",
		"events[2].tenant_id: required",
		"events[2].user_id: required (or anonymous_id for anonymous traffic)",
		"events[3].jurisdiction: must be an ISO 3166 code such as DE or US-CA",
		"events[3].occurred_at: must be an RFC 3339 time such as 2024-05-01T12:00:00Z",
		"events[3].properties.a: must be a string, number or boolean",
		"events[4]: must be an object",
	}, problemStrings(t, r))
	assert.Empty(t, pub.published(), "all or nothing")
}

func TestEvents400Shapes(t *testing.T) {
	api, _ := newTestAPI(t, testConfig(), &fakePublisher{})
	for body, want := range map[string]string{
		`{`:                          "body: invalid JSON",
		`[]`:                         "body: must be an object",
		`{"events":[]}`:              "events: must hold at least one event",
		`{"events":{}}`:              "events: must be an array of event objects",
		`{"events":[{}],"x":1}`:      "x: unknown field",
		validEvent + ` {}`:           "body: trailing data",
		`{"event_type":"a"}`:         "tenant_id: required",
		`{"events":[{"user_id":1}]}`: "events[0].user_id: must be a string",
	} {
		r := do(t, api.Handler(), "POST", "/v1/events", body, bearerOK...)
		require.Equal(t, http.StatusBadRequest, r.code, body)
		assert.Contains(t, strings.Join(problemStrings(t, r), "\n"), want, body)
	}
}

func TestEvents413(t *testing.T) {
	api, _ := newTestAPI(t, testConfig(), &fakePublisher{})
	six := `{"events":[` + strings.Repeat(validEvent+",", 5) + validEvent + `]}`
	r := do(t, api.Handler(), "POST", "/v1/events", six, bearerOK...)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.code, "over MAX_EVENTS_PER_REQUEST")
	assert.Equal(t, "too_many_events", r.body["error"])

	big := `{"event_type":"x","tenant_id":"t","user_id":"u","text":"` + strings.Repeat("a", 5000) + `"}`
	r = do(t, api.Handler(), "POST", "/v1/events", big, bearerOK...)
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.code, "over MAX_BODY_BYTES")

	// The limit applies after gzip decoding: a small compressed bomb is refused.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(big))
	zw.Close()
	req := httptest.NewRequest("POST", "/v1/events", &buf)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	api.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
}

func TestEventsGzipAccepted(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(validEvent))
	zw.Close()
	req := httptest.NewRequest("POST", "/v1/events", &buf)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	api.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Len(t, pub.published(), 1)
}

func TestEvents415(t *testing.T) {
	api, _ := newTestAPI(t, testConfig(), &fakePublisher{})
	for _, hdr := range [][]string{
		{"Content-Type", "text/plain"},
		{"Content-Type", ""},
		{"Content-Type", "application/x-www-form-urlencoded"},
		{"Content-Encoding", "br"},
	} {
		r := do(t, api.Handler(), "POST", "/v1/events", validEvent, append(bearerOK, hdr...)...)
		assert.Equal(t, http.StatusUnsupportedMediaType, r.code, "%v", hdr)
	}
}

func TestEvents401And403(t *testing.T) {
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, testConfig(), pub)
	for name, auth := range map[string]string{
		"missing":      "",
		"unknown":      "Bearer nope",
		"basic scheme": "Basic " + testToken,
		"empty bearer": "Bearer ",
	} {
		r := do(t, api.Handler(), "POST", "/v1/events", validEvent, "Authorization", auth)
		assert.Equal(t, http.StatusUnauthorized, r.code, name)
		assert.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer", name)
	}
	r := do(t, api.Handler(), "POST", "/v1/events", validEvent, "Authorization", "Bearer "+testReadToken)
	assert.Equal(t, http.StatusForbidden, r.code, "token without events:write")
	// Auth is checked before the body: no hint about validity to strangers.
	r = do(t, api.Handler(), "POST", "/v1/events", `{`, "Content-Type", "text/plain")
	assert.Equal(t, http.StatusUnauthorized, r.code)
	assert.Empty(t, pub.published())
}

func TestEvents405(t *testing.T) {
	api, reg := newTestAPI(t, testConfig(), &fakePublisher{})
	r := httptest.NewRecorder()
	api.Handler().ServeHTTP(r, httptest.NewRequest("GET", "/v1/events", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, r.Code)
	assert.Equal(t, 1.0, testutil.ToFloat64(api.m.requests.WithLabelValues("/v1/events", "405")))
	_ = reg
}

func TestEvents503WhenPublishFails(t *testing.T) {
	pub := &fakePublisher{err: fmt.Errorf("%w: brokers down", ErrUnavailable)}
	cfg := testConfig()
	cfg.RetryAfter = 1500 * time.Millisecond
	api, _ := newTestAPI(t, cfg, pub)
	r := do(t, api.Handler(), "POST", "/v1/events", validEvent, bearerOK...)
	require.Equal(t, http.StatusServiceUnavailable, r.code)
	assert.Equal(t, "2", r.header.Get("Retry-After"))
	assert.NotContains(t, r.body, "event_ids", "a 503 claims no record")
	assert.NotContains(t, r.body, "accepted")
	assert.Equal(t, 0.0, testutil.ToFloat64(api.m.eventsAccepted.WithLabelValues("api")))

	pub.err = errors.New("cannot encode")
	r = do(t, api.Handler(), "POST", "/v1/events", validEvent, bearerOK...)
	assert.Equal(t, http.StatusInternalServerError, r.code, "non-retryable failure")
}

func TestWriteKeysParsing(t *testing.T) {
	keys, err := ParseWriteKeys(" web:plain:k1 , acme:" + HashSecret("k2") + "=tenant-7")
	require.NoError(t, err)
	require.Equal(t, 2, keys.Len())
	assert.Equal(t, "", keys.Lookup("k1").Tenant)
	assert.Equal(t, "web", keys.Lookup("k1").Name)
	assert.Equal(t, "tenant-7", keys.Lookup("k2").Tenant)
	assert.Nil(t, keys.Lookup("k3"))
	assert.Nil(t, keys.Lookup(""))
	for _, bad := range []string{"plain:secretkey", "web:secretkey", "web:sha256:12", "web:plain:", "web:plain:k=", ":plain:k"} {
		_, err := ParseWriteKeys(bad)
		assert.Error(t, err, bad)
		if err != nil {
			assert.NotContains(t, err.Error(), "secretkey", "keys are not echoed")
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "127.0.0.1:8080", cfg.HTTPAddr)
	assert.Equal(t, 500, cfg.MaxEvents)
	assert.EqualValues(t, 1<<20, cfg.MaxBodyBytes)
	assert.Equal(t, 2*time.Millisecond, cfg.BatchTimeout)
	cfg.MaxEvents = 0
	cfg.Tokens = "junk"
	cfg.HTTPAddr = "nope"
	cfg.BatchTimeout = 0
	err := cfg.Validate()
	require.Error(t, err)
	for _, name := range []string{"MAX_EVENTS_PER_REQUEST", "PRODUCER_TOKENS", "PRODUCER_HTTP_ADDR", "PRODUCER_BATCH_TIMEOUT"} {
		assert.Contains(t, err.Error(), name)
	}
}
