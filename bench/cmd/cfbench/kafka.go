package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// createTopics creates names with the chain's settings (6 event partitions,
// 3 for the compacted topics, RF 1); appendTime lists topics that get
// message.timestamp.type=LogAppendTime, so that record timestamps are the
// broker's append time (for latencies).
func createTopics(ctx context.Context, k stream.Config, n topics.Names, appendTime ...string) error {
	specs := topics.Specs(n, topics.Settings{Partitions: 6, ChangePartitions: 3, ReplicationFactor: 1})
	for i := range specs {
		for _, t := range appendTime {
			if specs[i].Name == t {
				specs[i].Configs["message.timestamp.type"] = "LogAppendTime"
			}
		}
	}
	_, err := topics.Ensure(ctx, k, specs)
	return err
}

func createPlain(ctx context.Context, k stream.Config, parts int, appendTime bool, names ...string) error {
	var specs []topics.Spec
	for _, n := range names {
		cfg := map[string]string{"cleanup.policy": "delete", "retention.ms": "86400000"}
		if appendTime {
			cfg["message.timestamp.type"] = "LogAppendTime"
		}
		specs = append(specs, topics.Spec{Name: n, Partitions: parts, ReplicationFactor: 1, Configs: cfg})
	}
	_, err := topics.Ensure(ctx, k, specs)
	return err
}

// writeAll writes msgs with `workers` goroutines in chunks of chunk.
func writeAll(ctx context.Context, k stream.Config, msgs []kafka.Message, chunk, workers int) error {
	w := stream.NewWriter(k, nil)
	defer w.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(int64(chunk))) - chunk
				if i >= len(msgs) {
					return
				}
				if err := w.WriteMessages(ctx, msgs[i:min(i+chunk, len(msgs))]...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// Drain is a consumer group draining a pre-filled topic, timed from its first
// commit to the commit of the last record (GroupLag polled every 50 ms).
type Drain struct {
	Records      int64   `json:"records"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_s"`
	StartupS     float64 `json:"first_commit_after_s"`
}

func drain(ctx context.Context, k stream.Config, group, topic string, total int64, timeout time.Duration) (Drain, error) {
	start := time.Now()
	var t0 time.Time
	var lag0 int64
	for {
		lag, err := stream.GroupLag(ctx, k, group, topic)
		now := time.Now()
		if err == nil {
			if t0.IsZero() && lag < total {
				t0, lag0 = now, lag
			}
			if lag == 0 {
				if t0.Equal(now) { // drained between two polls: no resolution
					return Drain{}, fmt.Errorf("%s drained %d records within one poll", group, total)
				}
				d := now.Sub(t0).Seconds()
				return Drain{Records: lag0, Seconds: round(d, 3), EventsPerSec: round(float64(lag0)/d, 0), StartupS: round(t0.Sub(start).Seconds(), 2)}, nil
			}
		}
		if time.Since(start) > timeout {
			return Drain{}, fmt.Errorf("%s: lag still %d after %s (err %v)", group, lag, timeout, err)
		}
		select {
		case <-ctx.Done():
			return Drain{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func totalEnd(ctx context.Context, k stream.Config, topic string) (int64, map[int]int64, error) {
	ends, err := stream.EndOffsets(ctx, k, topic)
	if err != nil {
		return 0, nil, err
	}
	var n int64
	for _, e := range ends {
		n += e
	}
	return n, ends, nil
}

// passThrough runs pkg/stream's Loop with an identity handler from in to out
// (consume → produce acks=all → commit), the baseline of every stage.
func passThrough(ctx context.Context, k stream.Config, group, in, out string, maxBatch int, linger time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	r := stream.NewReader(k, stream.ReaderConfig{GroupID: group, Topic: in}, zap.NewNop())
	w := stream.NewWriter(k, nil, stream.WithMaxBatch(maxBatch))
	loop := &stream.Loop{Name: "passthrough", Reader: r, Writer: w, MaxBatch: maxBatch, Linger: linger,
		Handler: func(_ context.Context, batch []kafka.Message) ([]kafka.Message, error) {
			o := make([]kafka.Message, len(batch))
			for i, m := range batch {
				o[i] = kafka.Message{Topic: out, Key: m.Key, Value: m.Value, Headers: m.Headers}
			}
			return o, nil
		}}
	done := make(chan struct{})
	go func() { defer close(done); _ = loop.Run(ctx); r.Close(); w.Close() }()
	return func() { cancel(); <-done }
}

// Percentiles of a sample in milliseconds.
type Percentiles struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
	// CDF holds up to 200 quantiles (ms) for plots.
	CDF []float64 `json:"cdf_ms,omitempty"`
}

func percentiles(d []time.Duration, cdf bool) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) float64 {
		i := int(p*float64(len(s))+0.5) - 1
		i = max(0, min(len(s)-1, i))
		return round(float64(s[i])/1e6, 2)
	}
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	out := Percentiles{N: len(s), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: round(float64(s[len(s)-1])/1e6, 2),
		Mean: round(float64(sum)/float64(len(s))/1e6, 2)}
	if cdf {
		k := min(200, len(s))
		for i := 1; i <= k; i++ {
			out.CDF = append(out.CDF, q(float64(i)/float64(k)))
		}
	}
	return out
}
