package centre

import (
	"context"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
)

// ReceiptIndex holds the erasure receipts of dataset.erasure-receipts in
// memory, by purpose and consent version (the topic is compacted: one record
// per dataset and consent change).
type ReceiptIndex struct {
	mu sync.RWMutex
	m  map[string]schema.ErasureReceipt
}

// Receipt implements Receipts.
func (x *ReceiptIndex) Receipt(purpose, version string) (schema.ErasureReceipt, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	rc, ok := x.m[purpose+"/"+version]
	return rc, ok
}

// Add keeps rc; of several datasets' receipts for one change it keeps the
// latest application (the change has reached all of them by then).
func (x *ReceiptIndex) Add(rc schema.ErasureReceipt) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[string]schema.ErasureReceipt{}
	}
	k := rc.Purpose + "/" + rc.ConsentVersion
	if old, ok := x.m[k]; !ok || rc.AppliedAt.After(old.AppliedAt) {
		x.m[k] = rc
	}
}

// Follow reads topic from its beginning and keeps following it until ctx
// ends. Kafka or the topic being unavailable is waited for (the pages show
// "pending" meanwhile); an undecodable record is skipped and logged.
func (x *ReceiptIndex) Follow(ctx context.Context, k stream.Config, topic string, decode func(context.Context, []byte) (schema.ErasureReceipt, error), log *zap.Logger) error {
	var ends map[int]int64
	for {
		var err error
		if ends, err = stream.EndOffsets(ctx, k, topic); err == nil {
			break
		}
		log.Debug("erasure receipts topic not available yet", zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	for p := range ends {
		g.Go(func() error {
			r := stream.NewPartitionReader(k, topic, p, time.Second)
			defer r.Close()
			if err := r.SetOffset(kafka.FirstOffset); err != nil {
				return err
			}
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					log.Warn("erasure receipts: read", zap.Int("partition", p), zap.Error(err))
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(time.Second):
					}
					continue
				}
				if m.Value == nil {
					continue
				}
				rc, err := decode(ctx, m.Value)
				if err != nil {
					log.Warn("erasure receipts: undecodable record skipped", zap.Int("partition", p), zap.Int64("offset", m.Offset), zap.Error(err))
					continue
				}
				x.Add(rc)
			}
		})
	}
	return g.Wait()
}
