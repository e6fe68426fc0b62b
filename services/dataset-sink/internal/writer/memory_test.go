package writer_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/config"
	datasetsink "github.com/consentflow/consentflow/services/dataset-sink"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// goMemory is the memory the Go runtime holds from the OS (heap, stacks, its
// own structures) less what it released: what the process's anonymous RSS
// holds, and what the soft memory limit bounds.
func goMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// heapPeak samples goMemory every 200 µs until stop is called, and returns the highest sample.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			if v := goMemory(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// commitRows buffers at least n rows, and until they take untilBytes, of a curated event like loadgen's (a ~300-byte
// redacted text, seven properties) on four partitions and commits them once,
// and returns the rows' estimated bytes (what SINK_ROTATE_BYTES counts) and
// the peak of the Go runtime's memory above what it held before the first row.
func commitRows(t testing.TB, n int, untilBytes int64) (buffered int64, peak uint64) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewPartsWith(t, t.TempDir(), clock, writer.Options{Topic: sinktest.Topic, RotateRows: 1 << 30,
		RotateBytes: 1 << 40, RotateInterval: time.Hour, DedupeWindow: 1000})
	ev := sinktest.Event(0, "k1:subject-0000000000", clock.Now())
	ev.Text = strings.Repeat("Updated the section about the flaky <PERSON> integration test in <LOCATION>. ", 4)
	ev.Properties = map[string]string{"space": "eng", "project": "apollo", "priority": "p2", "to_status": "done",
		"scope": "team", "feature": "search", "model": "gpt"}
	runtime.GC()
	debug.FreeOSMemory()
	stop := heapPeak()
	base := goMemory()
	cpu0 := processCPU()
	for i := 0; i < n || (untilBytes > 0 && writer.Buffered(p.Writer) < untilBytes); i++ {
		ev.EventID = "k1:ev-" + strconv.Itoa(i)
		ev.Subject = fmt.Sprintf("k1:subject-%010d", i%5000)
		row := table.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: i % 4, Offset: int64(i / 4), Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
	buffered = writer.Buffered(p.Writer)
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	top := stop()
	peak = top - min(base, top)
	t.Logf("appending and committing the rows: %.0f ms CPU", (processCPU()-cpu0).Seconds()*1e3)
	if st := p.Writer.Stats(); st.RowsWritten == 0 {
		t.Fatal("wrote no rows")
	}
	return buffered, peak
}

// The dataset-sink's memory bound (the sink's README, "Memory") rests on this:
// with the binary's soft memory limit, committing a full rotation buffer
// (SINK_ROTATE_BYTES at its default) keeps the Go runtime's memory — the
// process's anonymous RSS — within that limit.
func TestCommitOfAFullBufferStaysUnderTheMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("commits a full rotation buffer")
	}
	var cfg datasetsink.Config
	if err := config.LoadFrom(&cfg, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	limit := int64(datasetsink.DefaultMemoryLimit)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
	buffered, peak := commitRows(t, 0, cfg.RotateBytes)
	budget := limit + limit/10 // the limit is soft: some slack
	t.Logf("%.1f MiB buffered (estimated): the Go runtime's memory peaked %.1f MiB above the start (limit %d MiB)",
		float64(buffered)/(1<<20), float64(peak)/(1<<20), limit>>20)
	if int64(peak) > budget {
		t.Errorf("committing a full buffer (SINK_ROTATE_BYTES=%d) took %.1f MiB of Go memory, over the soft limit of %d MiB",
			cfg.RotateBytes, float64(peak)/(1<<20), limit>>20)
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
