package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/stream/streamtest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
)

// decodeFunc is a fake record decoder.
type decodeFunc[T any] func(b []byte) (T, error)

func (d decodeFunc[T]) Decode(_ context.Context, b []byte) (T, error) { return d(b) }

var errOutage = fmt.Errorf("fetch schema 7: %w: connection refused", avro.ErrRegistryUnavailable)

// curated decodes "<i>" into event i, "poison" into an error that is not an
// outage, and "outage" into a registry outage.
func curated(received time.Time) decodeFunc[schema.CuratedEvent] {
	return func(b []byte) (schema.CuratedEvent, error) {
		switch string(b) {
		case "poison":
			return schema.CuratedEvent{}, avro.ErrNotWireFormat
		case "outage":
			return schema.CuratedEvent{}, errOutage
		}
		i, err := strconv.Atoi(string(b))
		if err != nil {
			return schema.CuratedEvent{}, err
		}
		return sinktest.Event(i, "k1:s", received), nil
	}
}

func runLoop(t *testing.T, l *stream.Loop) (stop func() error) {
	t.Helper()
	l.Backoff = stream.Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}
	l.Linger = time.Millisecond
	l.Logger = zap.NewNop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestEventsCommitOnlyWhatIsInTheTable: whenever the events loop commits, every
// committed offset is covered by the table's current snapshot (a poison record
// included: its commit's offset range covers it, and its dead letter is
// written); buffered records are committed only once their table commit
// succeeded, here at the drain.
//
// Commits run in the background and a file that comes due while one is in
// flight goes on filling, so the tail (offsets 8-9 of partition 0, 4-5 of
// partition 1) is decoded only once the due files (0-7 and 0-3) are committed:
// it then stays buffered until the drain.
func TestEventsCommitOnlyWhatIsInTheTable(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 4)
	var input, tail []kafka.Message
	for o := range 10 {
		v := strconv.Itoa(o)
		if o == 5 {
			v = "poison"
		}
		m := kafka.Message{Topic: sinktest.Topic, Partition: 0, Offset: int64(o), Value: []byte(v)}
		if o >= 8 {
			tail = append(tail, m)
		} else {
			input = append(input, m)
		}
		if o < 6 {
			m := kafka.Message{Topic: sinktest.Topic, Partition: 1, Offset: int64(o), Value: []byte(strconv.Itoa(100 + o))}
			if o >= 4 {
				tail = append(tail, m)
			} else {
				input = append(input, m)
			}
		}
	}
	input = append(input, tail...)
	commits := 0
	r := streamtest.NewReader(input...)
	r.BeforeCommit = func(msgs []kafka.Message) {
		commits++
		tb, err := p.Lake.Load(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		st, err := lake.StateOf(tb)
		if err != nil {
			t.Error(err)
			return
		}
		for _, m := range msgs {
			if got := st.Offsets.Get(sinktest.Topic, m.Partition); got < m.Offset {
				t.Errorf("commit of %d:%d: the table holds partition %d up to offset %d only", m.Partition, m.Offset+1, m.Partition, got)
			}
		}
	}
	acks := stream.NewAcks()
	ev := &events{codec: curated(clock.Now()), writer: p.Writer, acks: acks, killed: func() bool { return false }}
	p.Writer.SetDurable(ev.ack) // as Run wires it: the committer acknowledges in the background
	dlq := &streamtest.Writer{}
	gated := &gatedReader{Reader: r, before: len(input) - len(tail), open: func() bool { return r.Committed(0) == 8 && r.Committed(1) == 4 }}
	stop := runLoop(t, &stream.Loop{Name: StageEvents, Reader: gated, Writer: dlq, Handler: ev.handle, DLQ: "events.dlq",
		Acks: acks, Drain: ev.drain, MaxBatch: 3})
	waitFor(t, "files 0-3 and 4-7 of partition 0, 0-3 of partition 1 committed", func() bool { return r.Committed(0) == 8 && r.Committed(1) == 4 })
	waitFor(t, "every record appended", func() bool { return p.Writer.Stats().RecordsConsumed == 16 })
	time.Sleep(20 * time.Millisecond)
	if r.Committed(0) != 8 || r.Committed(1) != 4 {
		t.Fatalf("committed %d and %d with the open files unpublished", r.Committed(0), r.Committed(1))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if r.Committed(0) != 10 || r.Committed(1) != 6 {
		t.Fatalf("after the drain: committed %d and %d, want 10 and 6", r.Committed(0), r.Committed(1))
	}
	if st := p.Writer.Stats(); st.RowsWritten != 15 {
		t.Fatalf("rows written %d, want 15", st.RowsWritten)
	}
	dead := dlq.Written()
	if len(dead) != 1 || string(dead[0].Value) != "poison" || string(stream.Header(dead[0], stream.HeaderStage)) != StageEvents {
		t.Fatalf("dead letters %+v", dead)
	}
	if commits < 2 {
		t.Fatalf("%d commits: the check saw too little", commits)
	}
}

// gatedReader serves the first before records, then waits (while the fetch's
// context lasts) until open holds before serving the rest.
type gatedReader struct {
	*streamtest.Reader
	before int
	open   func() bool
	served int
}

func (g *gatedReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	for g.served >= g.before && !g.open() {
		select {
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	m, err := g.Reader.FetchMessage(ctx)
	if err == nil {
		g.served++
	}
	return m, err
}

// TestEventsOutageAppendsNothing: while the registry is unreachable the batch is
// neither appended nor dead-lettered nor committed; when it answers again every
// record is written once.
func TestEventsOutageAppendsNothing(t *testing.T) {
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 100)
	var mu sync.Mutex
	outages := 5
	codec := decodeFunc[schema.CuratedEvent](func(b []byte) (schema.CuratedEvent, error) {
		mu.Lock()
		defer mu.Unlock()
		if string(b) == "1" && outages > 0 {
			outages--
			return schema.CuratedEvent{}, errOutage
		}
		return curated(clock.Now())(b)
	})
	var input []kafka.Message
	for o := range 3 {
		input = append(input, kafka.Message{Topic: sinktest.Topic, Offset: int64(o), Value: []byte(strconv.Itoa(o))})
	}
	r := streamtest.NewReader(input...)
	acks := stream.NewAcks()
	ev := &events{codec: codec, writer: p.Writer, acks: acks, killed: func() bool { return false }}
	p.Writer.SetDurable(ev.ack) // as Run wires it: the committer acknowledges in the background
	dlq := &streamtest.Writer{}
	stop := runLoop(t, &stream.Loop{Name: StageEvents, Reader: r, Writer: dlq, Handler: ev.handle, DLQ: "events.dlq", Acks: acks, Drain: ev.drain})
	waitFor(t, "the outage to pass", func() bool { mu.Lock(); defer mu.Unlock(); return outages == 0 })
	waitFor(t, "appended", func() bool { return p.Writer.Stats().RecordsConsumed == 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := p.Writer.Stats(); st.RecordsConsumed != 3 || st.RowsWritten != 3 {
		t.Fatalf("stats %+v: records appended during the outage", st)
	}
	if len(dlq.Written()) != 0 || r.Committed(0) != 3 {
		t.Fatalf("dead letters %d, committed %d", len(dlq.Written()), r.Committed(0))
	}
}

// TestErasuresAreInTheLedgerBeforeTheirCommit: every committed erasure is in the
// ledger file (fsynced) when the commit is made; a tombstone is skipped and a
// poison record goes to the DLQ.
func TestErasuresAreInTheLedgerBeforeTheirCommit(t *testing.T) {
	ctx := context.Background()
	p := sinktest.NewParts(t, t.TempDir(), sinktest.NewClock(), 10)
	l := p.Ledger
	codec := decodeFunc[schema.Erasure](func(b []byte) (schema.Erasure, error) {
		if string(b) == "poison" {
			return schema.Erasure{}, errors.New("decode with schema 3: short buffer")
		}
		return schema.Erasure{Pseudonyms: []string{string(b)}, Purpose: "ai_training", ConsentVersion: "0:1", Scope: schema.ScopeSubject}, nil
	})
	r := streamtest.NewReader(
		kafka.Message{Topic: "dataset.erasures", Offset: 0, Value: []byte("k1:a")},
		kafka.Message{Topic: "dataset.erasures", Offset: 1},
		kafka.Message{Topic: "dataset.erasures", Offset: 2, Value: []byte("poison")},
		kafka.Message{Topic: "dataset.erasures", Offset: 3, Value: []byte("k1:b")},
	)
	r.BeforeCommit = func(msgs []kafka.Message) {
		// What a crash now would leave: a fresh view of the catalog database.
		reopened, err := ledger.Open(ctx, p.Lake.DB(), p.Lake.Dialect, "consentflow."+p.Lake.Name())
		if err != nil {
			t.Error(err)
			return
		}
		want := map[int64]int{1: 1, 2: 1, 3: 1, 4: 2}[msgs[0].Offset+1]
		if reopened.Len() < want {
			t.Errorf("commit of offset %d with %d erasures in the ledger, want %d", msgs[0].Offset+1, reopened.Len(), want)
		}
	}
	m := newMetrics(prometheus.NewRegistry())
	er := &erasures{codec: codec, ledger: l, topic: "dataset.erasures", now: time.Now, metrics: m, log: zap.NewNop()}
	dlq := &streamtest.Writer{}
	stop := runLoop(t, &stream.Loop{Name: StageErasures, Reader: r, Writer: dlq, Handler: er.handle, DLQ: "events.dlq"})
	waitFor(t, "committed", func() bool { return r.Committed(0) == 4 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if l.Len() != 2 {
		t.Fatalf("ledger entries %d", l.Len())
	}
	if d := dlq.Written(); len(d) != 1 || string(stream.Header(d[0], stream.HeaderSourceOffset)) != "2" {
		t.Fatalf("dead letters %+v", d)
	}
}
