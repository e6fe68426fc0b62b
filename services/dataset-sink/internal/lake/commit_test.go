package lake_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestCommitRedoneAfterLostRace: another writer commits while an append is
// being prepared; the SQL catalog refuses the stale commit with a plain
// "requirement failed" error, which Commit recognises as a lost race: it
// reloads the table and runs the attempt again, which then commits, and both
// appends are in the table.
func TestCommitRedoneAfterLostRace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, dir, clock, 100)
	other := sinktest.NewParts(t, dir, clock, 100)
	m := lake.NewMetrics(nil)
	lk, err := lake.Open(ctx, lake.Options{CatalogURI: "sqlite:" + dir + "/catalog.db", CatalogName: "consentflow", Namespace: "consentflow",
		Table: sinktest.Dataset, Location: p.Lake.Location(), TargetFileBytes: 512 << 20, RowGroupRows: 1000}, m, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	attempts := 0
	_, err = lk.Commit(ctx, "append", func(ctx context.Context, a *lake.Attempt) (*table.Transaction, error) {
		attempts = a.N
		if a.N == 1 { // the other writer gets in first
			ev := sinktest.Event(1, "k1:other", clock.Now())
			row := tbl.RowFromEvent(&ev)
			if _, err := other.Writer.Append(ctx, writer.Record{Partition: 1, Offset: 0, Row: &row}); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Writer.CloseAll(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sc, err := table.SchemaToArrowSchema(a.Base.Schema(), nil, true, false)
		if err != nil {
			return nil, err
		}
		b, err := tbl.NewBuilder(sc)
		if err != nil {
			return nil, err
		}
		defer b.Release()
		ev := sinktest.Event(2, "k1:mine", clock.Now())
		row := tbl.RowFromEvent(&ev)
		b.Append(&row)
		rec := b.NewBatch()
		var dfs []iceberg.DataFile
		for df, err := range table.WriteRecords(ctx, a.Base, sc, func(yield func(arrow.RecordBatch, error) bool) { yield(rec, nil) }) {
			if err != nil {
				return nil, err
			}
			dfs = append(dfs, df)
		}
		tx := a.Base.NewTransaction()
		return tx, tx.AddDataFiles(ctx, dfs, a.Props(a.State, nil), table.WithoutDuplicateCheck())
	})
	if err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || testutil.ToFloat64(m.Conflicts.WithLabelValues("append")) != 1 {
		t.Fatalf("attempts %d, conflicts %v: want the lost race redone once", attempts, testutil.ToFloat64(m.Conflicts.WithLabelValues("append")))
	}
	subjects := map[string]int{}
	for _, r := range sinktest.Rows(t, lk, 0) {
		subjects[r.Subject]++
	}
	if subjects["k1:other"] != 1 || subjects["k1:mine"] != 1 {
		t.Fatalf("table rows %v: want both writers' rows", subjects)
	}
}
