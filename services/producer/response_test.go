package producer

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

// TestAcceptedAnswerIsEncodingJSONs holds the hand-written 202 answer to what
// encoding/json writes for the same map (writeJSON, as before): canonical ids,
// and strings an id never is but the encoder must quote all the same.
func TestAcceptedAnswerIsEncodingJSONs(t *testing.T) {
	ids := []string{uuid.NewString(), uuid.NewString(), "", "A-Z", `quote " and \ back`, "<html>&amp;", "tab\tnul\x00", "é ü 日本", "\u2028", "bad \xff utf-8"}
	for _, at := range []time.Time{
		time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC),
		time.Date(2026, 12, 1, 7, 30, 1, 123_000_000, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 100_000_000, time.FixedZone("x", 3600)),
	} {
		for n := 1; n <= len(ids); n++ {
			evs := make([]schema.InteractionEvent, n)
			list := make([]string, n)
			for i := range evs {
				evs[i].EventID, evs[i].ReceivedAt = ids[i], at
				list[i] = ids[i]
			}
			var want bytes.Buffer
			_ = json.NewEncoder(&want).Encode(map[string]any{"accepted": n, "event_ids": list, "received_at": at.Format(time.RFC3339Nano)})
			assert.Equal(t, want.String(), string(appendAccepted(nil, evs)), "%d ids at %v", n, at)
		}
	}
}
