package writer_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// TestRowsReadBackAcrossPiecesAndCommits appends varied rows to three
// partitions over several commits — each file longer than a piece of the
// row buffer, later files on pieces of earlier ones — and reads the table
// back: every row appended is there once, column for column, with its lineage.
func TestRowsReadBackAcrossPiecesAndCommits(t *testing.T) {
	ctx := context.Background()
	clock := sinktest.NewClock()
	p := sinktest.NewPartsWindow(t, t.TempDir(), clock, 5_000, 0)
	base := clock.Now().Truncate(time.Millisecond)
	const n = 21_000
	want := make([]table.Row, 0, n)
	for i := range n {
		s := strconv.Itoa(i)
		r := table.Row{EventID: "ev-" + s, EventType: "t" + strconv.Itoa(i%5), Subject: fmt.Sprintf("k1:s%d", i%97),
			Tenant: "k1:t" + strconv.Itoa(i%3), ReceivedAt: base.Add(time.Duration(i) * time.Millisecond), GPC: i%2 == 1,
			Text: "text " + strings.Repeat("x", i%50), Source: "api", Purpose: "ai_training", PolicyVersion: "p1",
			Properties: []table.Property{}}
		if i%4 != 0 {
			r.Session, r.Jurisdiction, r.IPPrefix, r.Locale, r.Region = "k1:sess"+s, "DE", "10.1.2.0/24", "de-DE", "DE"
			r.OccurredAt = base.Add(-time.Duration(i) * time.Millisecond)
			r.ConsentVersion, r.TenantConsentVersion = "0:"+s, "1:"+s
		}
		for j := range i % 3 {
			r.Properties = append(r.Properties, table.Property{Key: "k" + strconv.Itoa(j), Value: "v" + s})
		}
		part := i % 3
		row := r
		if _, err := p.Writer.Append(ctx, writer.Record{Partition: part, Offset: int64(i / 3), Row: &row}); err != nil {
			t.Fatal(err)
		}
		r.KafkaPartition, r.KafkaOffset = int32(part), int64(i/3)
		want = append(want, r)
	}
	if _, err := p.Writer.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Writer.Stats(); st.Commits < 2 {
		t.Fatalf("%d commits: the test needs files committed one after another", st.Commits)
	}
	m, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := sinktest.AllRows(t, p.Lake, m)
	key := func(a, b table.Row) int { return strings.Compare(a.EventID, b.EventID) }
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if len(got) != len(want) {
		t.Fatalf("%d rows read back, %d appended", len(got), len(want))
	}
	for i := range want {
		g := got[i]
		g.ReceivedAt, g.OccurredAt = g.ReceivedAt.UTC(), g.OccurredAt.UTC()
		if !reflect.DeepEqual(g, want[i]) {
			t.Fatalf("row %d read back as\n%+v\nappended\n%+v", i, g, want[i])
		}
	}
}
