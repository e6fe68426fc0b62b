package filter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
)

// TestPoisonRecordsAreReportedAndAnOutageHoldsTheBatch: records that do not
// decode or lack what a decision needs are reported one by one (the loop
// dead-letters them and delivers the rest); an unreachable registry pauses the
// whole batch instead.
func TestPoisonRecordsAreReportedAndAnOutageHoldsTheBatch(t *testing.T) {
	ctx := context.Background()
	reg := srfake.New()
	defer reg.Close()
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	raw, err := avro.InteractionEvents(ctx, avro.NewSerde(cl), "events.raw")
	require.NoError(t, err)
	noTenant := schema.InteractionEvent{EventID: "e1", EventType: "page_viewed", UserID: "u1", ReceivedAt: time.Now()}
	b, err := raw.Encode(&noTenant)
	require.NoError(t, err)

	f := &Filter{Raw: raw, Metrics: NewMetrics(nil)}
	_, err = f.Handle(ctx, []kafka.Message{{Value: []byte("{}")}, {Value: b}})
	var failed *stream.BatchError
	require.ErrorAs(t, err, &failed)
	require.Len(t, failed.Failures, 2)
	require.Equal(t, [2]any{0, "decode"}, [2]any{failed.Failures[0].Index, failed.Failures[0].Reason})
	require.Equal(t, [2]any{1, "invalid"}, [2]any{failed.Failures[1].Index, failed.Failures[1].Reason})
	require.EqualError(t, failed.Failures[1].Err, "tenant_id: required")
	_, transient := failed.Transient()
	require.False(t, transient, "poison, not an outage")

	// A schema id this Serde has not seen, with the registry gone.
	unknown := append([]byte{0, 0, 0, 0, 0x7f}, b[5:]...)
	reg.Close()
	_, err = f.Handle(ctx, []kafka.Message{{Value: b}, {Value: unknown}})
	require.ErrorIs(t, err, ErrPaused)
	require.False(t, stream.Permanent(err), "an outage is retried, never dead-lettered")
	require.False(t, errors.As(err, &failed))
}
