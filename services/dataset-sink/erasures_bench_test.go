package datasetsink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
)

// BenchmarkErasuresBatch records batches of 100 erasures (the erasures stage's
// handler) into a ledger that already holds held entries: the cost per batch
// must not grow with the ledger (in e2e runs the sink records thousands of
// erasures; a ledger refresh per entry made that quadratic).
func BenchmarkErasuresBatch(b *testing.B) {
	for _, held := range []int{1000, 4000} {
		b.Run(fmt.Sprintf("held=%d", held), func(b *testing.B) {
			ctx := context.Background()
			p := sinktest.NewParts(b, b.TempDir(), sinktest.NewClock(), 10)
			for i := range held {
				if _, err := p.Ledger.Insert(ctx, "dataset.erasures", i%6, int64(i/6), time.Now(), erasureOf(i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Ledger.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
			codec := decodeFunc[schema.Erasure](func(v []byte) (schema.Erasure, error) {
				var i int
				_, err := fmt.Sscanf(string(v), "%d", &i)
				return erasureOf(i), err
			})
			er := &erasures{codec: codec, ledger: p.Ledger, topic: "dataset.erasures", now: time.Now,
				metrics: newMetrics(prometheus.NewRegistry()), log: zap.NewNop()}
			next := held
			b.ResetTimer()
			for range b.N {
				batch := make([]kafka.Message, 100)
				for j := range batch {
					batch[j] = kafka.Message{Topic: "dataset.erasures", Partition: next % 6, Offset: int64(next / 6), Value: fmt.Appendf(nil, "%d", next)}
					next++
				}
				if _, err := er.handle(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func erasureOf(i int) schema.Erasure {
	return schema.Erasure{Pseudonyms: []string{fmt.Sprintf("k1:subject-%08d", i)}, Purpose: "ai_training", ConsentVersion: "0:1", Scope: schema.ScopeSubject}
}
