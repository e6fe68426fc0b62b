package datasetsink

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
)

// kafkaReader is what the consumer loops need of a consumer-group reader
// (*kafka.Reader; fakes in tests).
type kafkaReader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// fetcher runs FetchMessage in a goroutine so that the consumer loop can select on
// records, timers and requests. Fetch errors (broker down or restarting, "Group
// Load In Progress" right after, rebalances) are retried with backoff: kafka-go's
// reader reconnects by itself, so the fetcher waits and fetches again until it is
// cancelled.
type fetcher struct {
	msgs   chan kafka.Message
	cancel context.CancelFunc
}

func startFetcher(r kafkaReader, rt *retrier) *fetcher {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fetcher{msgs: make(chan kafka.Message, 512), cancel: cancel}
	go func() {
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() != nil || !rt.failed(ctx, err) {
					return
				}
				continue
			}
			rt.ok()
			select {
			case f.msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return f
}

// commitDone commits, for each Done, the offset after its Last (see commit).
func (s *Sink) commitDone(ctx context.Context, r kafkaReader, rt *retrier, topic string, done []Done) {
	if len(done) == 0 {
		return
	}
	last := map[int]int64{}
	for _, d := range done {
		if cur, ok := last[d.Partition]; !ok || d.Last > cur {
			last[d.Partition] = d.Last
		}
	}
	msgs := make([]kafka.Message, 0, len(last))
	for p, o := range last {
		msgs = append(msgs, kafka.Message{Topic: topic, Partition: p, Offset: o})
	}
	s.commit(ctx, r, rt, msgs)
}

// Commit retries: an attempt is bounded by commitAttemptTimeout (a synchronous
// kafka-go commit waits for the group's next generation while the broker is
// away), and after maxCommitAttempts the commit is abandoned.
const (
	commitAttemptTimeout = 10 * time.Second
	maxCommitAttempts    = 8
)

// commit commits msgs, retrying failures with backoff until it succeeds, ctx
// ends, or maxCommitAttempts failed. Giving up is safe: a commit can fail for good
// after a rebalance took the partition away, and the files (and the erasure
// ledger) are the log — whoever consumes the partition next resumes after the
// highest offset already in a file and skips redelivered offsets, and a later
// commit of the partition covers these offsets anyway.
func (s *Sink) commit(ctx context.Context, r kafkaReader, rt *retrier, msgs []kafka.Message) {
	if s.noCommit {
		return
	}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, commitAttemptTimeout)
		err := r.CommitMessages(actx, msgs...)
		cancel()
		switch {
		case err == nil:
			rt.ok()
			return
		case ctx.Err() != nil:
			s.log.Info("stopped with offsets not committed; they will be redelivered and skipped",
				zap.String("step", rt.step), zap.Error(err))
			return
		case attempt >= maxCommitAttempts:
			s.log.Warn("commit abandoned; the offsets will be redelivered and skipped, or committed with later ones",
				zap.String("step", rt.step), zap.Int("attempts", attempt), zap.Error(err))
			return
		}
		if !rt.failed(ctx, err) {
			return
		}
	}
}

// consumeEvents writes events.curated into files until ctx is cancelled, then
// drains: closes and publishes every open file and commits. Closing s.kill instead
// stops at once without publishing or committing (a simulated crash).
func (s *Sink) consumeEvents(ctx context.Context, codec decoder[schema.CuratedEvent]) error {
	r := stream.NewReader(stream.ReaderConfig{Brokers: s.cfg.Brokers, GroupID: s.cfg.GroupID, Topic: s.cfg.Topics.Curated}, s.log)
	defer r.Close()
	return s.runEvents(ctx, r, codec)
}

// runEvents is consumeEvents over r. Kafka errors (fetch, commit) never end it:
// they are retried (see fetcher, commit); it returns when ctx is cancelled (after
// the drain), on s.kill, or on a storage or dead-letter failure.
func (s *Sink) runEvents(ctx context.Context, r kafkaReader, codec decoder[schema.CuratedEvent]) error {
	topic := s.cfg.Topics.Curated
	f := startFetcher(r, s.newRetrier("fetch "+topic))
	defer f.cancel()
	tick := time.NewTicker(min(max(s.cfg.RotateInterval/4, 10*time.Millisecond), time.Second))
	defer tick.Stop()
	commitRetry := s.newRetrier("commit " + topic)
	commit := func(cctx context.Context, done []Done) { s.commitDone(cctx, r, commitRetry, topic, done) }
	for {
		select {
		case <-s.kill:
			f.cancel()
			s.writer.Abandon()
			return errKilled
		case <-ctx.Done():
			f.cancel()
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done, err := s.writer.CloseAll(dctx)
			commit(dctx, done)
			s.log.Info("dataset writer drained", zap.Int("files_closed", len(done)))
			return err
		case m := <-f.msgs:
			rec := Record{Partition: m.Partition, Offset: m.Offset}
			if !s.writer.Written(m.Partition, m.Offset) { // a redelivery needs no decoding
				ev, ok, err := decodeRecord(ctx, codec, m, s.dead)
				if err != nil {
					if ctx.Err() != nil {
						continue
					}
					return err
				}
				if ok {
					row := RowFromEvent(&ev)
					rec.Row = &row
				}
			}
			done, err := s.writer.Append(ctx, rec)
			if err != nil {
				return err
			}
			commit(ctx, done)
		case <-tick.C:
			done, err := s.writer.Tick(ctx)
			commit(ctx, done)
			if err != nil {
				return err
			}
		case reply := <-s.flushReq:
			done, err := s.writer.CloseAll(ctx)
			commit(ctx, done)
			reply <- err
			if err != nil {
				return err
			}
		}
	}
}

// consumeErasures appends dataset.erasures to the ledger, committing each offset
// after its line is fsynced (or, for an undecodable erasure, after its dead letter
// is acknowledged).
func (s *Sink) consumeErasures(ctx context.Context, codec decoder[schema.Erasure]) error {
	r := stream.NewReader(stream.ReaderConfig{Brokers: s.cfg.Brokers, GroupID: s.cfg.GroupID + "-erasures", Topic: s.cfg.Topics.Erasures}, s.log)
	defer r.Close()
	return s.runErasures(ctx, r, codec)
}

// runErasures is consumeErasures over r. Fetch and commit errors are retried with
// backoff (a commit is abandoned after maxCommitAttempts: the ledger is the log);
// it returns nil when ctx is cancelled, or a ledger or dead-letter failure.
func (s *Sink) runErasures(ctx context.Context, r kafkaReader, codec decoder[schema.Erasure]) error {
	topic := s.cfg.Topics.Erasures
	fetchRetry, commitRetry := s.newRetrier("fetch "+topic), s.newRetrier("commit "+topic)
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || !fetchRetry.failed(ctx, err) {
				return nil
			}
			continue
		}
		fetchRetry.ok()
		if m.Value != nil { // a compaction tombstone erases nothing
			e, ok, err := decodeRecord(ctx, codec, m, s.dead)
			switch {
			case err != nil && ctx.Err() != nil:
				return nil
			case err != nil:
				return err
			case ok:
				added, err := s.ledger.Append(m.Partition, m.Offset, s.now(), e)
				if err != nil {
					return err
				}
				if added {
					s.m.erasures.Inc()
					s.m.ledgerPosition.Set(float64(s.ledger.Position()))
					s.log.Info("erasure recorded", zap.String("scope", e.Scope), zap.String("reason", e.Reason),
						zap.Int("pseudonyms", len(e.Pseudonyms)), zap.Int64("ledger_position", s.ledger.Position()))
				}
			}
		}
		s.commit(ctx, r, commitRetry, []kafka.Message{m})
	}
}
