package datasetsink

import (
	"context"
	"strconv"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/stream/streamtest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
)

// TestEventsOpenSealedRecordsAndDropShredded: the sink opens sealed records
// with the data keys in Redis and writes their rows; a record whose subject's
// key was shredded by an erasure is dropped as erased (counted, no row, no dead
// letter, committed); one whose sealed value was altered is dead-lettered.
func TestEventsOpenSealedRecordsAndDropShredded(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 100)
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	anonymizer, err := shred.NewStore(rdb, shred.Options{Purpose: "ai_training"})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := shred.NewStore(rdb, shred.Options{CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]schema.CuratedEvent{}
	var sealed []*schema.CuratedEvent
	for i, subject := range []string{"k1:erased", "k1:erased", "k1:kept", "k1:kept", "k1:kept"} {
		e := sinktest.Event(i, subject, clock.Now())
		sealed = append(sealed, &e)
	}
	if _, err := anonymizer.Seal(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	sealed[4].Sealed[len(sealed[4].Sealed)-1] ^= 1 // altered
	if err := anonymizer.Erase(ctx, schema.ScopeSubject, []string{"k1:erased"}, "0:9"); err != nil {
		t.Fatal(err)
	}
	var input []kafka.Message
	for i, e := range sealed {
		records[strconv.Itoa(i)] = *e
		input = append(input, kafka.Message{Topic: sinktest.Topic, Offset: int64(i), Value: []byte(strconv.Itoa(i))})
	}
	codec := decodeFunc[schema.CuratedEvent](func(b []byte) (schema.CuratedEvent, error) {
		e := records[string(b)]
		e.Sealed = append([]byte(nil), e.Sealed...)
		return e, nil
	})
	unreadable := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "u"}, []string{"outcome"})
	r := streamtest.NewReader(input...)
	acks := stream.NewAcks()
	ev := &events{codec: codec, writer: p.Writer, acks: acks, killed: func() bool { return false }, keys: reader, unreadable: unreadable, log: zap.NewNop()}
	dlq := &streamtest.Writer{}
	stop := runLoop(t, &stream.Loop{Name: StageEvents, Reader: r, Writer: dlq, Handler: ev.handle, DLQ: "events.dlq", Acks: acks, Drain: ev.drain})
	waitFor(t, "appended", func() bool { return p.Writer.Stats().RecordsConsumed == 5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := p.Writer.Stats(); st.RowsWritten != 2 {
		t.Fatalf("stats %+v: want the 2 readable rows only", st)
	}
	if n := testutil.ToFloat64(unreadable.WithLabelValues("erased")); n != 2 {
		t.Fatalf("erased records counted: %v, want 2", n)
	}
	if d := dlq.Written(); len(d) != 1 || string(d[0].Value) != "4" {
		t.Fatalf("dead letters %v: want the altered record only", d)
	}
	if r.Committed(0) != 5 {
		t.Fatalf("committed %d, want 5", r.Committed(0))
	}
	rows := sinktest.Rows(t, p.Lake, 0)
	if len(rows) != 2 {
		t.Fatalf("%d rows in the table, want 2", len(rows))
	}
	for _, row := range rows {
		if row.Subject != "k1:kept" || row.Text != "hello <EMAIL_ADDRESS>" || row.EventType != "issue_created" {
			t.Fatalf("row %+v: want k1:kept's opened content", row)
		}
	}

	// Without Redis the stage holds its batch: nothing appended, nothing committed.
	mr.Close()
	p2 := sinktest.NewParts(t, t.TempDir(), clock, 100)
	ev2 := &events{codec: codec, writer: p2.Writer, acks: stream.NewAcks(), killed: func() bool { return false }, keys: reader, unreadable: unreadable, log: zap.NewNop()}
	if _, err := ev2.handle(ctx, input[2:3]); err == nil || stream.Permanent(err) {
		t.Fatalf("want a transient error without the key store, got %v", err)
	}
	if p2.Writer.Stats().RecordsConsumed != 0 {
		t.Fatal("appended without the key store")
	}
}
