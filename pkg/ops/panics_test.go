package ops

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A handler that panics gets its client a 500 with a JSON error (not a
// dropped connection), a log entry with the stack that names no data of the
// request, and the server goes on serving; a panic after the response began
// cuts that response off; http.ErrAbortHandler passes through unlogged.
func TestHandlerPanicsAreAnsweredAndLoggedWithoutTheirValue(t *testing.T) {
	const secret = "alice.secret@example.com"
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("bad event from " + secret) })
	mux.HandleFunc("/index", func(w http.ResponseWriter, r *http.Request) {
		var xs []int
		_, _ = w, xs[len(r.URL.Path)] // index out of range
	})
	mux.HandleFunc("/late", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"partial":`))
		w.(http.Flusher).Flush()
		panic(secret)
	})
	mux.HandleFunc("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("fine")) })

	core, logs := observer.New(zapcore.DebugLevel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveWith(ctx, ln, mux, DefaultTimeouts, zap.New(core)) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + ln.Addr().String()

	get := func(path string) (*http.Response, []byte, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	panicked := func(path string) []observer.LoggedEntry {
		return logs.FilterMessageSnippet("handler panicked").FilterField(zap.String("path", path)).All()
	}

	resp, body, err := get("/boom")
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	var e struct{ Error, Code string }
	require.NoError(t, json.Unmarshal(body, &e), "body %q", body)
	assert.Equal(t, "internal", e.Error)
	entries := panicked("/boom")
	require.Len(t, entries, 1)
	fields := entries[0].ContextMap()
	assert.Equal(t, "string", fields["panic"])
	assert.Contains(t, fields["stack"], "panics_test.go")
	for k, v := range fields {
		if s, ok := v.(string); ok {
			assert.NotContains(t, s, secret, "log field %s", k)
		}
	}
	assert.NotContains(t, entries[0].Message, secret)

	resp, body, err = get("/ok")
	require.NoError(t, err, "the server goes on serving after a panic")
	assert.Equal(t, "fine", string(body))
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, _, err = get("/index")
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	if entries := panicked("/index"); assert.Len(t, entries, 1) {
		assert.Contains(t, entries[0].ContextMap()["panic"], "index out of range", "a runtime error's message is logged")
	}

	resp, body, err = get("/late")
	if err == nil {
		t.Fatalf("a panic after the response began: got a whole response %d %q, want it cut off", resp.StatusCode, body)
	}
	if entries := panicked("/late"); assert.Len(t, entries, 1) {
		assert.Equal(t, true, entries[0].ContextMap()["response_begun"])
		assert.NotContains(t, entries[0].ContextMap()["panic"], secret)
	}

	_, _, err = get("/abort")
	assert.Error(t, err, "http.ErrAbortHandler aborts the response")
	assert.Empty(t, panicked("/abort"), "an abort is not a failure to log")

	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok && strings.Contains(s, secret) {
				t.Errorf("log %q field %s holds the panic's value", e.Message, k)
			}
		}
	}
}
