package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// Stage names: the loops' metrics label and the dead letters' stage header.
const (
	StageEvents   = "dataset-sink"
	StageErasures = "dataset-sink-erasures"
)

// events is the stage that appends events.curated to the dataset table. A
// record is durable only once the table commit holding it succeeded, so the
// stage acknowledges records itself (stream.Acks) as the writer commits — the
// writer's background committer acknowledges each generation after its table
// commit (writer.Options.Durable), redeliveries of durable offsets are
// acknowledged from the batch — and the loop commits only what is acknowledged. On restart (or after a rebalance) the
// table is the log: the offsets in its current snapshot are durable, and the
// writer skips records at or below them.
type events struct {
	codec  stream.Decoder[schema.CuratedEvent]
	writer *writer.Writer
	acks   *stream.Acks
	killed func() bool
	// keys opens sealed records (pkg/shred). A record whose key was shredded
	// (an erased subject or tenant) or is missing is appended without a row:
	// counted, never dead-lettered, never written.
	keys       *shred.Store
	unreadable *prometheus.CounterVec
	log        *zap.Logger
}

// handle decodes the batch and appends it to the writer. A poison record is
// reported to the loop (which dead-letters it) and still appended without a row,
// so that the file's offset range stays contiguous and its publication
// acknowledges it too. Decoding comes first: when the registry is unavailable
// nothing is appended and the loop tries the batch again.
func (e *events) handle(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	var failed stream.BatchError
	written := func(m kafka.Message) bool { return e.writer.Written(m.Partition, m.Offset) } // a redelivery needs no decoding
	decoded := stream.DecodeEach(ctx, batch, e.codec, &failed, written)
	if _, retry := failed.Transient(); retry {
		return nil, failed.Err()
	}
	if err := e.open(ctx, batch, decoded, &failed); err != nil {
		return nil, err
	}
	// The writer copies each row into its open file: one array of rows per
	// batch, not one allocation per row.
	recs := make([]writer.Record, len(batch))
	rows := make([]table.Row, len(batch))
	for i, m := range batch {
		recs[i] = writer.Record{Partition: m.Partition, Offset: m.Offset}
		if ev := decoded[i]; ev != nil {
			rows[i] = table.RowFromEvent(ev)
			recs[i].Row = &rows[i]
		}
	}
	if _, retry := failed.Transient(); retry {
		return nil, failed.Err()
	}
	for _, r := range recs {
		if e.killed() {
			return nil, errKilled
		}
		done, err := e.writer.Append(ctx, r)
		if err != nil {
			return nil, err // storage failed: the stage stops, the files are the log
		}
		e.ack(done)
	}
	return nil, failed.Err()
}

// open restores the content of sealed records in place; a record that cannot be
// read (erased, key missing) becomes nil (no row), one whose sealed value does
// not open is reported as poison. An unreachable key store holds the batch.
func (e *events) open(ctx context.Context, batch []kafka.Message, decoded []*schema.CuratedEvent, failed *stream.BatchError) error {
	var sealed []*schema.CuratedEvent
	var at []int
	for i, ev := range decoded {
		if ev != nil && ev.Sealed != nil {
			sealed, at = append(sealed, ev), append(at, i)
		}
	}
	if len(sealed) == 0 {
		return nil
	}
	if e.keys == nil {
		return stream.Transient(errors.New("sealed curated records and no key store (REDIS_*) configured"))
	}
	outcomes, errs, err := e.keys.Open(ctx, sealed)
	if err != nil {
		return stream.Transient(fmt.Errorf("open sealed curated records: %w", err))
	}
	for j, i := range at {
		switch {
		case errs[j] != nil:
			failed.Add(i, "sealed", errs[j])
			decoded[i] = nil
		case outcomes[j] == shred.Erased || outcomes[j] == shred.Missing:
			e.unreadable.WithLabelValues(outcomes[j].String()).Inc()
			if outcomes[j] == shred.Missing {
				e.log.Warn("a sealed curated record has no data key and no tombstone (the key store lost its data?): dropped unread",
					zap.Int("partition", batch[i].Partition), zap.Int64("offset", batch[i].Offset))
			}
			decoded[i] = nil
		}
	}
	return nil
}

// ack acknowledges the offset ranges the writer made durable.
func (e *events) ack(done []writer.Done) {
	for _, d := range done {
		e.acks.AckThrough(d.Partition, d.Last)
	}
}

// drain publishes every open file when the loop stops, so that the final commit
// covers everything consumed.
func (e *events) drain(ctx context.Context) error {
	if e.killed() {
		return nil
	}
	done, err := e.writer.CloseAll(ctx)
	e.ack(done)
	return err
}

// erasures is the stage that records dataset.erasures in the ledger. An entry
// is committed to the catalog database before the handler returns, so the
// loop's commit after it is safe; the applier then turns new entries into a
// copy-on-write commit of the table.
type erasures struct {
	codec   stream.Decoder[schema.Erasure]
	ledger  *ledger.Ledger
	topic   string
	now     func() time.Time
	metrics *metrics
	log     *zap.Logger
	applied func()
}

func (e *erasures) handle(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	var failed stream.BatchError
	decoded := stream.DecodeEach(ctx, batch, e.codec, &failed, stream.Tombstone) // a tombstone erases nothing
	if _, retry := failed.Transient(); retry {
		return nil, failed.Err()
	}
	// Each entry is durable once inserted; the ledger is refreshed once for the
	// batch (the writer drops covered rows from then on) before the loop
	// commits the batch's offsets.
	seen := 0
	for i, er := range decoded {
		if er == nil {
			continue
		}
		added, err := e.ledger.Insert(ctx, e.topic, batch[i].Partition, batch[i].Offset, e.now(), *er)
		if err != nil {
			return nil, stream.Transient(err) // the catalog database is unreachable: hold the batch
		}
		seen++
		if added {
			e.metrics.erasures.Inc()
			e.log.Info("erasure recorded", zap.String("scope", er.Scope), zap.String("reason", er.Reason),
				zap.Int("pseudonyms", len(er.Pseudonyms)), zap.Int("partition", batch[i].Partition), zap.Int64("offset", batch[i].Offset))
		}
	}
	if seen > 0 {
		// Also when every entry was there already (a redelivery after a failed
		// refresh, another instance's records): they are loaded now.
		if err := e.ledger.Refresh(ctx); err != nil {
			return nil, stream.Transient(err)
		}
	}
	if e.applied != nil {
		e.applied()
	}
	return nil, failed.Err()
}
