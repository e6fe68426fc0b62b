package datasetsink

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream/streamtest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
)

type failingWriter struct{}

func (failingWriter) WriteMessages(context.Context, ...kafka.Message) error {
	return errors.New("kafka down")
}

// A receipt is published only once the erasure landed in a snapshot, names the
// consent change (not the subject's pseudonyms), and a republication (a restart,
// a failed write) repeats the identical record under the same key.
func TestErasureReceiptsFollowTheLedger(t *testing.T) {
	ctx := context.Background()
	p := sinktest.NewParts(t, t.TempDir(), sinktest.NewClock(), 10)
	recorded := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	e := schema.Erasure{Pseudonyms: []string{"k1:secretpseudonym"}, Purpose: "ai_training", EffectiveAt: recorded.Add(-time.Second),
		Reason: "user_opt_out", ConsentVersion: "1:42", Scope: schema.ScopeSubject}
	if _, err := p.Ledger.Record(ctx, "dataset.erasures", 0, 7, recorded, e); err != nil {
		t.Fatal(err)
	}
	encode := func(r *schema.ErasureReceipt) ([]byte, error) { return json.Marshal(r) }
	newPublisher := func(w messageWriter) *receipts {
		return &receipts{ledger: p.Ledger, encode: encode, w: w, topic: "dataset.erasure-receipts",
			dataset: "consentflow.consentflow.ai_training", deadline: 72 * time.Hour, log: zap.NewNop()}
	}
	w := &streamtest.Writer{}
	r := newPublisher(w)
	if n, err := r.publish(ctx); err != nil || n != 0 {
		t.Fatalf("before landing: published %d, %v", n, err)
	}
	landed := recorded.Add(3 * time.Second)
	if err := p.Ledger.Landed(ctx, p.Ledger.Entries(), 99, landed); err != nil {
		t.Fatal(err)
	}
	if n, err := newPublisher(failingWriter{}).publish(ctx); err == nil || n != 0 {
		t.Fatalf("failing write: %d, %v", n, err)
	}
	if n, err := r.publish(ctx); err != nil || n != 1 {
		t.Fatalf("after landing: published %d, %v", n, err)
	}
	if n, _ := r.publish(ctx); n != 0 {
		t.Fatalf("published again: %d", n)
	}
	got := w.Written()
	if len(got) != 1 {
		t.Fatalf("written %d", len(got))
	}
	m := got[0]
	if m.Topic != "dataset.erasure-receipts" || string(m.Key) != "consentflow.consentflow.ai_training/ai_training/1:42" {
		t.Fatalf("receipt record %s %s", m.Topic, m.Key)
	}
	var rc schema.ErasureReceipt
	if err := json.Unmarshal(m.Value, &rc); err != nil {
		t.Fatal(err)
	}
	want := schema.ErasureReceipt{Dataset: "consentflow.consentflow.ai_training", Purpose: "ai_training", ConsentVersion: "1:42",
		Scope: schema.ScopeSubject, Reason: "user_opt_out", ErasureEffectiveAt: e.EffectiveAt, SnapshotID: 99,
		AppliedAt: landed, PurgeDeadline: recorded.Add(72 * time.Hour)}
	if !rc.AppliedAt.Equal(want.AppliedAt) || !rc.PurgeDeadline.Equal(want.PurgeDeadline) || !rc.ErasureEffectiveAt.Equal(want.ErasureEffectiveAt) {
		t.Fatalf("times %+v, want %+v", rc, want)
	}
	rc.AppliedAt, rc.PurgeDeadline, rc.ErasureEffectiveAt = want.AppliedAt, want.PurgeDeadline, want.ErasureEffectiveAt
	if rc != want {
		t.Fatalf("receipt %+v, want %+v", rc, want)
	}
	if string(m.Value) != "" && strings.Contains(string(m.Value), e.Pseudonyms[0]) {
		t.Fatalf("receipt names the subject: %s", m.Value)
	}
	// A restarted sink publishes the landed entry again: the identical record.
	w2 := &streamtest.Writer{}
	if n, err := newPublisher(w2).publish(ctx); err != nil || n != 1 {
		t.Fatalf("after restart: %d, %v", n, err)
	}
	if again := w2.Written()[0]; string(again.Key) != string(m.Key) || string(again.Value) != string(m.Value) {
		t.Fatalf("republished receipt differs:\n%s\n%s", again.Value, m.Value)
	}
}
