package ops

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func serveTest(t *testing.T, h http.Handler, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveWith(ctx, ln, h, to, zap.NewNop()) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes conn within d (reads until
// EOF or an error other than our own deadline).
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// Slow clients cannot hold a listener: an idle keep-alive, a body that never
// finishes and headers that never finish are all cut off; oversized headers
// get 431.
func TestListenerTimeouts(t *testing.T) {
	to := Timeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: 300 * time.Millisecond, Idle: 300 * time.Millisecond, MaxHeaderBytes: 4 << 10}
	addr := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("ok"))
	}), to)

	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		resp.Body.Close()
		start := time.Now()
		assert.True(t, closedWithin(conn, 3*time.Second), "idle connection closed")
		assert.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("body that never finishes", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a little"))
		require.NoError(t, err)
		assert.True(t, closedWithin(conn, 3*time.Second))
	})
	t.Run("headers that never finish", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "))
		require.NoError(t, err)
		assert.True(t, closedWithin(conn, 3*time.Second))
	})
	t.Run("header limit", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	})
}

// A response that keeps flowing outlives Timeouts.Write; one that stalls
// does not.
func TestWriteDeadlineMovesWithProgress(t *testing.T) {
	to := Timeouts{ReadHeader: time.Second, Read: time.Second, Write: 600 * time.Millisecond, Idle: time.Second}
	addr := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		steps := 12
		if r.URL.Path == "/stall" {
			steps = 1
		}
		for i := 0; i < steps; i++ {
			_, _ = w.Write([]byte(strings.Repeat("x", 1024)))
			w.(http.Flusher).Flush()
			// 12 × 100 ms = 1.2 s, twice Write; each step leaves 6× margin for a
			// loaded machine's late wake-up (150 ms of 300 ms flaked under load 30).
			time.Sleep(100 * time.Millisecond)
		}
		if r.URL.Path == "/stall" {
			time.Sleep(1500 * time.Millisecond)
			_, _ = w.Write([]byte("late"))
		}
	}), to)
	resp, err := http.Get("http://" + addr + "/flow")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Len(t, b, 12*1024, "a flowing download completes")

	resp, err = http.Get("http://" + addr + "/stall")
	require.NoError(t, err)
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.True(t, err != nil || !strings.HasSuffix(string(b), "late"), "a stalled response is cut off")
}
