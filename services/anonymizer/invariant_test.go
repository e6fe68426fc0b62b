package anonymizer

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/avro/avrotest"
	"github.com/consentflow/consentflow/services/anonymizer/internal/eventgen"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/consentflow/consentflow/services/anonymizer/internal/pipeline"
	"github.com/consentflow/consentflow/services/anonymizer/internal/transform"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// TestNoSeededPIIInCuratedOutput runs generated events full of personal data
// through the events stage with the real redactor and searches the encoded Avro
// records, the Kafka keys and the headers of every output, byte by byte, for each
// seeded value and raw identifier.
func TestNoSeededPIIInCuratedOutput(t *testing.T) {
	for _, seed := range []uint64{7, 8, 9} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { noSeededPII(t, seed) })
	}
}

func noSeededPII(t *testing.T, seed uint64) {
	ctx := context.Background()
	serde := avrotest.Serde(t)
	raw, err := avro.InteractionEvents(ctx, serde, "events.consented")
	require.NoError(t, err)
	curated, err := avro.CuratedEvents(ctx, serde, "events.curated")
	require.NoError(t, err)
	kr, err := keyring.Ephemeral()
	require.NoError(t, err)
	tr, err := transform.New(transform.Options{Purpose: "ai_training", Keyring: kr, Redactor: newTextRedactor(),
		Allowlist: eventgen.Allowlist, Granularity: time.Hour})
	require.NoError(t, err)
	h := &pipeline.Events{Purpose: "ai_training", Decoder: raw, Encoder: curated, Transformer: tr,
		CuratedTopic: "events.curated", Metrics: pipeline.NewMetrics(nil)}

	gen := eventgen.New(seed)
	start := time.Date(2024, 5, 17, 8, 0, 0, 0, time.UTC)
	const n = 500
	var batch []kafka.Message
	var seeds [][]string
	for i := range n {
		g := gen.Event(start.Add(time.Duration(i) * 7 * time.Second))
		b, err := raw.Encode(&g.Event)
		require.NoError(t, err)
		batch = append(batch, kafka.Message{Topic: "events.consented", Offset: int64(i), Key: []byte(g.Event.Subject()), Value: b,
			Headers: []kafka.Header{{Key: "consent-version", Value: []byte("0:1")}, {Key: "policy-version", Value: []byte("p1")}, {Key: "purpose", Value: []byte("ai_training")}}})
		seeds = append(seeds, g.Seeds)
	}
	out, err := h.Handle(ctx, batch)
	require.NoError(t, err)
	require.Len(t, out, n)

	var all bytes.Buffer
	leaks := 0
	for i, m := range out {
		require.Equal(t, "events.curated", m.Topic)
		var rec bytes.Buffer
		rec.Write(m.Key)
		rec.Write(m.Value)
		for _, h := range m.Headers {
			rec.WriteString(h.Key)
			rec.Write(h.Value)
		}
		for _, s := range seeds[i] {
			if contains(rec.Bytes(), s) {
				leaks++
				if leaks <= 20 {
					c, _ := curated.Decode(ctx, m.Value)
					t.Errorf("event %d: seeded value %q in output; text %q properties %v", i, s, c.Text, c.Properties)
				}
			}
		}
		all.Write(rec.Bytes())
	}
	require.Zero(t, leaks, "seeded values found in the curated output")
	// Sanity: the search is over real output, and the output says what was redacted.
	require.Greater(t, all.Len(), n*100)
	require.True(t, strings.Contains(all.String(), "<EMAIL_ADDRESS>"))
}

var word = regexp.MustCompile(`^[A-Za-z]+$`)

// contains reports whether the seeded value s occurs in b; a purely alphabetic
// value (a name part) must occur as a whole word, so that "William" is not found
// in "Williams".
func contains(b []byte, s string) bool {
	if !word.MatchString(s) {
		return bytes.Contains(b, []byte(s))
	}
	return regexp.MustCompile(`\b` + s + `\b`).Match(b)
}
