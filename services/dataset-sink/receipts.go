package datasetsink

import (
	"context"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
)

// messageWriter writes Kafka messages with acks=all (stream.NewWriter).
type messageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// receipts publishes an ErasureReceipt on dataset.erasure-receipts for every
// ledger entry that has landed in a snapshot of the table (the erasure applier
// records the landing in the catalog database first, so a receipt never
// announces what the table does not hold).
//
// Receipts are at least once and idempotent: the key is
// <dataset>/<purpose>/<consent_version> and the value a pure function of the
// ledger entry, so a republication (after a restart every landed entry is
// published again, and every sink instance of the dataset publishes what it
// sees) repeats an identical record that compaction folds away. Receipts name
// the consent change the erasure executes, never a pseudonym or an id.
type receipts struct {
	ledger   *ledger.Ledger
	encode   func(*schema.ErasureReceipt) ([]byte, error)
	w        messageWriter
	topic    string
	dataset  string
	deadline time.Duration // ERASURE_PURGE_DEADLINE
	log      *zap.Logger

	published map[string]bool // ledger keys whose receipt Kafka acknowledged
}

// receiptOf is the receipt of a landed entry and its record key.
func (r *receipts) receiptOf(e ledger.Entry) (string, schema.ErasureReceipt) {
	rc := schema.ErasureReceipt{
		Dataset: r.dataset, Purpose: e.Erasure.Purpose, ConsentVersion: e.Erasure.ConsentVersion,
		Scope: e.Erasure.Scope, Reason: e.Erasure.Reason, ErasureEffectiveAt: e.Erasure.EffectiveAt,
		SnapshotID: e.LandedSnapshot, AppliedAt: e.LandedAt, PurgeDeadline: e.AppendedAt.Add(r.deadline),
	}
	return r.dataset + "/" + rc.Purpose + "/" + rc.ConsentVersion, rc
}

// publish writes the receipts of landed entries not published yet; it returns
// how many it wrote. On a write failure nothing is marked published: the next
// call writes them again.
func (r *receipts) publish(ctx context.Context) (int, error) {
	if r.published == nil {
		r.published = map[string]bool{}
	}
	var msgs []kafka.Message
	var keys []string
	for _, e := range r.ledger.Entries() {
		lk := ledgerKey(e)
		if e.LandedSnapshot == 0 || r.published[lk] {
			continue
		}
		key, rc := r.receiptOf(e)
		b, err := r.encode(&rc)
		if err != nil {
			return 0, err
		}
		msgs = append(msgs, kafka.Message{Topic: r.topic, Key: []byte(key), Value: b})
		keys = append(keys, lk)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := r.w.WriteMessages(ctx, msgs...); err != nil {
		return 0, err
	}
	for _, k := range keys {
		r.published[k] = true
	}
	return len(msgs), nil
}

// run publishes every interval until ctx ends; failures are logged and retried.
func (r *receipts) run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := r.publish(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Warn("erasure receipts not published; retrying", zap.Error(err))
		case n > 0:
			r.log.Info("erasure receipts published", zap.Int("receipts", n))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func ledgerKey(e ledger.Entry) string {
	return e.Topic + "/" + strconv.Itoa(e.Partition) + ":" + strconv.FormatInt(e.Offset, 10)
}
