package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadgenTrafficIsAccepted runs the load generator against the producer over
// kfake: everything it generates validates, and every accepted event is in the
// topic with its seeded text and Sec-GPC.
func TestLoadgenTrafficIsAccepted(t *testing.T) {
	s := newStack(t)
	srv := s.server(t, s.config())
	consent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer consent.Close()

	cfg := loadgen.DefaultConfig()
	cfg.Seed = 3
	for k := range cfg.PIIRates {
		cfg.PIIRates[k] = 0.3
	}
	cfg.GPCRate = 0.2
	gen, err := loadgen.NewGenerator(cfg)
	require.NoError(t, err)
	truth := &truthCollector{}
	stats, err := loadgen.Run(context.Background(), gen, loadgen.RunOptions{
		ProducerURL: srv.URL, ConsentURL: consent.URL, Token: testToken, Events: 1500, Workers: 4, Batch: 50, Truth: truth,
		LinkTimeout: time.Millisecond, // the stand-in consent API shows no links
	})
	require.NoError(t, err)
	t.Logf("loadgen → producer → kfake: %d events in %s, %.0f events/s", stats.EventsAccepted, stats.Elapsed, stats.EventsPerSecond())
	require.EqualValues(t, 1500, stats.EventsAccepted, "every generated event validates")

	recs := s.consume(t, 1500, 15*time.Second)
	require.Len(t, recs, 1500)
	require.Len(t, truth.events(), 1500)
	for _, e := range truth.events() {
		r, ok := recs[e.EventID]
		require.True(t, ok)
		assert.Equal(t, e.GPC, r.event.GPC)
		assert.Equal(t, e.Jurisdiction, r.event.Jurisdiction)
		for _, p := range e.PII {
			assert.Contains(t, r.event.Text, p.Value)
		}
	}
}

// truthCollector decodes the event lines of a ground-truth stream.
type truthCollector struct {
	buf []byte
	evs []loadgen.EventTruth
}

func (c *truthCollector) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *truthCollector) events() []loadgen.EventTruth {
	if c.evs != nil {
		return c.evs
	}
	for _, line := range bytes.Split(c.buf, []byte("\n")) {
		var e loadgen.EventTruth
		if len(line) == 0 || json.Unmarshal(line, &e) != nil || e.Kind != "event" {
			continue
		}
		c.evs = append(c.evs, e)
	}
	return c.evs
}
