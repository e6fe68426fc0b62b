package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAndCheck(t *testing.T) {
	h := sha256.Sum256([]byte("ingest-secret-1"))
	toks, err := ParseTokens("ingest:sha256:" + hex.EncodeToString(h[:]) + "=events:write, admin:plain:admin-secret=consent:read|consent:write")
	require.NoError(t, err)
	require.Equal(t, 2, toks.Len())

	name, ok, allowed := toks.Check("ingest-secret-1", "events:write")
	require.True(t, ok)
	require.True(t, allowed)
	require.Equal(t, "ingest", name)

	_, ok, allowed = toks.Check("ingest-secret-1", "consent:write")
	require.True(t, ok)
	require.False(t, allowed)

	_, ok, _ = toks.Check("wrong", "events:write")
	require.False(t, ok)
}

func TestParseRejects(t *testing.T) {
	for _, spec := range []string{"x", "n:sha256:abcd=s", "n:md5:abc=s", "n:plain:short=s", "n:plain:longenough=", ":plain:longenough=s"} {
		_, err := ParseTokens(spec)
		require.Error(t, err, spec)
	}
}

func TestRequire(t *testing.T) {
	toks, err := ParseTokens("a:plain:reader-token=consent:read")
	require.NoError(t, err)
	h := toks.Require("consent:read", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	hw := toks.Require("consent:write", h)
	cases := []struct {
		handler http.Handler
		auth    string
		want    int
	}{
		{h, "", 401},
		{h, "Basic abc", 401},
		{h, "Bearer nope-nope", 401},
		{h, "Bearer reader-token", 204},
		{h, "bearer reader-token", 204},
		{hw, "Bearer reader-token", 403},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		c.handler.ServeHTTP(rec, req)
		require.Equal(t, c.want, rec.Code, c.auth)
		if c.want == 401 {
			require.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
		}
	}
}
