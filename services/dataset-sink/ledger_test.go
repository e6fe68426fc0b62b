package datasetsink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// TestLostLedgerIsRebuiltFromTheTopic: the sink applies an erasure from the
// erasure topic; then its ledger is lost (the catalog database restored from
// before it). The table says the erasure was applied, so the restarted sink
// rebuilds the ledger from the compacted topic before it consumes — a late row
// of the erased subject is still dropped. With the topic gone too, the sink
// refuses to run.
func TestLostLedgerIsRebuiltFromTheTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k := newKafkaFixture(t)
	serde, err := avro.NewSerdeFor(k.env.Registry)
	if err != nil {
		t.Fatal(err)
	}
	erasures, err := avro.Erasures(ctx, serde, k.env.Names.Erasures)
	if err != nil {
		t.Fatal(err)
	}
	base := sinktest.NewClock().Now()
	var msgs []kafka.Message
	for i := range 20 {
		msgs = append(msgs, k.encode(t, sinktest.Event(i, []string{"k1:gone", "k1:keep"}[i%2], base)))
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	b, err := erasures.Encode(&schema.Erasure{Pseudonyms: []string{"k1:gone"}, Purpose: "ai_training", EffectiveAt: base,
		Reason: "user_opt_out", ConsentVersion: "0:5", Scope: schema.ScopeSubject})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.w.WriteMessages(ctx, kafka.Message{Topic: k.env.Names.Erasures, Key: []byte("k1:gone"), Value: b}); err != nil {
		t.Fatal(err)
	}
	cfg := k.config(t.TempDir())
	s, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, ctx, s, func(rows []table.Row) bool { return len(rows) == 10 && s.ledger.Len() == 1 })
	s.Close()

	// The ledger is lost; the table still says the erasure was applied.
	wipe := func() {
		s, err := New(ctx, cfg, zap.NewNop(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.lake.DB().ExecContext(ctx, "DELETE FROM "+ledger.TableName); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	wipe()
	s2, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.behind) == 0 {
		t.Fatal("a sink with an empty ledger under a table that applied an erasure does not notice")
	}
	late := k.encode(t, sinktest.Event(100, "k1:gone", base)) // decided before the erasure: covered
	if err := k.w.WriteMessages(ctx, late); err != nil {
		t.Fatal(err)
	}
	m := runUntil(t, ctx, s2, func(rows []table.Row) bool { return s2.Stats().RecordsConsumed > 0 && s2.ledger.Len() == 1 })
	if s2.ledger.Len() != 1 {
		t.Fatalf("ledger after the rebuild holds %d entries, want 1", s2.ledger.Len())
	}
	for _, r := range sinktest.AllRows(t, s2.lake, m) {
		if r.Subject == "k1:gone" {
			t.Fatalf("row %s of the erased subject is in the table after the rebuild", r.EventID)
		}
	}
	s2.Close()

	// Ledger lost and nothing to rebuild it from (the topic was recreated
	// empty): the sink refuses to run.
	wipe()
	s3, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	err = s3.checkLedger(ctx)
	if !errors.Is(err, ledger.ErrBehind) {
		t.Fatalf("rebuild without the erasures: %v, want %v", err, ledger.ErrBehind)
	}
	if !strings.Contains(err.Error(), "restore the catalog database") {
		t.Fatalf("refusal does not say what to do: %v", err)
	}
}

// runUntil runs s until done holds for the table's current rows (checked after
// each flush), then drains and takes one snapshot.
func runUntil(t *testing.T, ctx context.Context, s *Sink, done func(rows []table.Row) bool) manifest.Manifest {
	t.Helper()
	rctx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(rctx) }()
	for {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyErasures(ctx); err != nil {
			t.Fatal(err)
		}
		if done(sinktest.Rows(t, s.lake, 0)) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("gave up: ledger %d", s.ledger.Len())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatalf("drain: %v", err)
	}
	m, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRefusesKeyringWithoutALiveKey: rows use k1; a sink told the keyring holds
// only k2 refuses to start; with k1 retiring it starts.
func TestRefusesKeyringWithoutALiveKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, dir, clock, 10)
	ev := sinktest.Event(1, "k1:s", clock.Now())
	row := table.RowFromEvent(&ev)
	if _, err := p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: 0, Row: &row}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	p.Lake.Close()
	cfg := testConfig(dir)
	cfg.KeyIDs = []string{"k2"}
	if _, err := New(ctx, cfg, zap.NewNop(), nil); err == nil || !strings.Contains(err.Error(), "k1") {
		t.Fatalf("sink started with a keyring lacking k1: %v", err)
	}
	cfg.RetireKeys = []string{"k1"}
	s, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatalf("with k1 retiring: %v", err)
	}
	defer s.Close()
	if _, err := s.ApplyErasures(ctx); err != nil {
		t.Fatal(err)
	}
	if rows := sinktest.Rows(t, s.lake, 0); len(rows) != 0 {
		t.Fatalf("%d rows under the retired key remain", len(rows))
	}
	s.Close()
	cfg.RetireKeys = nil
	s2, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		t.Fatalf("after the retirement, a keyring without k1 is refused: %v", err)
	}
	s2.Close()
}
