package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
)

// fetcher runs FetchMessage in a goroutine so that the consumer loop can select on
// records, timers and requests.
type fetcher struct {
	msgs   chan kafka.Message
	errc   chan error
	cancel context.CancelFunc
}

func startFetcher(r *kafka.Reader) *fetcher {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fetcher{msgs: make(chan kafka.Message, 512), errc: make(chan error, 1), cancel: cancel}
	go func() {
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() == nil {
					f.errc <- fmt.Errorf("fetch: %w", err)
				}
				return
			}
			select {
			case f.msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return f
}

// commitDone commits, for each Done, the offset after its Last.
func commitDone(ctx context.Context, r *kafka.Reader, topic string, done []Done) error {
	if len(done) == 0 {
		return nil
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
	if err := r.CommitMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("commit %s offsets: %w", topic, err)
	}
	return nil
}

// consumeEvents writes events.curated into files until ctx is cancelled, then
// drains: closes and publishes every open file and commits. Closing s.kill instead
// stops at once without publishing or committing (a simulated crash).
func (s *Sink) consumeEvents(ctx context.Context, codec decoder[schema.CuratedEvent]) error {
	topic := s.cfg.Topics.Curated
	r := stream.NewReader(stream.ReaderConfig{Brokers: s.cfg.Brokers, GroupID: s.cfg.GroupID, Topic: topic}, s.log)
	defer r.Close()
	f := startFetcher(r)
	defer f.cancel()
	tick := time.NewTicker(min(max(s.cfg.RotateInterval/4, 10*time.Millisecond), time.Second))
	defer tick.Stop()
	commit := func(cctx context.Context, done []Done) error {
		if s.noCommit {
			return nil
		}
		return commitDone(cctx, r, topic, done)
	}
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
			if cerr := commit(dctx, done); cerr != nil {
				err = errors.Join(err, cerr)
			}
			s.log.Info("dataset writer drained", zap.Int("files_closed", len(done)))
			return err
		case err := <-f.errc:
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
			if err := commit(ctx, done); err != nil {
				return err
			}
		case <-tick.C:
			done, err := s.writer.Tick(ctx)
			if cerr := commit(ctx, done); cerr != nil {
				err = errors.Join(err, cerr)
			}
			if err != nil {
				return err
			}
		case reply := <-s.flushReq:
			done, err := s.writer.CloseAll(ctx)
			if cerr := commit(ctx, done); cerr != nil {
				err = errors.Join(err, cerr)
			}
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
	topic := s.cfg.Topics.Erasures
	r := stream.NewReader(stream.ReaderConfig{Brokers: s.cfg.Brokers, GroupID: s.cfg.GroupID + "-erasures", Topic: topic}, s.log)
	defer r.Close()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch %s: %w", topic, err)
		}
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
		if err := r.CommitMessages(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("commit %s: %w", topic, err)
		}
	}
}
