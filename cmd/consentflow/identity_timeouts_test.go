package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/ops"
)

// Bullet 7: slow clients cannot hold the consent API's connections: an idle
// keep-alive and a body that never finishes are cut off by the listener's
// timeouts (the dataset API and every ops listener share pkg/ops's server).
func TestIssue13SlowClientsAreCutOff(t *testing.T) {
	saved := ops.DefaultTimeouts
	ops.DefaultTimeouts = ops.Timeouts{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond,
		Write: time.Second, Idle: 500 * time.Millisecond, MaxHeaderBytes: 16 << 10}
	t.Cleanup(func() { ops.DefaultTimeouts = saved })
	c := startChain(t, chainOpts{})
	addr := strings.TrimPrefix(c.consentURL, "http://")

	closed := func(conn net.Conn) bool {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		ne, timeout := err.(net.Error)
		return !(timeout && ne.Timeout())
	}
	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	_, err = idle.Write([]byte("GET /v1/users/x/consents?tenant_id=t HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + consentToken + "\r\n\r\n"))
	require.NoError(t, err)
	assert.True(t, closed(idle), "an idle keep-alive is closed")

	slow, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer slow.Close()
	_, err = slow.Write([]byte("PUT /v1/tenants/t/users/u/consents/ai_training HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + consentToken +
		"\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"status\":"))
	require.NoError(t, err)
	start := time.Now()
	assert.True(t, closed(slow), "a body that never finishes is cut off")
	assert.Less(t, time.Since(start), 4*time.Second)
}
