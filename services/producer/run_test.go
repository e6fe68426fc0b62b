package producer

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunServesAndShutsDownGracefully(t *testing.T) {
	s := newStack(t)
	cfg := s.config()
	cfg.HTTPAddr, cfg.OpsAddr = freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, zaptest.NewLogger(t), prometheus.NewRegistry()) }()

	base := "http://" + cfg.HTTPAddr
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + cfg.OpsAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)

	code, body, _ := postJSON(t, http.DefaultClient, base+"/v1/events", batchBody("run", 3))
	require.Equal(t, http.StatusAccepted, code, "%v", body)

	resp, err := http.Get("http://" + cfg.OpsAddr + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	_, err = http.Get(base + "/v1/events")
	assert.Error(t, err, "listener closed")
	recs := s.consume(t, 3, 10*time.Second)
	for _, id := range body["event_ids"].([]any) {
		assert.Contains(t, recs, id.(string))
	}
}

func TestRunFinishesInFlightRequestsOnShutdown(t *testing.T) {
	s := newStack(t)
	cfg := s.config()
	cfg.HTTPAddr, cfg.OpsAddr = freeAddr(t), ""
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, zaptest.NewLogger(t), prometheus.NewRegistry()) }()
	base := "http://" + cfg.HTTPAddr
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest("POST", base+"/v1/events", strings.NewReader(batchBody("warm", 1)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusAccepted
	}, 10*time.Second, 50*time.Millisecond)

	s.delay.Store(int64(400 * time.Millisecond))
	type result struct {
		code int
		body map[string]any
	}
	inflight := make(chan result, 1)
	go func() {
		code, body, _ := postJSON(t, http.DefaultClient, base+"/v1/events", batchBody("inflight", 2))
		inflight <- result{code, body}
	}()
	time.Sleep(150 * time.Millisecond) // the request is waiting for its ack
	cancel()
	r := <-inflight
	require.Equal(t, http.StatusAccepted, r.code, "in-flight request completes during shutdown: %v", r.body)
	require.NoError(t, <-done)
	s.delay.Store(0)
	recs := s.consume(t, 3, 10*time.Second)
	for _, id := range r.body["event_ids"].([]any) {
		assert.Contains(t, recs, id.(string))
	}
}
