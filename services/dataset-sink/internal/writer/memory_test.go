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

	"github.com/prometheus/client_golang/prometheus/testutil"

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

// decodedRow is the i-th row of a curated event like loadgen's (a ~300-byte
// redacted text, seven properties) as the sink holds it: every string its own
// allocation, as the Avro decoder and the sealed content's JSON make them
// (rows sharing one string would count it once and hide most of a row's memory).
func decodedRow(i int, received time.Time) table.Row {
	ev := sinktest.Event(i, fmt.Sprintf("k1:subject-%010d", i%5000), received)
	ev.EventID = "k1:ev-" + strconv.Itoa(i)
	ev.Text = fmt.Sprintf("Updated the section about the flaky <PERSON> integration test in <LOCATION> (%d). ", i) +
		strings.Repeat("Rerun it after the deploy to <LOCATION> and tell <PERSON> when it passes. ", 3)
	ev.Properties = map[string]string{}
	for _, kv := range [][2]string{{"space", "eng"}, {"project", "apollo"}, {"priority", "p2"}, {"to_status", "done"},
		{"scope", "team"}, {"feature", "search"}, {"model", "gpt"}} {
		ev.Properties[strings.Clone(kv[0])] = strings.Clone(kv[1])
	}
	for _, s := range []*string{&ev.EventType, &ev.Subject, &ev.Tenant, &ev.Jurisdiction, &ev.Source, &ev.Purpose, &ev.PolicyVersion} {
		*s = strings.Clone(*s)
	}
	return table.RowFromEvent(&ev)
}

// streamRows appends rows of decodedRow on four partitions, as fast as Append
// takes them, until they add up to total estimated bytes (what
// SINK_ROTATE_BYTES counts), then commits what is left. The writer commits in
// the background at half of rotateBytes and Append waits while the next half
// fills behind a commit in flight, so the peak is a generation committing and
// the next one full. It returns the rows' estimated bytes, the peak of the Go
// runtime's memory above what it held before the first row, and how long
// Append waited for a commit (zero: the two generations never met).
func streamRows(t testing.TB, rotateBytes, total int64, dedupeWindow int, rowGroupRows int64) (buffered int64, peak uint64, blocked float64) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewPartsGrouped(t, t.TempDir(), clock, writer.Options{Topic: sinktest.Topic, RotateRows: 1 << 30,
		RotateBytes: rotateBytes, RotateInterval: time.Hour, DedupeWindow: dedupeWindow}, rowGroupRows)
	runtime.GC()
	debug.FreeOSMemory()
	stop := heapPeak()
	base := goMemory()
	cpu0 := processCPU()
	var maxBuffered int64
	for i := 0; buffered < total; i++ {
		row := decodedRow(i, clock.Now())
		before := writer.Buffered(p.Writer)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: i % 4, Offset: int64(i / 4), Row: &row}); err != nil {
			t.Fatal(err)
		}
		after := writer.Buffered(p.Writer)
		maxBuffered = max(maxBuffered, after)
		buffered += max(after-before, 0) // a finished commit lowers it
	}
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	top := stop()
	peak = top - min(base, top)
	blocked = testutil.ToFloat64(p.WriterMetrics.AppendBlocked)
	t.Logf("appending and committing %.0f MiB of rows: %.0f ms CPU, %d commits, at most %.1f MiB buffered, Append waited %.2f s",
		float64(buffered)/(1<<20), (processCPU()-cpu0).Seconds()*1e3, p.Writer.Stats().Commits, float64(maxBuffered)/(1<<20), blocked)
	if st := p.Writer.Stats(); st.RowsWritten == 0 {
		t.Fatal("wrote no rows")
	}
	return buffered, peak, blocked
}

// The dataset-sink's memory bound (the sink's README, "Memory") rests on this:
// with the binary's soft memory limit and its default rotation settings
// (SINK_ROTATE_BYTES, SINK_ROW_GROUP_ROWS, SINK_DEDUPE_WINDOW), a generation
// being committed while the next one fills to its half of the buffer keeps
// the Go runtime's memory — the process's anonymous RSS — within that limit.
func TestCommittingAndFillingGenerationsStayUnderTheMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("streams three rotation buffers of rows")
	}
	var cfg datasetsink.Config
	if err := config.LoadFrom(&cfg, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	limit := int64(datasetsink.DefaultMemoryLimit)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
	_, peak, blocked := streamRows(t, cfg.RotateBytes, 3*cfg.RotateBytes, cfg.DedupeWindow, cfg.RowGroupRows)
	if blocked == 0 {
		t.Fatal("Append never waited for a commit: the generation filling behind a commit never reached its half")
	}
	budget := limit + limit/10 // the limit is soft: some slack
	t.Logf("the Go runtime's memory peaked %.1f MiB above the start (limit %d MiB)", float64(peak)/(1<<20), limit>>20)
	if int64(peak) > budget {
		t.Errorf("a commit with the next generation full behind it (SINK_ROTATE_BYTES=%d) took %.1f MiB of Go memory, over the soft limit of %d MiB",
			cfg.RotateBytes, float64(peak)/(1<<20), limit>>20)
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRotateBytesCountsTheRowsMemory: what SINK_ROTATE_BYTES counts of
// buffered rows is the Go heap they hold, within 15%: rows decoded off the
// wire on four partitions, no commit, the live heap after a collection next to
// the writer's count. (The former count, 200 bytes plus the strings' lengths,
// saw two thirds of it: a full default buffer held ~96 MiB.)
func TestRotateBytesCountsTheRowsMemory(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewPartsWith(t, t.TempDir(), clock, writer.Options{Topic: sinktest.Topic, RotateRows: 1 << 30,
		RotateBytes: 1 << 40, RotateInterval: time.Hour, DedupeWindow: 0})
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const n = 40_000
	rows := make([]table.Row, 1) // one row's array at a time, as a batch's
	base := live()
	for i := range n {
		rows[0] = decodedRow(i, clock.Now())
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: i % 4, Offset: int64(i / 4), Row: &rows[0]}); err != nil {
			t.Fatal(err)
		}
	}
	held := float64(live()) - float64(base)
	counted := float64(writer.Buffered(p.Writer))
	t.Logf("%d rows: counted %.0f bytes a row, the heap grew %.0f (%.2f×)", n, counted/n, held/n, held/counted)
	if held > 1.15*counted || held < 0.85*counted {
		t.Errorf("buffered rows hold %.1f MiB of heap, SINK_ROTATE_BYTES counts %.1f MiB", held/(1<<20), counted/(1<<20))
	}
	runtime.KeepAlive(p)
}
