package producer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSegmentSDK sends events through the real segment-analytics-python SDK
// (testdata/segment_sdk_send.py) to the producer over kfake and finds every
// messageId in events.raw. It runs only when SEGMENT_SDK_PYTHON names a python
// with the SDK installed:
//
//	python3 -m venv /tmp/seg && /tmp/seg/bin/pip install segment-analytics-python
//	SEGMENT_SDK_PYTHON=/tmp/seg/bin/python go test ./services/producer -run SegmentSDK
func TestSegmentSDK(t *testing.T) {
	py := os.Getenv("SEGMENT_SDK_PYTHON")
	if py == "" {
		t.Skip("SEGMENT_SDK_PYTHON not set (a python with segment-analytics-python installed)")
	}
	s := newEnvStack(t) // real Kafka in the live suite
	srv := s.server(t, s.config())

	var want []string
	for _, gzip := range []bool{false, true} {
		args := []string{"testdata/segment_sdk_send.py", "--host", srv.URL, "--write-key", testWriteKey,
			"--events", "30", "--tenant", "t-sdk"}
		if gzip {
			args = append(args, "--gzip", "--user-prefix", "sdk-gz")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, py, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		require.NoError(t, err, "sdk script: %s", stderr.String())
		ids := strings.Fields(stdout.String())
		require.Len(t, ids, 30)
		want = append(want, ids...)
	}
	recs := s.consume(t, len(want), 15*time.Second)
	for _, id := range want {
		r, ok := recs[id]
		require.True(t, ok, "messageId %s is in events.raw", id)
		assert.Equal(t, "segment", r.event.Source)
		assert.Equal(t, "t-sdk", r.event.TenantID)
		assert.Equal(t, "sdk_event", r.event.EventType)
		assert.Equal(t, r.event.UserID, r.key)
		assert.Contains(t, r.event.Text, "sent by the segment sdk")
		assert.Contains(t, r.event.ClientConsent, "ai_training")
	}
}
