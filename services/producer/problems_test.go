package producer

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/refusals"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A refused request's answer is bounded whatever the body: a 1 MiB body of
// repeated names (or of invalid fields, or with one enormous name) once got an
// answer twice its size listing every problem. Every surface lists the first
// refusals.MaxListed problems, each path and message cut to refusals.MaxText
// bytes, and says how many more there were.
func TestRefusalAnswersAreBounded(t *testing.T) {
	cfg := sdkTestConfig()
	cfg.MaxBodyBytes = 1 << 20
	pub := &fakePublisher{}
	api, _ := newTestAPI(t, cfg, pub)
	h := api.Handler()

	// members returns n members "k<i>":1,"k<i>":2 (each name repeated).
	repeats := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":1,"k%d":2`, i, i)
		}
		return b.String()
	}
	const n = 40_000 // ~0.9 MiB of repeats
	huge := strings.Repeat("x", 480_000)
	const limit = 16 << 10
	for _, c := range []struct {
		name, method, path, ctype, body string
		hdr                             []string
	}{
		{"events repeats", "POST", "/v1/events", "application/json",
			`{"event_type":"x","tenant_id":"t","user_id":"u","properties":{` + repeats(n) + `}}`, []string{"Authorization", "Bearer " + testToken}},
		{"events one huge name", "POST", "/v1/events", "application/json",
			`{"event_type":"x","tenant_id":"t","user_id":"u","properties":{"` + huge + `":1,"` + huge[1:] + `x":2}}`, []string{"Authorization", "Bearer " + testToken}},
		{"events unknown fields", "POST", "/v1/events", "application/json",
			`{"event_type":"x","tenant_id":"t","user_id":"u",` + strings.ReplaceAll(repeats(n), `":2`, `b":2`) + `}`, []string{"Authorization", "Bearer " + testToken}},
		{"segment repeats", "POST", "/v1/track", "application/json",
			`{"event":"e","userId":"u","context":{"groupId":"t"},"properties":{` + repeats(n) + `}}`, basic(testWriteKey)},
		{"amplitude repeats", "POST", "/2/httpapi", "application/json",
			`{"api_key":"amp-key-1","events":[{"event_type":"x","user_id":"a",` + repeats(n) + `}]}`, nil},
		{"amplitude huge name", "POST", "/2/httpapi", "application/json",
			`{"api_key":"amp-key-1","events":[{"event_type":"x","user_id":"a","` + huge + `":1,"` + huge + `":2}]}`, nil},
		{"mixpanel import repeats", "POST", "/import", "application/json",
			`[{"event":"e","properties":{"token":"mp-token-1","tenant_id":"t","distinct_id":"a",` + repeats(n) + `}}]`, nil},
		{"mixpanel form repeats", "POST", "/track", formType,
			url.Values{"data": {`[{"event":"e","properties":{"token":"mp-token-1","tenant_id":"t","distinct_id":"a",` + repeats(n/2) + `}}]`}}.Encode(), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Less(t, len(c.body), 1<<20)
			rec, m := send(t, h, c.method, c.path, []byte(c.body), false, append([]string{"Content-Type", c.ctype}, c.hdr...)...)
			require.Equal(t, http.StatusBadRequest, rec.Code, "%.300v", m)
			t.Logf("%d-byte body: %d-byte answer", len(c.body), rec.Body.Len())
			assert.Less(t, rec.Body.Len(), limit, "answer to a %d-byte body: %.300s", len(c.body), rec.Body)
			if fr, ok := m["failed_records"].([]any); ok {
				assert.Len(t, fr, refusals.MaxListed)
			}
			msg, _ := m["message"].(string)
			if msg == "" {
				msg, _ = m["error"].(string)
			}
			if strings.Contains(c.name, "huge") { // one problem, cut
				assert.Regexp(t, `^[a-z_\[\]0-9]+\["x{100,}…x{100,}"\]: duplicate member$`, msg)
				assert.Less(t, len(msg), 2*refusals.MaxText)
				return
			}
			assert.Regexp(t, `; and \d{4,} more$`, msg, "the message says what it left out")
			if ps, ok := m["problems"].([]any); ok {
				assert.Len(t, ps, refusals.MaxListed)
				assert.Greater(t, m["more_problems"], float64(1000), "how many were left out")
			}
		})
	}
	assert.Empty(t, pub.published())
}
