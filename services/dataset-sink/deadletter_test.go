package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
)

// flakyDecoder fails with errs in turn, then decodes.
type flakyDecoder struct {
	errs  []error
	calls int
}

func (d *flakyDecoder) Decode(context.Context, []byte) (schema.CuratedEvent, error) {
	d.calls++
	if d.calls <= len(d.errs) {
		return schema.CuratedEvent{}, d.errs[d.calls-1]
	}
	return schema.CuratedEvent{EventID: "ev-1"}, nil
}

// memWriter records what it writes; err makes every write fail.
type memWriter struct {
	mu   sync.Mutex
	msgs []kafka.Message
	err  error
}

func (w *memWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.msgs = append(w.msgs, msgs...)
	return nil
}

func testDeadLetters(w messageWriter) *deadLetters {
	return &deadLetters{w: w, topic: "events.dlq", m: newMetrics(nil), log: zap.NewNop(), backoffMin: time.Millisecond, backoffMax: 4 * time.Millisecond}
}

var errOutage = fmt.Errorf("fetch schema 7: %w: connection refused", avro.ErrRegistryUnavailable)

func TestDecodeRetriesRegistryOutageAndNeverDrops(t *testing.T) {
	msg := kafka.Message{Topic: "events.curated", Partition: 1, Offset: 42, Value: []byte{0, 0, 0, 0, 7, 1}}
	w := &memWriter{}
	dl := testDeadLetters(w)
	d := &flakyDecoder{errs: []error{errOutage, errOutage, errOutage}}
	ev, ok, err := decodeRecord(context.Background(), d, msg, dl)
	if err != nil || !ok || ev.EventID != "ev-1" {
		t.Fatalf("after the errOutage: %+v %v %v", ev, ok, err)
	}
	if len(w.msgs) != 0 || testutil.ToFloat64(dl.m.registryRetries) != 3 {
		t.Fatalf("dead letters %d, retries %v", len(w.msgs), testutil.ToFloat64(dl.m.registryRetries))
	}
	// An outage that outlasts the consumer: it stops with ctx's error, nothing is
	// dead-lettered or skipped.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	d = &flakyDecoder{errs: make([]error, 1<<20)}
	for i := range d.errs {
		d.errs[i] = errOutage
	}
	if _, ok, err := decodeRecord(ctx, d, msg, dl); ok || !errors.Is(err, context.DeadlineExceeded) || len(w.msgs) != 0 {
		t.Fatalf("endless errOutage: ok %v err %v dead letters %d", ok, err, len(w.msgs))
	}
}

func TestDecodePoisonGoesToDeadLetterTopic(t *testing.T) {
	msg := kafka.Message{Topic: "events.curated", Partition: 2, Offset: 7, Key: []byte("k"), Value: []byte("not avro"),
		Headers: []kafka.Header{{Key: "trace", Value: []byte("t1")}}}
	for _, cause := range []error{avro.ErrNotWireFormat, errors.New("schema 99: 40403 schema not found"), errors.New("decode with schema 1: short buffer")} {
		w := &memWriter{}
		dl := testDeadLetters(w)
		_, ok, err := decodeRecord(context.Background(), &flakyDecoder{errs: []error{cause}}, msg, dl)
		if ok || err != nil || len(w.msgs) != 1 {
			t.Fatalf("%v: ok %v err %v dead letters %d", cause, ok, err, len(w.msgs))
		}
		dead := w.msgs[0]
		if dead.Topic != "events.dlq" || string(dead.Value) != "not avro" || string(dead.Key) != "k" ||
			string(stream.Header(dead, stream.HeaderStage)) != dlqStage || string(stream.Header(dead, "trace")) != "t1" ||
			string(stream.Header(dead, stream.HeaderSourceOffset)) != "7" || string(stream.Header(dead, stream.HeaderError)) != cause.Error() {
			t.Fatalf("dead letter %+v", dead)
		}
	}
	// A DLQ that cannot be written stops the consumer: the record is not skipped.
	w := &memWriter{err: errors.New("not enough replicas")}
	if _, ok, err := decodeRecord(context.Background(), &flakyDecoder{errs: []error{avro.ErrNotWireFormat}}, msg, testDeadLetters(w)); ok || err == nil {
		t.Fatalf("failed DLQ write: ok %v err %v", ok, err)
	}
}

// TestSinkDeadLettersPoisonOverKafka: records that are not in wire format, name a
// schema the registry does not have, or do not decode with their schema are in
// the DLQ with their original bytes; the valid ones are in the dataset; the
// group's offsets pass them all.
func TestSinkDeadLettersPoisonOverKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k := newKafkaFixture(t)
	base := newClock().Now()
	var msgs []kafka.Message
	const valid = 30
	for i := range valid {
		msgs = append(msgs, k.encode(t, event(i, fmt.Sprintf("k1:s%d", i), base)))
	}
	good := k.encode(t, event(999, "k1:poison", base))
	poison := [][]byte{
		[]byte("plain json, not avro"),
		{0, 0x7f, 0xff, 0xff, 0xff, 2, 'x'}, // a schema id the registry does not have
		good.Value[:len(good.Value)/2],      // truncated: does not decode
	}
	for i, v := range poison {
		msgs = append(msgs, kafka.Message{Topic: k.env.Names.Curated, Key: []byte(fmt.Sprintf("poison-%d", i)), Value: v})
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	cfg := k.config(t.TempDir())
	s, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := runUntilRows(t, ctx, s, valid)
	if m.Totals.Rows != valid {
		t.Fatalf("dataset rows %d, want %d", m.Totals.Rows, valid)
	}

	r := stream.NewReader(stream.ReaderConfig{Brokers: k.env.Brokers, GroupID: k.env.Prefix + "dlq-check", Topic: k.env.Names.DLQ}, zap.NewNop())
	defer r.Close()
	got := map[string]kafka.Message{}
	for len(got) < len(poison) {
		dm, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("read DLQ (have %d): %v", len(got), err)
		}
		got[string(dm.Key)] = dm
	}
	for i, v := range poison {
		dm, ok := got[fmt.Sprintf("poison-%d", i)]
		if !ok || string(dm.Value) != string(v) || string(stream.Header(dm, stream.HeaderStage)) != dlqStage ||
			string(stream.Header(dm, stream.HeaderSourceTopic)) != k.env.Names.Curated || len(stream.Header(dm, stream.HeaderError)) == 0 {
			t.Fatalf("poison %d: dead letter %+v", i, dm)
		}
	}
	lag, err := stream.GroupLag(ctx, k.env.Brokers, cfg.GroupID, k.env.Names.Curated)
	if err != nil || lag != 0 {
		t.Fatalf("group lag after drain %d %v", lag, err)
	}
	if got := testutil.ToFloat64(s.m.deadLetters.WithLabelValues(k.env.Names.Curated)); got != 3 {
		t.Fatalf("dead letter metric %v", got)
	}
}
