package writer_test

import (
	"context"
	"testing"

	"github.com/apache/iceberg-go/table"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestManifestsKeepNoBoundsOfPrivateColumns: the table's manifests hold no
// lower/upper bounds for pseudonym, free-text, network and version columns (a
// bound would copy a value, e.g. an erased subject's pseudonym, into metadata
// that row deletes do not rewrite), while other columns keep theirs for pruning.
func TestManifestsKeepNoBoundsOfPrivateColumns(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, t.TempDir(), clock, 100)
	for i := range 5 {
		ev := sinktest.Event(i, "k1:subject", clock.Now())
		ev.Session, ev.IPPrefix, ev.ConsentVersion, ev.TenantConsentVersion = "k1:sess", "10.1.2.0/24", "0:1", "1:2"
		row := tbl.RowFromEvent(&ev)
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: int64(i), Row: &row}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	tb, err := p.Lake.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := tb.Scan(table.WithSnapshotID(tb.CurrentSnapshot().SnapshotID)).PlanFiles(ctx)
	if err != nil || len(tasks) == 0 {
		t.Fatalf("plan: %v", err)
	}
	sc := tb.Schema()
	for _, task := range tasks {
		lo, hi := task.File.LowerBoundValues(), task.File.UpperBoundValues()
		for _, name := range tbl.PrivateColumns {
			f, _ := sc.FindFieldByName(name)
			if _, ok := lo[f.ID]; ok {
				t.Errorf("manifest holds a lower bound of %s", name)
			}
			if _, ok := hi[f.ID]; ok {
				t.Errorf("manifest holds an upper bound of %s", name)
			}
			if task.File.ValueCounts()[f.ID] != 5 {
				t.Errorf("%s: value count %d, want 5 (counts are kept)", name, task.File.ValueCounts()[f.ID])
			}
		}
		for _, name := range []string{"received_at", "kafka_offset"} {
			f, _ := sc.FindFieldByName(name)
			if _, ok := lo[f.ID]; !ok {
				t.Errorf("no lower bound of %s: pruning by it lost", name)
			}
		}
	}
}
