package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

const (
	testToken     = "tok-write"
	testReadToken = "tok-read"
	testWriteKey  = "wk-plain"
	testBoundKey  = "wk-bound"
)

// fakePublisher records what it was given, or fails with err.
type fakePublisher struct {
	mu     sync.Mutex
	err    error
	events []schema.InteractionEvent
}

func (f *fakePublisher) Publish(_ context.Context, evs []schema.InteractionEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.events = append(f.events, evs...)
	return nil
}

func (f *fakePublisher) published() []schema.InteractionEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]schema.InteractionEvent(nil), f.events...)
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Tokens = "ingest:plain:" + testToken + "=events:write,reader:" + HashSecret(testReadToken) + "=events:read"
	cfg.WriteKeys = "web:plain:" + testWriteKey + ",acme:plain:" + testBoundKey + "=t-bound"
	cfg.MaxEvents = 5
	cfg.MaxBodyBytes = 4096
	return cfg
}

func newTestAPI(t testing.TB, cfg Config, pub Publisher) (*API, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	api, err := NewAPI(cfg, pub, zaptest.NewLogger(t), reg)
	require.NoError(t, err)
	return api, reg
}

type response struct {
	code   int
	header http.Header
	body   map[string]any
}

// do sends a request to h with a JSON content type and optional headers given as
// alternating name, value.
func do(t testing.TB, h http.Handler, method, path, body string, hdr ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	var m map[string]any
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &m), "body %q", b)
	}
	return response{code: rec.Code, header: rec.Header(), body: m}
}

func problemStrings(t testing.TB, r response) []string {
	t.Helper()
	raw, ok := r.body["problems"].([]any)
	require.True(t, ok, "problems in %v", r.body)
	out := make([]string, len(raw))
	for i, p := range raw {
		m := p.(map[string]any)
		out[i] = m["path"].(string) + ": " + m["message"].(string)
	}
	return out
}

// newHTTPServer serves api on a loopback httptest server and returns its URL.
func newHTTPServer(t testing.TB, api *API) string {
	t.Helper()
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
