package datasetsink

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// BenchmarkSinkLive measures the sink consuming a pre-filled curated topic of real
// Kafka (CONSENTFLOW_LIVE=1) into its Iceberg table on local disk (sqlite
// catalog), with production rotation settings, next to a pass-through consumer group reading and committing the same
// topic in the same run. SINK_BENCH_ROWS sets the row count (default 200,000);
// pre-filling stops after 2 minutes whatever the count.
//
//	eval "$(bash scripts/services.sh env)"
//	CONSENTFLOW_LIVE=1 go test ./services/dataset-sink/ -run '^$' -bench BenchmarkSinkLive -benchtime 1x
func BenchmarkSinkLive(b *testing.B) {
	testenv.RequireLive(b)
	benchSinkVsPassThrough(b, benchRows(200_000))
}

// BenchmarkSinkEmbedded runs the same benchmark over in-process Kafka with 20,000
// rows: it keeps the live benchmark's code exercised; its numbers say nothing
// about a real broker (kfake shares the CPU and is the bottleneck).
func BenchmarkSinkEmbedded(b *testing.B) {
	if testenv.Live() {
		b.Skip("BenchmarkSinkLive covers the live suite")
	}
	benchSinkVsPassThrough(b, benchRows(20_000))
}

func benchRows(def int) int {
	if n, err := strconv.Atoi(os.Getenv("SINK_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return def
}

func benchSinkVsPassThrough(b *testing.B, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	k := newKafkaFixture(b)
	rows, kafkaBytes := prefill(b, ctx, k, n, 2*time.Minute)
	b.ResetTimer()
	var sinkTime, baseTime, eraseTime, sinkCPU, baseCPU time.Duration
	var parquetBytes, erased int64
	for i := range b.N {
		c0 := processCPU()
		baseTime += passThrough(b, ctx, k, fmt.Sprintf("%sbaseline-%d", k.env.Prefix, i), rows)
		baseCPU += processCPU() - c0
		d, cpu, st, e, n := sinkPass(b, ctx, k, fmt.Sprintf("%ssink-%d", k.env.Prefix, i), rows)
		sinkTime += d
		sinkCPU += cpu
		eraseTime += e
		erased += n
		parquetBytes += st.BytesWritten
		if st.RowsWritten != int64(rows) {
			b.Fatalf("sink wrote %d rows of %d", st.RowsWritten, rows)
		}
	}
	b.StopTimer()
	total := float64(rows) * float64(b.N)
	in := float64(kafkaBytes) * float64(b.N) / 1e6
	b.ReportMetric(total/sinkTime.Seconds(), "rows/s")
	b.ReportMetric(float64(parquetBytes)/1e6/sinkTime.Seconds(), "parquet_MB/s")
	b.ReportMetric(in/sinkTime.Seconds(), "kafka_MB/s")
	b.ReportMetric(total/baseTime.Seconds(), "baseline_rows/s")
	b.ReportMetric(in/baseTime.Seconds(), "baseline_kafka_MB/s")
	b.ReportMetric(baseTime.Seconds()/sinkTime.Seconds(), "sink/baseline")
	// CPU per row (this process, user + system): the sink from its first
	// record to the end of its flush, the pass-through over its whole pass.
	b.ReportMetric(float64(sinkCPU.Microseconds())/total, "cpu_us/row")
	b.ReportMetric(float64(baseCPU.Microseconds())/total, "baseline_cpu_us/row")
	b.ReportMetric(eraseTime.Seconds()/float64(b.N), "erasure_commit_s")
	b.ReportMetric(float64(erased)/float64(b.N), "erasure_rows_removed")
}

// prefill writes up to n distinct curated events (1,000 subjects as keys) to the
// fixture's curated topic, stopping early after limit; it returns how many it
// wrote and their key+value bytes.
func prefill(b *testing.B, ctx context.Context, k *kafkaFixture, n int, limit time.Duration) (int, int64) {
	b.Helper()
	deadline := time.Now().Add(limit)
	received := sinktest.NewClock().Now()
	var bytes int64
	written := 0
	batch := make([]kafka.Message, 0, 5000)
	for written < n && time.Now().Before(deadline) {
		batch = batch[:0]
		for i := written; i < min(n, written+cap(batch)); i++ {
			ev := sinktest.Event(i, fmt.Sprintf("k1:subject-%010d", i%1000), received.Add(time.Duration(i)*time.Millisecond))
			ev.Text = "I could not log in with <EMAIL_ADDRESS> after the update; the page kept spinning."
			ev.Properties = map[string]string{"plan": "pro", "page": "/issues/" + strconv.Itoa(i%500), "feature": "search"}
			m := k.encode(b, ev)
			bytes += int64(len(m.Key) + len(m.Value))
			batch = append(batch, m)
		}
		if err := k.w.WriteMessages(ctx, batch...); err != nil {
			b.Fatalf("prefill: %v", err)
		}
		written += len(batch)
	}
	b.Logf("pre-filled %s with %d records (%.1f MB)", k.env.Names.Curated, written, float64(bytes)/1e6)
	return written, bytes
}

// passThrough reads the topic with a fresh consumer group until it has seen rows
// records, committing every 10,000 and at the end; the time runs from the first
// record to the last commit.
func passThrough(b *testing.B, ctx context.Context, k *kafkaFixture, group string, rows int) time.Duration {
	b.Helper()
	r := stream.NewReader(k.env.Kafka, stream.ReaderConfig{GroupID: group, Topic: k.env.Names.Curated}, zap.NewNop())
	defer r.Close()
	last := map[int]kafka.Message{}
	commit := func() {
		msgs := make([]kafka.Message, 0, len(last))
		for _, m := range last {
			msgs = append(msgs, m)
		}
		if err := r.CommitMessages(ctx, msgs...); err != nil {
			b.Fatalf("baseline commit: %v", err)
		}
	}
	var start time.Time
	for seen := 0; seen < rows; {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			b.Fatalf("baseline fetch after %d: %v", seen, err)
		}
		if seen == 0 {
			start = time.Now()
		}
		seen++
		last[m.Partition] = m
		if seen%10_000 == 0 {
			commit()
		}
	}
	commit()
	return time.Since(start)
}

// sinkPass runs a sink with the binary's rotation settings and a fresh group until
// it has consumed rows records, then flushes (commits to the table and to
// Kafka); the time runs from the first record consumed to the end of the flush.
// Then it records the erasure of one subject (1 in 1,000 of the rows) and times
// its copy-on-write commit on the table it wrote: the scan of every data file's
// pseudonym columns, the rewrite of the files holding the subject's rows, the
// commit.
func sinkPass(b *testing.B, ctx context.Context, k *kafkaFixture, group string, rows int) (time.Duration, time.Duration, writer.Stats, time.Duration, int64) {
	b.Helper()
	cfg := k.config(b.TempDir())
	cfg.GroupID = group
	// The binary's rotation defaults (no memory limit: the test process has
	// none, as in every run so far).
	var def Config
	if err := config.LoadFrom(&def, map[string]string{}); err != nil {
		b.Fatal(err)
	}
	cfg.RotateRows, cfg.RotateBytes, cfg.RotateInterval, cfg.RowGroupRows = def.RotateRows, def.RotateBytes, def.RotateInterval, def.RowGroupRows
	cfg.DedupeWindow = def.DedupeWindow
	s, err := New(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rctx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(rctx) }()
	var start time.Time
	for s.Stats().RecordsConsumed == 0 {
		if ctx.Err() != nil {
			b.Fatal("sink consumed nothing")
		}
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	cpu0 := processCPU()
	for s.Stats().RecordsConsumed < int64(rows) {
		if ctx.Err() != nil {
			b.Fatalf("sink consumed %d of %d", s.Stats().RecordsConsumed, rows)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	stop()
	if err := <-errc; err != nil {
		b.Fatalf("sink drain: %v", err)
	}
	if _, err := s.ledger.Record(ctx, "bench.erasures", 0, 0, time.Now(), schema.Erasure{Pseudonyms: []string{"k1:subject-0000000007"},
		Purpose: "ai_training", ConsentVersion: "0:1", Scope: schema.ScopeSubject}); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	res, err := s.ApplyErasures(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return elapsed, cpu, s.Stats(), time.Since(t0), res.RowsRemoved
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
