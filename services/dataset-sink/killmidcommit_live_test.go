package datasetsink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
)

// TestSinkKilledMidCommitLive: a sink process is SIGKILLed while a table
// commit is in flight (docs/design/sink-background-commit.md), with the next
// generation filling behind it — once with the commit's data files written
// and its catalog commit not made, once with the catalog commit made and
// nothing acknowledged yet — and restarted each time over the same table
// (PostgreSQL catalog) and consumer group. After each kill the group's
// committed offsets are at or below the table's; after a last run drains,
// every produced event is in the table exactly once (by event_id, the test's
// produced list, and by Kafka partition and offset).
//
//	eval "$(bash scripts/services.sh env)"   # POSTGRES_URL among them
//	CONSENTFLOW_LIVE=1 go test ./services/dataset-sink -run TestSinkKilledMidCommitLive -v
func TestSinkKilledMidCommitLive(t *testing.T) {
	k, dir, cfg := catalogLive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg.RotateRows, cfg.RotateInterval = 100, 200*time.Millisecond
	// Rows due while a commit is in flight go on filling up to half of
	// SINK_ROTATE_BYTES, which counts a whole piece of 1,024 row slots
	// (~340 KiB) per partition a generation opens: 2.5 MiB is the three
	// partitions' pieces and about 100 rows a generation, which keeps the
	// commits many and small, so that the third of a run comes while rows
	// are still arriving. (Less, and the first row of a generation fills its
	// half: every commit then holds a row or two and the third comes before
	// the group has committed anything.)
	cfg.RotateBytes = 5 << 19
	cfg.ErasureApply = time.Second
	topic := k.env.Names.Curated

	produced := 0
	produce := func(n int) {
		t.Helper()
		k.produceEvents(ctx, t, produced, n, 0)
		produced += n
	}
	lo, err := lakeOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// tableState is the table's sink state, read from the catalog.
	tableState := func() (lake.State, int64) {
		t.Helper()
		lk, err := lake.Open(ctx, lo, nil, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		defer lk.Close()
		tb, err := lk.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st, err := lake.StateOf(tb)
		if err != nil {
			t.Fatal(err)
		}
		var rows int64
		if s := tb.CurrentSnapshot(); s != nil {
			fmt.Sscan(s.Summary.Properties["total-records"], &rows)
		}
		return st, rows
	}
	// groupCommitted is the consumer group's committed offset per partition
	// (the next offset to read; partitions without a commit left out).
	groupCommitted := func() map[int]int64 {
		t.Helper()
		ends, err := stream.EndOffsets(ctx, k.env.Kafka, topic)
		if err != nil {
			t.Fatal(err)
		}
		var parts []int
		for p := range ends {
			parts = append(parts, p)
		}
		resp, err := k.env.Kafka.Client(10*time.Second).OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: cfg.GroupID, Topics: map[string][]int{topic: parts}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Error != nil && !errors.Is(resp.Error, kafka.GroupIdNotFound) {
			t.Fatal(resp.Error)
		}
		out := map[int]int64{}
		for _, po := range resp.Topics[topic] {
			if po.CommittedOffset >= 0 {
				out[po.Partition] = po.CommittedOffset
			}
		}
		return out
	}
	waitHeld := func(p *sinkProc, stage string) {
		t.Helper()
		deadline := time.After(time.Minute)
		for {
			if b, _ := os.ReadFile(p.log); strings.Contains(string(b), "HELD "+stage) {
				return
			}
			select {
			case err := <-p.done:
				t.Fatalf("the sink exited before a commit reached %s: %v", stage, err)
			case <-deadline:
				_, rows := tableState()
				lag, err := stream.GroupLag(ctx, k.env.Kafka, cfg.GroupID, topic)
				t.Fatalf("no commit reached %s within a minute (%d rows in the table, group lag %d %v)", stage, rows, lag, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}

	// trickle produces events in chunks of 50 every 100 ms until stop is
	// closed (at most max: a bound on the loop), so that records keep
	// arriving, the loop runs and commits its acknowledgements to the group
	// between the sink's table commits, however long those commits take.
	trickle := func(stop <-chan struct{}, max int) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for sent := 0; sent < max && ctx.Err() == nil; sent += 50 {
				select {
				case <-stop:
					return
				default:
				}
				produce(50)
				time.Sleep(100 * time.Millisecond)
			}
		}()
		return done
	}
	for i, stage := range []string{"files-written", "committed"} {
		// The third commit of the run is held at stage: two have landed and
		// been acknowledged before it, and the next generation fills behind it
		// — with rows produced after the hold at the latest, so that the held
		// commit cannot hold every row however the run's commits were timed
		// (a trickle of fixed length could end before a slow third commit
		// began, which then took it all: "every row in the table").
		p := startSinkProc(t, dir, fmt.Sprintf("run%d", i), cfg, "SINK_HELPER_HOLD="+stage, "SINK_HELPER_HOLD_AT=3")
		stop := make(chan struct{})
		trickled := trickle(stop, 3000)
		waitHeld(p, stage)
		close(stop)
		<-trickled
		produce(100)
		time.Sleep(time.Second)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		st, rows := tableState()
		committed := groupCommitted()
		if len(committed) == 0 {
			t.Fatalf("killed at %s: the group has committed nothing (test proves nothing)", stage)
		}
		for part, c := range committed {
			if in := st.Offsets.Get(topic, part); c-1 > in {
				t.Errorf("killed at %s: the group committed partition %d up to offset %d, the table holds up to %d", stage, part, c-1, in)
			}
		}
		if rows >= int64(produced) {
			t.Fatalf("killed at %s with every row in the table (test proves nothing)", stage)
		}
		t.Logf("SIGKILLed with a commit held at %s: %d rows in the table, %d produced, group committed %v", stage, rows, produced, committed)
	}

	p := startSinkProc(t, dir, "final", cfg)
	produce(500)
	for {
		lag, err := stream.GroupLag(ctx, k.env.Kafka, cfg.GroupID, topic)
		if err == nil && lag == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not drained: lag %d, %v", lag, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.done; err != nil {
		t.Fatalf("last run: %v", err)
	}

	lk, err := lake.Open(ctx, lo, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	got := sinktest.Rows(t, lk, 0)
	ids := map[string]int{}
	at := map[[2]int64]int{}
	for _, r := range got {
		ids[r.EventID]++
		at[[2]int64{int64(r.KafkaPartition), r.KafkaOffset}]++
	}
	for i := range produced {
		if id := sinktest.Event(i, "", time.Time{}).EventID; ids[id] != 1 {
			t.Errorf("event %s is in the table %d times", id, ids[id])
		}
	}
	ends, err := stream.EndOffsets(ctx, k.env.Kafka, topic)
	if err != nil {
		t.Fatal(err)
	}
	for part, end := range ends {
		for o := range end {
			if n := at[[2]int64{int64(part), o}]; n != 1 {
				t.Errorf("record %d:%d is in the table %d times", part, o, n)
			}
		}
	}
	if len(got) != produced {
		t.Fatalf("table has %d rows, %d produced", len(got), produced)
	}
	t.Logf("%d rows, every produced event once", len(got))
}
